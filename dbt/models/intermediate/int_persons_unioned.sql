-- Every person known to any source, once: the pseudonym is the same in every source (the same
-- henkilötunnus, the same key), so a person in both record systems is one row. The unified
-- record system's attributes win; the others fill in what it lacks.
with unified as (
    select person_pseudonym, birth_year, sex_code, municipality_code, language_code, 1 as priority
    from {{ ref('stg_unified_record__patients') }}
),

legacy as (
    select person_pseudonym, min(birth_year) as birth_year, min(sex_code) as sex_code,
           max(home_municipality_code) as municipality_code, cast(null as {{ sql_type('varchar') }}) as language_code,
           2 as priority
    from {{ ref('stg_legacy_record__visits') }}
    group by person_pseudonym
),

purchased as (
    select person_pseudonym, birth_year, sex_code, municipality_code, cast(null as {{ sql_type('varchar') }}) as language_code,
           3 as priority
    from {{ ref('stg_purchased_services__patients') }}
    where person_pseudonym is not null
),

candidates as (
    select * from unified
    union all select * from legacy
    union all select * from purchased
)

select
    person_pseudonym,
    {{ first_by('birth_year', 'priority') }} as birth_year,
    {{ first_by('sex_code', 'priority') }} as sex_code,
    {{ first_by('municipality_code', 'priority') }} as home_municipality_code,
    coalesce({{ first_by('language_code', 'priority') }}, 'unknown') as language_code,
    -- the sources that know the person, alphabetically (three flags: a list of distinct
    -- strings per person cost twice as much on DuckDB)
    concat_ws(', ',
        case when bool_or(priority = 2) then 'legacy_record' end,
        case when bool_or(priority = 3) then 'purchased_services' end,
        case when bool_or(priority = 1) then 'unified_record' end) as known_in
from candidates
group by person_pseudonym
