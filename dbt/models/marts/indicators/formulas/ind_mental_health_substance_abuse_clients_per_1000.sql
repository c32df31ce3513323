-- mental_health_substance_abuse_clients_per_1000: residents aged 18 or more (at the end of the
-- year) who had an episode of mental health or substance abuse outpatient care in force on a
-- day of the year, per 1 000 residents aged 18 or more, by care type and in total (a client of
-- both counts once in the total), where they lived on 31 December.
with episodes_in_force as (
    select distinct episodes.person_pseudonym, years.year, episodes.care_type_code as breakdown_code
    from {{ ref('fct_mental_health_episodes') }} as episodes
    inner join {{ indicator_years() }} as years
        on episodes.start_date <= years.year_end
        and (episodes.end_date is null or episodes.end_date >= years.year_start)
    inner join {{ ref('dim_person') }} as persons
        on persons.person_pseudonym = episodes.person_pseudonym
    where years.year - persons.birth_year >= 18
),

clients_by_type as (
    select person_pseudonym, year, breakdown_code from episodes_in_force
    union all
    select distinct person_pseudonym, year, 'total' from episodes_in_force
),

clients as (
    {{ people_of_the_year('clients_by_type') }}
),

{{ municipal_indicator('mental_health_substance_abuse_clients_per_1000', 'clients', 1000, min_age=18,
                       breakdown='care_type', grains=('year',)) }}
