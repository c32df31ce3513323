-- population_aged_75_plus_share: residents aged 75 or more, % of residents (31 December).
{{ population_indicator('population_aged_75_plus_share', min_age=75, share=true) }}
