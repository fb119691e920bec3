-- Hourly air quality per device and pollutant (UTC hours). Only ok readings with a value enter the
-- mean, min and max; every reading counts in reading_count, so an hour of maintenance is visible
-- as readings without a mean. Coverage compares the usable readings with the expected 6 per hour.
--
-- Incremental: a build recomputes exactly the hours that hold a reading loaded since the last
-- build (a late or retransmitted file touches old hours too), from all of those hours' readings,
-- and replaces them (delete+insert by hour key). ingested_at, the latest file of the hour, is
-- what tells the next build where it left off.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['device_id', 'pollutant', 'hour_utc'],
    on_schema_change='sync_all_columns',
) }}

with staged as (
    select
        device_id,
        pollutant,
        observed_at,
        {{ hour_utc('observed_at') }} as hour_utc,
        status,
        value_ugm3,
        ingested_at
    from {{ ref('stg_air_quality') }}
    {% if is_incremental() -%}
    where {{ new_rows_hours(ref('stg_air_quality'), 'observed_at') }}
    {%- endif %}
),

{% if is_incremental() -%}
touched_hours as (
    select distinct device_id, pollutant, hour_utc
    from staged
    where ingested_at > {{ ingested_since() }}
),

readings as (
    select staged.*
    from staged
    inner join touched_hours
        on touched_hours.device_id = staged.device_id
        and touched_hours.pollutant = staged.pollutant
        and touched_hours.hour_utc = staged.hour_utc
),
{%- else -%}
readings as (
    select * from staged
),
{%- endif %}

hourly as (
    select
        device_id,
        pollutant,
        hour_utc,
        avg(value_ugm3) filter (where status = 'ok' and value_ugm3 is not null) as mean_value_ugm3,
        min(value_ugm3) filter (where status = 'ok' and value_ugm3 is not null) as min_value_ugm3,
        max(value_ugm3) filter (where status = 'ok' and value_ugm3 is not null) as max_value_ugm3,
        count(*) filter (where status = 'ok' and value_ugm3 is not null) as ok_reading_count,
        count(*) as reading_count,
        max(ingested_at) as ingested_at
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
    least(1.0, ok_reading_count / {{ var('air_quality_expected_readings_per_hour') }}) as coverage,
    ingested_at
from hourly
order by hour_utc
