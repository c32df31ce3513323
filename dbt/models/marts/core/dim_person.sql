-- Pseudonymous persons: no henkilötunnus, name or address ever reaches the warehouse.
select
    person_pseudonym,
    birth_year,
    sex_code,
    municipality_code as home_municipality_code,
    language_code
from {{ ref('stg_unified_record__patients') }}
