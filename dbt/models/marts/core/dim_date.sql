-- Calendar days with bilingual month and weekday names (for BI labels), Finnish holidays and
-- working days.
select
    days.date_day,
    days.month_start,
    days.year_start,
    cast(days.year as integer) as year,
    cast(days.month as integer) as month,
    cast(days.iso_weekday as integer) as iso_weekday,
    days.is_working_day,
    days.is_holiday,
    days.holiday_name_fi,
    days.holiday_name_sv,
    days.holiday_name_en,
    {{ nth_of(['tammikuu', 'helmikuu', 'maaliskuu', 'huhtikuu', 'toukokuu', 'kesäkuu', 'heinäkuu',
               'elokuu', 'syyskuu', 'lokakuu', 'marraskuu', 'joulukuu'], 'days.month') }} as month_name_fi,
    {{ nth_of(['januari', 'februari', 'mars', 'april', 'maj', 'juni', 'juli', 'augusti',
               'september', 'oktober', 'november', 'december'], 'days.month') }} as month_name_sv,
    {{ nth_of(['maanantai', 'tiistai', 'keskiviikko', 'torstai', 'perjantai', 'lauantai',
               'sunnuntai'], 'days.iso_weekday') }} as weekday_name_fi,
    {{ nth_of(['måndag', 'tisdag', 'onsdag', 'torsdag', 'fredag', 'lördag',
               'söndag'], 'days.iso_weekday') }} as weekday_name_sv
from {{ ref('int_days_classified') }} as days
