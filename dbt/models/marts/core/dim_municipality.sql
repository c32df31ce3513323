-- Municipalities with their organiser of health and social services, effective-dated:
-- until 31.12.2022 the hospital district (sairaanhoitopiiri) organised specialist care; from
-- 1.1.2023 the wellbeing services county (hyvinvointialue) organises all services, except in
-- Helsinki (the city itself) and Åland (outside the reform).
with municipalities as (
    select * from {{ ref('municipalities') }}
),

until_2022 as (
    select
        municipality_code, name_fi, name_sv,
        date '1900-01-01' as valid_from,
        date '2022-12-31' as valid_to,
        'hospital_district' as organiser_type,
        hospital_district_2020 as organiser_code,
        hospital_district_name_fi as organiser_name_fi,
        hospital_district_name_sv as organiser_name_sv
    from municipalities
),

from_2023 as (
    select
        municipality_code, name_fi, name_sv,
        date '2023-01-01' as valid_from,
        date '9999-12-31' as valid_to,
        case
            when wellbeing_county is not null then 'wellbeing_county'
            when municipality_code = '091' then 'city_of_helsinki'
            else 'aland'
        end as organiser_type,
        coalesce(wellbeing_county, case when municipality_code = '091' then 'HEL' else 'AX' end) as organiser_code,
        coalesce(wellbeing_county_name_fi, case when municipality_code = '091' then 'Helsingin kaupunki' else 'Ahvenanmaa' end) as organiser_name_fi,
        coalesce(wellbeing_county_name_sv, case when municipality_code = '091' then 'Helsingfors stad' else 'Åland' end) as organiser_name_sv
    from municipalities
)

select *, valid_to = date '9999-12-31' as is_current from until_2022
union all
select *, valid_to = date '9999-12-31' as is_current from from_2023
