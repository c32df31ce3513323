select * from {{ ref('int_visits_unioned') }}
