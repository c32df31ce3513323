{#- How staging models read the raw lake (config/sources.yml says each table's mode). -#}

{#- mode: full. The rows of the latest load: the table as the source system holds it now;
    earlier loads stay in the lake as history. A re-run of a load replaces its load_date
    partition, so a date holds one load. (The filter uses the _load_date column in the files,
    not the hive partition: DuckDB 1.5.5 fails with an internal error on a subquery filter over
    a single hive partition.) -#}
{% macro latest_load(relation) -%}
    (select * from {{ relation }} where _load_date = (select max(_load_date) from {{ relation }})) as latest_load
{%- endmacro %}


{#- The materialization of the incremental staging models. Spark's plain Parquet tables (the
    spark target: no Delta Lake or Iceberg) can neither delete rows nor merge them, so there the
    model is rebuilt whole on each build; that gives the same rows, because latest_versions then
    picks each key's newest version among all the loads. -#}
{% macro incremental_or_table() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}


{#- mode: incremental, step 1. The raw rows published since this incremental model last ran
    (all of them on the first run or with --full-refresh). Re-runs, backfills and replayed
    batches are published later, so they are processed too. -#}
{% macro new_loads(relation) -%}
    (select * from {{ relation }}
     {% if is_incremental() -%}
     where coalesce(_published_at, _extracted_at) > (
         select coalesce(max(_published_at), timestamptz '1900-01-01') from {{ this }})
     {%- endif %}) as new_loads
{%- endmacro %}


{#- mode: incremental, step 2. One row per key: the newest version among the new rows and the
    model's current row for the same key, by the source's last-changed column and then the
    extraction time. An older version (from a backfill) never replaces a newer one, and a soft
    delete in the source arrives as a newer version with its deleted flag set. Use with
    incremental_strategy='delete+insert' and unique_key=key. -#}
{% macro latest_versions(changes, key, changed_at=none) -%}
    {{ return(adapter.dispatch('latest_versions', 'sotelake')(changes, key, changed_at)) }}
{%- endmacro %}

{% macro duckdb__latest_versions(changes, key, changed_at) -%}
    select * from (
        select * from {{ changes }}
        {% if is_incremental() -%}
        union all by name
        select * from {{ this }} where {{ key }} in (select {{ key }} from {{ changes }})
        {%- endif %}
    )
    qualify row_number() over (
        partition by {{ key }}
        order by {% if changed_at %}{{ changed_at }} desc, {% endif %}_extracted_at desc
    ) = 1
{%- endmacro %}

{#- Spark: never incremental (incremental_or_table), so DuckDB's query without its union -#}
{% macro spark__latest_versions(changes, key, changed_at) -%}
    {{ return(sotelake.duckdb__latest_versions(changes, key, changed_at)) }}
{%- endmacro %}

{#- PostgreSQL: DISTINCT ON keeps the first row per key; the model's own rows have the columns
    of `changes` in the same order (the model is `select *` of it). -#}
{% macro default__latest_versions(changes, key, changed_at) -%}
    select distinct on ({{ key }}) * from (
        select * from {{ changes }}
        {% if is_incremental() -%}
        union all
        select * from {{ this }} where {{ key }} in (select {{ key }} from {{ changes }})
        {%- endif %}
    ) as versions
    order by {{ key }}, {% if changed_at %}{{ changed_at }} desc, {% endif %}_extracted_at desc
{%- endmacro %}


{#- Row counts by a column over lake files that may not exist yet (an empty zone): DuckDB's
    read_parquet fails on a glob without files, so the query is chosen when the model runs. -#}
{% macro lake_file_counts(pattern, column, kind=none) -%}
    {{ return(adapter.dispatch('lake_file_counts', 'sotelake')(pattern, column, kind)) }}
{%- endmacro %}

{#- ``kind``: in a daily build, only the files of the zone (raw, rejected) that are of the loads
    whose audit changed (macros/dq_changes.sql). -#}
{% macro duckdb__lake_file_counts(pattern, column, kind) -%}
    {%- set changed = dq_changed_files(kind) if kind else none -%}
    {%- set path = env_var('SOTELAKE_LAKE', '../data/lake') ~ '/' ~ pattern -%}
    {%- set found = 0 -%}
    {%- if changed is not none -%}
        {%- set found = changed | length -%}
    {%- elif execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ path ~ "')").columns[0].values()[0] -%}
    {%- endif -%}
    {%- if found > 0 -%}
    select {{ column }} as load_id, count(*) as rows
    from read_parquet({{ dq_file_list(changed) if changed is not none else "'" ~ path ~ "'" }}, union_by_name = true) group by 1
    {%- else -%}
    select null::varchar as load_id, 0::bigint as rows where false
    {%- endif -%}
{%- endmacro %}

{#- On a server target the lake's row counts per zone and load were copied with the lake
    (sotelake.transform.lake_copy), or on Spark are a view over the lake's files
    (register_lake): the zone is the pattern's first folder. -#}
{% macro default__lake_file_counts(pattern, column, kind) -%}
    select load_id, rows from {{ source('lake_dq', 'zone_rows') }}
    where zone = '{{ pattern.split('/')[0] }}'
{%- endmacro %}


{#- Spark reads the lake where it lies, as external tables: before each build (on-run-start),
    each source table is registered under the schema it names on a server target
    (lake_<source>.<table>, lake_dq.*), as sotelake.transform.lake_copy does for PostgreSQL. Its
    folder is the one its meta.external_location reads on DuckDB, without the glob: one place
    says where a source lies. mergeSchema reads the loads by column name (DuckDB's
    union_by_name); recursiveFileLookup reads the files under the load_date=... folders without
    making load_date a partition column (which Spark would need registered per partition).
    Tables are replaced each build, so new loads and new columns are seen; dropping an external
    table leaves its files. -#}
{% macro register_lake() -%}
    {{ return(adapter.dispatch('register_lake', 'sotelake')()) }}
{%- endmacro %}

{% macro default__register_lake() -%}
{%- endmacro %}

{% macro spark__register_lake() -%}
    {%- if execute -%}
    {%- set files = "using parquet options (recursiveFileLookup 'true', mergeSchema 'true')" -%}
    {%- set schemas = [] -%}
    {%- for node in graph.sources.values() if node.meta.get('external_location') -%}
        {%- set pattern = node.meta['external_location'].split("'")[1].replace('{name}', node.identifier) -%}
        {%- set folder = pattern.split('/*')[0] -%}
        {%- if node.schema not in schemas -%}
            {%- do run_query('create schema if not exists ' ~ node.schema) -%}
            {%- do schemas.append(node.schema) -%}
        {%- endif -%}
        {%- set table = node.schema ~ '.' ~ node.identifier -%}
        {%- do run_query('drop table if exists ' ~ table) -%}
        {%- do run_query('create table ' ~ table ~ ' ' ~ files ~ " location '" ~ folder ~ "'") -%}
    {%- endfor -%}
    {#- Rows per zone and load (the reconciliation's lake_file_counts): only the load id is read
        from each file, and a zone without files yet (rejected) reads as empty. -#}
    {%- set lake = env_var('SOTELAKE_LAKE', '../data/lake') -%}
    {%- set zones = ['raw', 'rejected'] -%}
    {%- do run_query('create schema if not exists lake_dq') -%}
    {%- for zone in zones -%}
        {%- do run_query('drop table if exists lake_dq.' ~ zone ~ '_files') -%}
        {%- do run_query('create table lake_dq.' ~ zone ~ "_files (_load_id string) using parquet "
                         ~ "options (recursiveFileLookup 'true') location '" ~ lake ~ '/' ~ zone ~ "'") -%}
    {%- endfor -%}
    {%- set counts = [] -%}
    {%- for zone in zones -%}
        {%- do counts.append("select '" ~ zone ~ "' as zone, _load_id as load_id, count(*) as rows from lake_dq."
                             ~ zone ~ "_files group by _load_id") -%}
    {%- endfor -%}
    {%- do run_query('create or replace view lake_dq.zone_rows as ' ~ counts | join(' union all ')) -%}
    {%- endif -%}
{%- endmacro %}


{#- Age groups used across the warehouse and the packages. -#}
{% macro age_group(age) -%}
    case
        when {{ age }} is null then 'unknown'
        when {{ age }} <= 6 then '0-6'
        when {{ age }} <= 17 then '7-17'
        when {{ age }} <= 64 then '18-64'
        when {{ age }} <= 74 then '65-74'
        else '75+'
    end
{%- endmacro %}
