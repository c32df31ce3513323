{#- SQL that DuckDB and PostgreSQL spell differently: one macro each, dispatched by adapter, so
    every model is written once for both targets (dbt's own cross-database macros, such as
    dbt.datediff, cover the rest). Portable SQL needs no macro: `extract(year from d)`,
    `count(*) filter (where ...)`, `make_date`, `generate_series`, `float8`, `date - date`. -#}

{#- The median of a column, interpolated between the two middle values (an aggregate). -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'sotelake')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    median({{ expression }})
{%- endmacro %}


{#- A 'YYYY-MM' text as the first day of that month. -#}
{% macro month_start_of(text) -%}
    {{ return(adapter.dispatch('month_start_of', 'sotelake')(text)) }}
{%- endmacro %}

{% macro default__month_start_of(text) -%}
    to_date({{ text }}, 'YYYY-MM')
{%- endmacro %}

{% macro duckdb__month_start_of(text) -%}
    cast(strptime({{ text }}, '%Y-%m') as date)
{%- endmacro %}


{#- The calendar year of a date as an integer. -#}
{% macro year_of(expression) -%}
    cast(extract(year from {{ expression }}) as integer)
{%- endmacro %}


{#- The last day of a date's month. -#}
{% macro month_end_of(expression) -%}
    cast(date_trunc('month', {{ expression }}) + interval '1 month' - interval '1 day' as date)
{%- endmacro %}


{#- Whole days from one date to another (timestamps are truncated to their date first). -#}
{% macro days_between(start, finish) -%}
    cast(cast({{ finish }} as date) - cast({{ start }} as date) as bigint)
{%- endmacro %}


{#- Sorted distinct values of a text column, joined with ', ' (an aggregate). DuckDB's ordered
    aggregates are slow with many groups (9 s for 200 000 persons); its list functions are not. -#}
{% macro sorted_distinct_list(expression) -%}
    {{ return(adapter.dispatch('sorted_distinct_list', 'sotelake')(expression)) }}
{%- endmacro %}

{% macro default__sorted_distinct_list(expression) -%}
    string_agg(distinct {{ expression }}, ', ' order by {{ expression }})
{%- endmacro %}

{% macro duckdb__sorted_distinct_list(expression) -%}
    array_to_string(list_sort(list_distinct(list({{ expression }}))), ', ')
{%- endmacro %}


{#- The value of a column on the first row in an order, null or not (an aggregate). -#}
{% macro first_by(expression, order) -%}
    {{ return(adapter.dispatch('first_by', 'sotelake')(expression, order)) }}
{%- endmacro %}

{% macro default__first_by(expression, order) -%}
    (array_agg({{ expression }} order by {{ order }}))[1]
{%- endmacro %}

{#- arg_min_null keeps a null value as array_agg does (arg_min would skip it). -#}
{% macro duckdb__first_by(expression, order) -%}
    arg_min_null({{ expression }}, {{ order }})
{%- endmacro %}
