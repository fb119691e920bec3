-- Hourly air quality per device and pollutant (UTC hours). Only ok readings with a value enter the
-- mean, min and max; every reading counts in reading_count, so an hour of maintenance is visible
-- as readings without a mean. Coverage compares the usable readings with the expected 6 per hour.

with readings as (
    select
        device_id,
        pollutant,
        timezone('UTC', date_trunc('hour', timezone('UTC', observed_at))) as hour_utc,
        status = 'ok' and value_ugm3 is not null as is_usable,
        value_ugm3
    from {{ ref('stg_air_quality') }}
),

hourly as (
    select
        device_id,
        pollutant,
        hour_utc,
        avg(value_ugm3) filter (where is_usable) as mean_value_ugm3,
        min(value_ugm3) filter (where is_usable) as min_value_ugm3,
        max(value_ugm3) filter (where is_usable) as max_value_ugm3,
        count(*) filter (where is_usable) as ok_reading_count,
        count(*) as reading_count
    from readings
    group by device_id, pollutant, hour_utc
)

select
    device_id,
    pollutant,
    hour_utc,
    mean_value_ugm3,
    min_value_ugm3,
    max_value_ugm3,
    ok_reading_count,
    reading_count,
    least(1.0, ok_reading_count / {{ var('air_quality_expected_readings_per_hour') }}) as coverage
from hourly
