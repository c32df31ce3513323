{#- On a PostgreSQL warehouse (the postgres target), BI tools read the public marts through the
    role bi_reader and stewards through dq_steward (sotelake.publish.bi_warehouse creates them,
    grants them CONNECT to this database and takes TEMP and CONNECT from PUBLIC, before every
    build): run at the end of every build, because a rebuilt table starts without grants. The
    lake's copy, staging, intermediate and indicator schemas stay private, and so do the
    row-level quality records (publish.public_interface.STEWARDS_ONLY: dq_steward only). -#}
{% macro grant_public_marts() -%}
    {%- if target.type == 'postgres' -%}
    grant usage on schema marts, dq to bi_reader, dq_steward;
    grant select on all tables in schema marts, dq to bi_reader, dq_steward;
    {%- for relation in ['dq.quarantine', 'dq.validation_examples'] %}
    revoke select on {{ relation }} from bi_reader;
    {%- endfor %}
    {%- else -%}
    select 1  -- the embedded DuckDB file has no roles; on Spark, access is the cluster's own (a
              -- metastore or catalog such as Unity Catalog grants it)
    {%- endif -%}
{%- endmacro %}
