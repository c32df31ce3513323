-- population_residents: residents on 31 December.
{{ population_indicator('population_residents') }}
