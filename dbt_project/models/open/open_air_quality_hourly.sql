-- The publishable hourly air quality: per station (device) and its district, pollutant and UTC
-- hour, the mean concentration in µg/m³ of ok readings and how well the hour is covered. Hours
-- without a usable reading stay in, with a null mean and coverage 0, so gaps are visible.

with hourly as (
    select * from {{ ref('fct_air_quality_hourly') }}
),

stations as (
    select device_id, district from {{ ref('int_air_quality_stations') }}
)

select
    stations.district,
    hourly.device_id,
    hourly.pollutant,
    hourly.hour_utc,
    hourly.mean_value_ugm3,
    hourly.ok_reading_count,
    hourly.coverage
from hourly
left join stations on stations.device_id = hourly.device_id
