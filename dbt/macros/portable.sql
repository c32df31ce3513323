{#- SQL that DuckDB, PostgreSQL and Spark spell differently: one macro each, dispatched by
    adapter, so every model is written once for every target (dbt's own cross-database macros,
    such as dbt.datediff, cover the rest). Portable SQL needs no macro: `extract(year from d)`,
    `count(*) filter (where ...)`, `make_date`, `date - date`, `qualify`, `||`. -#}


{#- A column type by its PostgreSQL name, as the models and their contracts write it (varchar,
    float8, timestamptz, numeric(p,s)...), in the target's own spelling. DuckDB and PostgreSQL
    take the names as they are; Spark has no varchar without a length, float8 or timestamptz.
    Write `cast(x as {{ sql_type('float8') }})` where a model casts to such a type. -#}
{% macro sql_type(name) -%}
    {{ return(adapter.dispatch('sql_type', 'sotelake')(name)) }}
{%- endmacro %}

{% macro default__sql_type(name) -%}
    {{ return(name) }}
{%- endmacro %}

{#- Spark: timestamptz is an instant (timestamp_ltz); timestamp is a wall-clock time without a
    zone (timestamp_ntz), as in PostgreSQL. -#}
{% macro spark__sql_type(name) -%}
    {%- set spark_names = {
        'varchar': 'string', 'text': 'string', 'float8': 'double', 'double precision': 'double',
        'integer': 'int', 'timestamptz': 'timestamp_ltz', 'timestamp': 'timestamp_ntz'} -%}
    {%- set key = name | trim | lower -%}
    {%- if key.startswith('numeric') -%}
        {{ return('decimal' ~ key[7:]) }}
    {%- endif -%}
    {{ return(spark_names.get(key, key)) }}
{%- endmacro %}

{#- dbt's cross-database cast, which also builds the typed empty query that checks a model's
    contract against its yml (get_empty_schema_sql): on Spark it translates the yml's type names,
    so the contracts stay enforced there. (A root-project macro takes precedence in dispatch.) -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ sotelake.sql_type(type) }})
{%- endmacro %}

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

{% macro spark__month_start_of(text) -%}
    to_date({{ text }}, 'yyyy-MM')
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


{#- Whole days of a date range, one row per day: `from {{ calendar_days(...) }}` gives a relation
    `days` with the date column `day`. -#}
{% macro calendar_days(first_day, last_day) -%}
    {{ return(adapter.dispatch('calendar_days', 'sotelake')(first_day, last_day)) }}
{%- endmacro %}

{% macro default__calendar_days(first_day, last_day) -%}
    generate_series(timestamp '{{ first_day }}', timestamp '{{ last_day }}', interval '1 day') as days(day)
{%- endmacro %}

{% macro spark__calendar_days(first_day, last_day) -%}
    (select explode(sequence(date '{{ first_day }}', date '{{ last_day }}', interval 1 day)) as day) as days
{%- endmacro %}


{#- ISO day of the week: 1 Monday ... 7 Sunday. -#}
{% macro iso_weekday(expression) -%}
    {{ return(adapter.dispatch('iso_weekday', 'sotelake')(expression)) }}
{%- endmacro %}

{% macro default__iso_weekday(expression) -%}
    extract(isodow from {{ expression }})
{%- endmacro %}

{% macro spark__iso_weekday(expression) -%}
    extract(dayofweek_iso from {{ expression }})
{%- endmacro %}


{#- A date and an 'H:MM' clock time as a timestamp without time zone. -#}
{% macro timestamp_at(day, clock) -%}
    {{ return(adapter.dispatch('timestamp_at', 'sotelake')(day, clock)) }}
{%- endmacro %}

{% macro default__timestamp_at(day, clock) -%}
    cast({{ day }} as timestamp) + cast({{ clock }} || ':00' as interval)
{%- endmacro %}

{#- Spark casts no text to an interval without its units -#}
{% macro spark__timestamp_at(day, clock) -%}
    to_timestamp_ntz(concat(cast({{ day }} as string), ' ', {{ clock }}), 'yyyy-MM-dd H:mm')
{%- endmacro %}


{#- An ISO 8601 date-time text with its UTC offset as the wall-clock time in a time zone (a
    timestamp without time zone). -#}
{% macro local_time(text, zone) -%}
    {{ return(adapter.dispatch('local_time', 'sotelake')(text, zone)) }}
{%- endmacro %}

{% macro default__local_time(text, zone) -%}
    timezone('{{ zone }}', cast({{ text }} as timestamptz))
{%- endmacro %}

{% macro spark__local_time(text, zone) -%}
    convert_timezone('{{ zone }}', cast({{ text }} as timestamp_ltz))
{%- endmacro %}


{#- The text at a position (from 1) of a list of texts, e.g. a month's name by its number. -#}
{% macro nth_of(texts, position) -%}
    {{ return(adapter.dispatch('nth_of', 'sotelake')(texts, position)) }}
{%- endmacro %}

{% macro default__nth_of(texts, position) -%}
    (array['{{ texts | join("', '") }}'])[{{ position }}]
{%- endmacro %}

{% macro spark__nth_of(texts, position) -%}
    element_at(array('{{ texts | join("', '") }}'), {{ position }})
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

{#- Spark's array_agg skips nulls and takes no order: min_by keeps the first row's value, null
    or not (`order` is one ascending expression here) -#}
{% macro spark__first_by(expression, order) -%}
    min_by({{ expression }}, {{ order }})
{%- endmacro %}


{#- A top-level field of a JSON object held as text, as text. -#}
{% macro json_text(column, field) -%}
    {{ return(adapter.dispatch('json_text', 'sotelake')(column, field)) }}
{%- endmacro %}

{% macro default__json_text(column, field) -%}
    (cast({{ column }} as json) ->> '{{ field }}')
{%- endmacro %}

{% macro duckdb__json_text(column, field) -%}
    json_extract_string({{ column }}, '$.{{ field }}')
{%- endmacro %}

{% macro spark__json_text(column, field) -%}
    get_json_object({{ column }}, '$.{{ field }}')
{%- endmacro %}
