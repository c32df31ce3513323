{#- What each fact's build touches (macros/history.sql: record_rebuild): the days of the rows that
    changed since the fact's newest row, in every table the fact reads, and the first day on which
    someone's residence changed. One macro per fact, rendered in the fact's pre-hook. -#}

{% macro changed_visit_days() -%}
    {%- set unified = ref('stg_unified_record__visits') -%}
    {%- set appointments = ref('stg_unified_record__appointments') -%}
    {{ changed_events(unified, 'visit_id', 'visit_date', 'source_visit_id', 'visit_date') }}
    union all
    -- a visit's booking time is its appointment's
    select visit_date from {{ this }} where appointment_id in (
        select appointment_id from {{ appointments }} where _published_at > {{ newest_row() }})
    union all
    {{ events_of_new_persons(unified, 'visit_date') }}
    union all
    {{ changed_events(ref('stg_legacy_record__visits'), "'L' || legacy_visit_key", 'visit_date',
                      'visit_key', 'visit_date') }}
    union all
    {{ changed_events(ref('stg_purchased_services__encounters'), "'P' || encounter_id",
                      'cast(visit_start as date)', 'visit_key', 'visit_date') }}
    union all
    -- a provider's patient whose pseudonym or municipality changed: all their encounters
    select cast(encounters.visit_start as date)
    from {{ ref('stg_purchased_services__encounters') }} as encounters
    inner join {{ ref('stg_purchased_services__patients') }} as patients
        on encounters.patient_ref = patients.patient_ref
    where patients._published_at > {{ newest_row() }}
    union all
    {{ residence_changes() }}
{%- endmacro %}

{#- Facts replaced by key (macros/history.sql: forget_changed_keys) name the rows a build
    replaces from the sources, not from the fact, so that the query names the same rows after
    the pre-hook deleted them. Every event of a person whose patient row or residence changed
    since the fact's newest row is among them: a move, a henkilötunnus corrected, a person new
    to the record system. The pseudonyms of those persons: -#}
{% macro changed_persons() -%}
    select person_pseudonym from {{ ref('dim_person_residence') }} where _published_at > {{ newest_row() }}
    union
    select person_pseudonym from {{ ref('stg_unified_record__patients') }} where _published_at > {{ newest_row() }}
{%- endmacro %}

{#- ... and their patient ids in the unified record system. -#}
{% macro changed_patients() -%}
    select patient_id from {{ ref('stg_unified_record__patients') }}
    where _published_at > {{ newest_row() }} or person_pseudonym in ({{ changed_persons() }})
{%- endmacro %}

{#- fct_visits' rows a build replaces: the visits that changed in any record system, those
    whose booking changed, and those of the persons above. ``system``: the keys of one record
    system's visits as that system has them (U: visit_id of the unified record system, L:
    legacy_visit_key, P: the purchased services' encounter_id); none: fct_visits' visit_key of
    all three. -#}
{% macro changed_visit_keys(system=none) -%}
    {%- set newest = newest_row() -%}
    {%- set unified -%}
    select visit_id as key from {{ ref('stg_unified_record__visits') }}
    where _published_at > {{ newest }}
        or appointment_id in (
            select appointment_id from {{ ref('stg_unified_record__appointments') }}
            where _published_at > {{ newest }})
        or patient_id in ({{ changed_patients() }})
    {%- endset -%}
    {%- set legacy -%}
    select legacy_visit_key as key from {{ ref('stg_legacy_record__visits') }}
    where _published_at > {{ newest }} or person_pseudonym in ({{ changed_persons() }})
    {%- endset -%}
    {%- set purchased -%}
    select encounter_id as key from {{ ref('stg_purchased_services__encounters') }}
    where _published_at > {{ newest }}
        or patient_ref in (
            select patient_ref from {{ ref('stg_purchased_services__patients') }}
            where _published_at > {{ newest }} or person_pseudonym in ({{ changed_persons() }}))
    {%- endset -%}
    {%- set by_system = {'U': unified, 'L': legacy, 'P': purchased} -%}
    {%- if system -%}
    {{ by_system[system] }}
    {%- else -%}
    {%- for prefix, query in by_system.items() %}
    select '{{ prefix }}' || key as key from ({{ query }}) as {{ prefix | lower }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- fct_home_care_visits' rows a build replaces: the visits that changed, and those of the
    persons above. -#}
{% macro changed_home_care_visit_keys() -%}
    select home_care_visit_id as key from {{ ref('stg_unified_record__home_care_visits') }}
    where _published_at > {{ newest_row() }} or patient_id in ({{ changed_patients() }})
{%- endmacro %}

{% macro changed_home_care_visit_days() -%}
    {%- set visits = ref('stg_unified_record__home_care_visits') -%}
    {{ changed_events(visits, 'home_care_visit_id', 'visit_date', 'home_care_visit_id', 'visit_date') }}
    union all
    {{ events_of_new_persons(visits, 'visit_date') }}
    union all
    {{ residence_changes() }}
{%- endmacro %}

{#- A slot is free from the day it was opened (created_at) until it is booked, and T3 measures
    each working day the slots free on it (int_t3_measurements_daily): a booking changes the days
    from the earlier of its old and new booking days, anything else the days from its opening;
    and never later than the slot's own day (the fact replaces its rows by slot day). -#}
{% macro changed_slot_days() -%}
    {%- set slots = ref('stg_unified_record__appointments') -%}
    {%- set current -%}
        select appointment_id, cast(created_at as date) as opened_on, cast(booked_at as date) as booked_on,
               slot_date, unit_id, professional_group_code
        from {{ ref('int_appointment_slots_classified') }}
    {%- endset -%}
    {%- set as_before -%}
        (select appointment_id, cast(created_at as date) as opened_on, cast(booked_at as date) as booked_on,
                slot_date, unit_id, professional_group_code from {{ this }})
    {%- endset -%}
    -- a day early: a booking at midnight changes the day it was made on
    select least(cast(changed.day - interval '1 day' as date),
                 coalesce(now.slot_date, changed.day), coalesce(was.slot_date, changed.day)) as day
    from ({{ changed_intervals(slots, 'appointment_id', current, 'opened_on', 'booked_on',
                               ['slot_date', 'unit_id', 'professional_group_code'], as_before) }}) as changed
    left join {{ ref('int_appointment_slots_classified') }} as now using (appointment_id)
    left join {{ this }} as was using (appointment_id)
{%- endmacro %}

{% macro changed_episode_days() -%}
    {%- set episodes = ref('stg_unified_record__inpatient_episodes') -%}
    {{ changed_events(episodes, 'episode_id', 'cast(admitted_at as date)', 'episode_id', 'admitted_date') }}
    union all
    {{ events_of_new_persons(episodes, 'cast(admitted_at as date)') }}
    union all
    {{ residence_changes() }}
{%- endmacro %}

{% macro changed_referral_days() -%}
    {%- set referrals = ref('stg_unified_record__referrals') -%}
    {{ changed_events(referrals, 'referral_id', 'cast(referred_at as date)', 'referral_id', 'cast(referred_at as date)') }}
    union all
    {{ events_of_new_persons(referrals, 'cast(referred_at as date)') }}
    union all
    {{ residence_changes() }}
{%- endmacro %}

{#- A social assistance decision counts on the first day of the month it is for. -#}
{% macro changed_social_assistance_days() -%}
    {%- set decisions = ref('stg_unified_record__social_assistance_decisions') -%}
    {{ changed_events(decisions, 'decision_id', 'benefit_month', 'decision_id', 'benefit_month') }}
    union all
    {{ events_of_new_persons(decisions, 'benefit_month') }}
    union all
    {{ residence_changes() }}
{%- endmacro %}

{#- Facts that last (a place on the waiting list, a decision or stay in force): from the first
    day the change makes a difference (changed_intervals). -#}
{% macro changed_waiting_days() -%}
    {%- set entries = ref('stg_unified_record__waiting_list_entries') -%}
    {%- set current -%}
        select entry_id, cast(placed_at as date) as placed_date, cast(treated_at as date) as treated_date,
               specialty_code
        from {{ entries }} where not is_deleted
    {%- endset -%}
    select day from ({{ changed_intervals(entries, 'entry_id', current, 'placed_date', 'treated_date',
                                          ['specialty_code']) }}) as changed
    union all
    {{ events_of_new_persons(entries, 'cast(placed_at as date)') }}
    union all
    {{ residence_changes() }}
{%- endmacro %}

{#- A stay or decision of ``rows`` (its start_date, end_date and ``compared`` columns are the
    fact's). -#}
{% macro changed_stay_days(rows, key, compared) -%}
    {%- set current -%}
        select {{ key }}, start_date, end_date, {{ compared | join(', ') }} from {{ rows }} where not is_deleted
    {%- endset -%}
    select day from ({{ changed_intervals(rows, key, current, 'start_date', 'end_date', compared) }}) as changed
    union all
    {{ events_of_new_persons(rows, 'start_date') }}
    union all
    {{ residence_changes() }}
{%- endmacro %}

{#- dim_person_residence: the first day on which a known person's municipality of residence is
    not what the dimension said (a person new to it has no events counted yet). Both histories
    are constant between their boundaries, so comparing them on the boundaries is enough. The
    residences now are those of the patients whose row or residences changed since the
    dimension's newest row, computed for them alone (macros/residences.sql). -#}
{% macro changed_residence_days() -%}
    {%- set open_end = "cast('9999-12-31' as date)" -%}
    {%- set changed_patients -%}
        select patient_id, person_pseudonym, municipality_code, _published_at
        from {{ ref('stg_unified_record__patients') }}
        where person_pseudonym in (select person_pseudonym from {{ this }})
            and (_published_at > {{ newest_row() }}
            {%- if residences_from_table() %}
                or patient_id in (
                    select patient_id from {{ ref('stg_unified_record__patient_residences') }}
                    where _published_at > {{ newest_row() }})
            {%- endif %})
    {%- endset -%}
    with now as (
        {{ patient_residences(changed_patients) }}
    ),

    was as (
        select * from {{ this }} where person_pseudonym in (select person_pseudonym from now)
    ),

    boundaries as (
        select person_pseudonym, valid_from as day from was
        union select person_pseudonym, valid_from from now
        union select person_pseudonym, cast(valid_to + interval '1 day' as date) from was where valid_to < {{ open_end }}
        union select person_pseudonym, cast(valid_to + interval '1 day' as date) from now where valid_to < {{ open_end }}
    )

    select boundaries.day
    from boundaries
    left join was on was.person_pseudonym = boundaries.person_pseudonym
        and boundaries.day between was.valid_from and was.valid_to
    left join now on now.person_pseudonym = boundaries.person_pseudonym
        and boundaries.day between now.valid_from and now.valid_to
    where was.municipality_code is distinct from now.municipality_code
{%- endmacro %}

{#- The days of the rows the table holds (`day_column`) whose municipality is no longer the one
    the patient's residence history gives for that day: a move dated back, or learned of late.
    Compared with what the table holds, not with when residences were published, because a move
    publishes the patient's earlier residence again (its end set) without changing its days.
    `events` joins the table's rows (`stored`) to the source's, which have the patient. -#}
{% macro unidentified_attribution_changes(events, join_condition, day_column) -%}
    select stored.{{ day_column }} from {{ this }} as stored
    inner join {{ events }} as events on {{ join_condition }}
    left join {{ ref('int_unidentified_patient_residences') }} as residences
        on residences.patient_id = events.patient_id
        and stored.{{ day_column }} between residences.valid_from and residences.valid_to
    where residences.municipality_code is distinct from stored.home_municipality_code
{%- endmacro %}

{#- The visits of patients without a valid identifier: the days of visits that changed, of the
    visits of patients whose quarantined row changed that the table does not hold yet (a patient
    new to it), the days the table held before for either (a visit or a patient that left it),
    and the days whose municipality changed. -#}
{% macro changed_unidentified_visit_days() -%}
    {%- set visits = ref('stg_unified_record__visits') -%}
    {%- set patients = ref('int_patients_unidentified') -%}
    select visit_date as day from {{ visits }}
    where _published_at > {{ newest_row() }}
        and patient_id in (select patient_id from {{ patients }})
    union all
    select visit_date from {{ visits }}
    where patient_id in (select patient_id from {{ patients }} where _published_at > {{ newest_row() }})
        and not is_deleted
        and 'U' || visit_id not in (select visit_key from {{ this }})
    union all
    select visit_date from {{ this }}
    where visit_key in (select 'U' || visit_id from {{ visits }} where _published_at > {{ newest_row() }})
        or visit_key not in (
            select 'U' || visits.visit_id from {{ visits }} as visits
            inner join {{ patients }} as patients on patients.patient_id = visits.patient_id)
    union all
    {{ unidentified_attribution_changes(
        visits, "events.visit_id = cast(substr(stored.visit_key, 2) as bigint)", 'visit_date') }}
{%- endmacro %}

{#- int_inpatient_episodes_of_unidentified_patients' changed days, as for visits above. -#}
{% macro changed_unidentified_episode_days() -%}
    {%- set episodes = ref('stg_unified_record__inpatient_episodes') -%}
    {%- set patients = ref('int_patients_unidentified') -%}
    select cast(admitted_at as date) as day from {{ episodes }}
    where _published_at > {{ newest_row() }}
        and patient_id in (select patient_id from {{ patients }})
    union all
    select cast(admitted_at as date) from {{ episodes }}
    where patient_id in (select patient_id from {{ patients }} where _published_at > {{ newest_row() }})
        and not is_deleted
        and episode_id not in (select episode_id from {{ this }})
    union all
    select admitted_date from {{ this }}
    where episode_id in (select episode_id from {{ episodes }} where _published_at > {{ newest_row() }})
        or episode_id not in (
            select episodes.episode_id from {{ episodes }} as episodes
            inner join {{ patients }} as patients on patients.patient_id = episodes.patient_id)
    union all
    {{ unidentified_attribution_changes(
        episodes, 'events.episode_id = stored.episode_id', 'admitted_date') }}
{%- endmacro %}
