-- population_aged_0_17_share: residents aged 0-17, % of residents (31 December).
{{ population_indicator('population_aged_0_17_share', max_age=17, share=true) }}
