-- Pairs of devices that do the same job in the same place for different departments: the same
-- purpose, owned by different owners, at most var('device_overlap_metres') (50 m) apart. ks uses
-- the list to propose sharing one device instead of running two. Only devices in service count
-- (listed by their owner's latest registry, not decommissioned). Each pair appears once, the
-- smaller device id left_device. Distances are great-circle (haversine, mean Earth radius); a bounding
-- box of the distance around each device picks the candidates first, so the pairing does not
-- compare every device with every other.

{% set earth_radius_m = 6371008.8 %}
{% set max_distance_m = var('device_overlap_metres') %}

with devices as (
    select
        device_id,
        owner,
        purpose,
        lower(trim(purpose)) as purpose_key,
        lat,
        lon,
        district
    from {{ ref('dim_devices') }}
    where is_active
        and decommissioned_at is null
        and purpose is not null
        and lat is not null
        and lon is not null
),

candidates as (
    select
        left_device.device_id as first_device_id,
        left_device.owner as first_owner,
        left_device.lat as first_lat,
        left_device.lon as first_lon,
        left_device.district as first_district,
        right_device.device_id as second_device_id,
        right_device.owner as second_owner,
        right_device.lat as second_lat,
        right_device.lon as second_lon,
        right_device.district as second_district,
        left_device.purpose
    from devices as left_device
    inner join devices as right_device
        on right_device.purpose_key = left_device.purpose_key
        and right_device.owner <> left_device.owner
        and right_device.device_id > left_device.device_id
        -- bounding box: a degree of latitude is R·π/180 metres, a degree of longitude that times
        -- cos(latitude), taken at the box's edge nearer the pole so the box is never too small.
        and abs(right_device.lat - left_device.lat) <= degrees({{ max_distance_m }} / {{ earth_radius_m }})
        and abs(right_device.lon - left_device.lon) <= degrees({{ max_distance_m }} / {{ earth_radius_m }})
        / cos(radians(least(89.0, abs(left_device.lat) + degrees({{ max_distance_m }} / {{ earth_radius_m }}))))
),

distances as (
    select
        *,
        2 * {{ earth_radius_m }} * asin(sqrt(
            pow(sin(radians(second_lat - first_lat) / 2), 2)
            + cos(radians(first_lat)) * cos(radians(second_lat))
            * pow(sin(radians(second_lon - first_lon) / 2), 2)
        )) as distance_m
    from candidates
)

select
    purpose,
    first_device_id,
    first_owner,
    first_district,
    second_device_id,
    second_owner,
    second_district,
    distance_m
from distances
where distance_m <= {{ max_distance_m }}
order by first_device_id, second_device_id
