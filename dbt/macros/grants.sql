{#- On a PostgreSQL warehouse (the postgres target), BI tools read the public marts through the
    role bi_reader, wide audiences the aggregates through bi_public, and stewards through
    dq_steward (sotelake.transform.bi_warehouse creates them,
    grants them CONNECT to this database and takes TEMP and CONNECT from PUBLIC, before every
    build): run at the end of every build, because a rebuilt table starts without grants. The
    lake's copy, staging, intermediate and indicator schemas stay private, and so do the
    row-level quality records (transform.public_interface.STEWARDS_ONLY: dq_steward only). -#}
{% macro grant_public_marts() -%}
    {%- if target.type == 'postgres' -%}
    grant usage on schema marts, dq to bi_reader, dq_steward;
    grant select on all tables in schema marts, dq to bi_reader, dq_steward;
    {%- for relation in ['dq.quarantine', 'dq.validation_examples'] %}
    revoke select on {{ relation }} from bi_reader;
    {%- endfor %}
    -- bi_public: the aggregates only (transform.public_interface.aggregate_relations)
    grant usage on schema marts to bi_public;
    do $$ declare aggregate record; begin
        for aggregate in
            select tables.table_name from information_schema.tables as tables
            where tables.table_schema = 'marts'
                and (tables.table_name like 'indicator\_%' or tables.table_name like 'dim\_%')
                and not exists (
                    select from information_schema.columns as columns
                    where columns.table_schema = 'marts' and columns.table_name = tables.table_name
                        and columns.column_name like '%pseudonym%')
        loop
            execute format('grant select on marts.%I to bi_public', aggregate.table_name);
        end loop;
    end $$;
    {%- else -%}
    select 1  -- the embedded DuckDB file has no roles; on Spark, access is the cluster's own (a
              -- metastore or catalog such as Unity Catalog grants it)
    {%- endif -%}
{%- endmacro %}
