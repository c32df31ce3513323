-- Patients of the unified record system whose henkilötunnus is invalid: their patient row was
-- quarantined (dq.quarantine, the identifier withheld there and never in the lake) and no
-- valid version of it has arrived since. One row per patient: the record system's own
-- patient_id and the municipality its newest quarantined version recorded. They have no
-- pseudonym, so nothing links them to anyone in another system; their own system's events
-- still count in their municipality's aggregates (int_visits_of_unidentified_patients).
with quarantined as (
    select
        cast({{ json_text('row_json', 'patient_id') }} as bigint) as patient_id,
        cast({{ json_text('row_json', 'municipality_code') }} as {{ sql_type('varchar') }}) as municipality_code,
        {{ json_text('row_json', 'updated_at') }} as updated_at,
        quarantined_at as _published_at
    from {{ ref('quarantine') }}
    -- set aside for the identifier alone (a row with other problems stays out)
    where source = 'unified_record' and table_name = 'patients'
        and reason like 'hetu%' and reasons not like '%;%'
),

newest as (
    select
        *,
        row_number() over (
            partition by patient_id order by updated_at desc, _published_at desc
        ) as newest_first
    from quarantined
)

select patient_id, municipality_code, _published_at
from newest
where newest_first = 1
    and patient_id not in (select patient_id from {{ ref('stg_unified_record__patients') }})
