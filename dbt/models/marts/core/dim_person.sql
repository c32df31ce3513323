-- Pseudonymous persons (no henkilötunnus, name or address ever reaches the warehouse), once
-- each across sources, with the age group at the end of the latest population year.
with persons as (
    select * from {{ ref('int_persons_unioned') }}
),

reference as (
    select max(year) as year from {{ ref('fct_population') }}
)

select
    persons.person_pseudonym,
    persons.birth_year,
    cast(persons.sex_code as smallint) as sex_code,
    persons.home_municipality_code,
    persons.language_code,
    {{ age_group('reference.year - persons.birth_year') }} as age_group,
    persons.known_in
from persons, reference
