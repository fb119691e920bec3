-- Hourly traffic per counting site and direction (UTC hours), one row per hour with a column per
-- vehicle class: the shape most readers want (a table or a chart per site). A class column is null
-- when the export had no row for that class, 0 when it counted none. The mean speed is weighted
-- by the counts of the classes whose speed was measured.
--
-- Incremental, like fct_air_quality_hourly: a build recomputes exactly the hours that hold a count
-- loaded since the last build, from all of their counts, and replaces them by hour key.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['site_id', 'direction', 'hour_utc'],
    on_schema_change='sync_all_columns',
) }}

with staged as (
    select
        site_id,
        direction,
        {{ hour_utc('observed_at') }} as hour_utc,
        vehicle_class,
        vehicle_count,
        mean_speed_kmh,
        ingested_at
    from {{ ref('stg_traffic_counts') }}
    {% if is_incremental() -%}
    where {{ new_rows_hours(ref('stg_traffic_counts'), 'observed_at') }}
    {%- endif %}
),

{% if is_incremental() -%}
touched_hours as (
    select distinct site_id, direction, hour_utc
    from staged
    where ingested_at > {{ ingested_since() }}
),

counts as (
    select staged.*
    from staged
    inner join touched_hours
        on touched_hours.site_id = staged.site_id
        and touched_hours.direction = staged.direction
        and touched_hours.hour_utc = staged.hour_utc
)
{%- else -%}
counts as (
    select * from staged
)
{%- endif %}

select
    site_id,
    direction,
    hour_utc,
    cast(sum(vehicle_count) as bigint) as total_vehicle_count,
    cast(sum(vehicle_count) filter (where vehicle_class = 'Personbil') as bigint) as car_count,
    cast(sum(vehicle_count) filter (where vehicle_class = 'Lastbil') as bigint) as truck_count,
    cast(sum(vehicle_count) filter (where vehicle_class = 'Buss') as bigint) as bus_count,
    cast(sum(vehicle_count) filter (where vehicle_class = 'MC') as bigint) as motorcycle_count,
    cast(sum(vehicle_count) filter (where vehicle_class = 'Cykel') as bigint) as bicycle_count,
    sum(vehicle_count * mean_speed_kmh) filter (where mean_speed_kmh is not null)
    / nullif(sum(vehicle_count) filter (where mean_speed_kmh is not null), 0) as mean_speed_kmh,
    max(ingested_at) as ingested_at
from counts
group by site_id, direction, hour_utc
order by hour_utc
