{#- The rows of a raw table's latest load. Sources load in full (the skeleton's mode): the latest
    load is the table as the source system holds it now; earlier loads stay in the lake as
    history. -#}
{% macro latest_load(relation) -%}
    (select * from {{ relation }} where _load_id = (select max(_load_id) from {{ relation }}))
{%- endmacro %}
