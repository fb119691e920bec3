-- Hourly traffic per counting site and direction (UTC hours), one row per hour with a column per
-- vehicle class: the shape most readers want (a table or a chart per site). A class column is null
-- when the export had no row for that class, 0 when it counted none. The mean speed is weighted
-- by the counts of the classes whose speed was measured.

with counts as (
    select
        site_id,
        direction,
        timezone('UTC', date_trunc('hour', timezone('UTC', observed_at))) as hour_utc,
        vehicle_class,
        vehicle_count,
        mean_speed_kmh
    from {{ ref('stg_traffic_counts') }}
)

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
    / nullif(sum(vehicle_count) filter (where mean_speed_kmh is not null), 0) as mean_speed_kmh
from counts
group by site_id, direction, hour_utc
