select year, municipality_code, age, sex_code, residents
from {{ ref('stg_population__residents') }}
