-- The publishable hourly traffic counts: per counting site, direction and UTC hour, vehicles per
-- class and the count-weighted mean speed.

with hourly as (
    select * from {{ ref('fct_traffic_hourly') }}
)

select
    site_id,
    direction,
    hour_utc,
    total_vehicle_count,
    car_count,
    truck_count,
    bus_count,
    motorcycle_count,
    bicycle_count,
    mean_speed_kmh
from hourly
