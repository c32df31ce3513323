{#- How many passes of secondary suppression indicator_values_suppressed makes: each pass
    withholds at most one more cell per relation that still gives a withheld cell away; a chain
    of withheld totals (municipality -> county, month -> year, class -> total, and back) needs a
    pass per step. The disclosure audit (tests/publish/test_disclosure.py) checks that this is enough. -#}
{% macro disclosure_rounds() -%}
    {{ return(env_var('SOTELAKE_DISCLOSURE_ROUNDS', '10') | int) }}
{%- endmacro %}
