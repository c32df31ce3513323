{#- The rows of a raw table's latest load. Sources load in full (the skeleton's mode): the latest
    load date holds the table as the source system holds it now; earlier loads stay in the lake
    as history. A re-run of a load replaces its load_date partition, so a date holds one load.
    (The filter uses the _load_date column in the files, not the hive partition: DuckDB 1.5.5
    fails with an internal error on a subquery filter over a single hive partition.) -#}
{% macro latest_load(relation) -%}
    (select * from {{ relation }} where _load_date = (select max(_load_date) from {{ relation }}))
{%- endmacro %}
