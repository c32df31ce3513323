{#- Every version of the population table (residents on 31 December by year, municipality, age
    and sex), as dbt's snapshots keep them: a row whose number of residents changed gets a new
    version, and recorded_at is when the build that first saw it began, the same clock as
    marts.indicator_value_history's valid_from, so indicator_revisions can name a changed
    population as a revision's cause. The population is delivered whole every year or on
    correction, so its lake rows' times cannot say which of them changed. Not on Spark (plain
    Parquet tables cannot be updated). A row removed from the table without a replacement is not
    recorded (hard deletes ignored, dbt's default). -#}
{% snapshot population_versions %}
{{ config(
    schema='intermediate',
    unique_key=['year', 'municipality_code', 'age', 'sex_code'],
    strategy='check',
    check_cols=['residents'],
    enabled=target.type != 'spark',
) }}

select
    year,
    municipality_code,
    age,
    sex_code,
    residents,
    cast('{{ run_started_at.isoformat() }}' as {{ sql_type('timestamptz') }}) as recorded_at
from {{ ref('stg_population__residents') }}

{% endsnapshot %}
