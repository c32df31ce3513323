-- adult_social_work_clients_per_1000: residents aged 18 or more (at the end of the year) who were
-- clients of adult social work on a day of the year (a client relationship in force), per 1 000
-- residents aged 18 or more, where they lived on 31 December.
with clients_of_the_year as (
    select distinct relationships.person_pseudonym, years.year, 'total' as breakdown_code
    from {{ ref('fct_adult_social_work_clients') }} as relationships
    inner join {{ indicator_years() }} as years
        on relationships.start_date <= years.year_end
        and (relationships.end_date is null or relationships.end_date >= years.year_start)
    inner join {{ ref('dim_person') }} as persons
        on persons.person_pseudonym = relationships.person_pseudonym
    where years.year - persons.birth_year >= 18
),

clients as (
    {{ people_of_the_year('clients_of_the_year') }}
),

{{ municipal_indicator('adult_social_work_clients_per_1000', 'clients', 1000, min_age=18,
                       grains=('year',)) }}
