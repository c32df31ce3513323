{#- The lake's quality records in a daily build: dq.load_audit, dq.quarantine,
    dq.validation_results and dq.reconciliation_loads. Every run adds a day of files to the dq
    zone (21 audit files, a results file per validated batch), so reading them all would make
    each daily build slower than the one before (bench/dq_history_bench.py measures a year of
    runs). On DuckDB these models are incremental: in a daily build the pipeline lists the
    quality files written since the previous build began, and the zones' files of the loads
    those audit files are of (sotelake.transform.changes.dq_changes, the variable
    SOTELAKE_DQ_CHANGES, read as the model runs, so dbt does not parse again); a model's pre-hook
    deletes the rows of those loads and the model adds them again as the files have them now. A
    load run again replaces its files, so its quarantined rows that are gone are deleted too. A
    whole build (--full-refresh) rebuilds them; an incremental build without the list deletes
    every row and reads every file, and the server targets (which read the lake's copy) read
    every file. -#}

{% macro dq_merged_or_rebuilt() -%}
    {{ return('incremental' if target.type == 'duckdb' else 'table') }}
{%- endmacro %}

{#- The files of ``kind`` (load_audit, validation_results, quarantine, raw, rejected) that this
    run of an incremental model reads; none: every file (not incremental, or no list given). -#}
{% macro dq_changed_files(kind) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set listed = env_var('SOTELAKE_DQ_CHANGES', '') -%}
    {{ return(fromjson(listed)[kind] if listed else none) }}
{%- endmacro %}

{#- Whether this run of the model has nothing to add: it is incremental and no file of ``kind``
    changed (then the model selects no row, with its own columns). -#}
{% macro dq_nothing_changed(kind) -%}
    {%- set files = dq_changed_files(kind) -%}
    {{ return(files is not none and files | length == 0) }}
{%- endmacro %}

{#- ``relation`` (a lake_dq source), or only the changed files of ``kind`` in it. -#}
{% macro dq_rows(relation, kind) -%}
    {%- set files = dq_changed_files(kind) -%}
    {%- if files is none -%}
        {{ relation }}
    {%- else -%}
        read_parquet({{ dq_file_list(files) }}, union_by_name = true)
    {%- endif -%}
{%- endmacro %}

{% macro dq_file_list(files) -%}
    [{%- for file in files -%}'{{ file | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor -%}]
{%- endmacro %}

{#- The pre-hook of a dq model: delete the rows of the loads whose files of ``kind`` (their
    audit or validation-results files) changed; ``key``: what names a load in the model, and
    ``of``: the same computed from the files' columns. -#}
{% macro forget_changed_loads(kind, key='(source, table_name, load_date)',
                              of='source, table_name, load_date') -%}
    {%- set files = dq_changed_files(kind) -%}
    {%- if files is none -%}
    delete from {{ this }}
    {%- elif files -%}
    delete from {{ this }} where {{ key }} in (
        select distinct {{ of }} from read_parquet({{ dq_file_list(files) }}, union_by_name = true))
    {%- endif -%}
{%- endmacro %}

{#- How a load is named in the scope of its reconciliation (dq.reconciliation_loads). -#}
{% macro load_scope(prefix='') -%}
    {{ prefix }}source || '.' || {{ prefix }}table_name || ' ' || {{ prefix }}load_date
{%- endmacro %}
