{#- The Spark build's hand-off to publish (sotelake.transform.serving): each table of the given
    schemas, and each given relation, written as Parquet into <folder>/<schema>/<table>/ by
    Spark's executors. The same SQL runs in a local session and through a Thrift Server; the
    folder is in the lake, which the executors read already. Timestamps are written as INT64
    microseconds with their time-zone flag (Spark's default, INT96, would read back without
    it). Run as `dbt run-operation export_relations --args '{folder: ..., schemas: [...]}'`. -#}
{% macro export_relations(folder, schemas=[], relations=[]) -%}
    {%- do run_query('set spark.sql.parquet.outputTimestampType = TIMESTAMP_MICROS') -%}
    {%- set chosen = relations | list -%}
    {%- set existing = run_query('show schemas').columns[0].values() | map('lower') | list -%}
    {%- for schema in schemas if schema in existing -%}
        {%- for row in run_query('show tables in ' ~ schema) if not row['isTemporary'] -%}
            {%- do chosen.append(schema ~ '.' ~ row['tableName']) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for relation in chosen -%}
        {%- do run_query("insert overwrite directory '" ~ folder ~ '/' ~ relation.replace('.', '/')
                         ~ "' using parquet select * from " ~ relation) -%}
    {%- endfor -%}
    {%- do log('exported ' ~ chosen | length ~ ' relations to ' ~ folder, info=true) -%}
{%- endmacro %}
