-- The district each device stands in, by ray casting: a point is inside a district when a ray
-- from it towards the east crosses the district's edges an odd number of times. Counting over all
-- rings at once (even-odd rule) handles holes and MultiPolygons alike. The districts' bounding
-- boxes (computed from the edges) pick the candidates first, so each device is tested against a
-- few districts however many there are. A device on a shared border, or in overlapping districts,
-- gets the first district by name; a device in no district is absent here.

with devices as (
    select device_id, lon, lat
    from {{ ref('stg_iot_devices') }}
    where lon is not null and lat is not null
),

edges as (
    select district, lon_from, lat_from, lon_to, lat_to
    from {{ ref('int_district_edges') }}
),

district_boxes as (
    select
        district,
        min(least(lon_from, lon_to)) as min_lon,
        max(greatest(lon_from, lon_to)) as max_lon,
        min(least(lat_from, lat_to)) as min_lat,
        max(greatest(lat_from, lat_to)) as max_lat
    from edges
    group by district
),

candidates as (
    select devices.device_id, devices.lon, devices.lat, district_boxes.district
    from devices
    inner join district_boxes
        on devices.lon between district_boxes.min_lon and district_boxes.max_lon
        and devices.lat between district_boxes.min_lat and district_boxes.max_lat
),

crossings as (
    select
        candidates.device_id,
        candidates.district,
        count(*) as crossing_count
    from candidates
    inner join edges on edges.district = candidates.district
    where (edges.lat_from > candidates.lat) <> (edges.lat_to > candidates.lat)
        and candidates.lon < edges.lon_from
        + (candidates.lat - edges.lat_from) * (edges.lon_to - edges.lon_from)
        / (edges.lat_to - edges.lat_from)
    group by candidates.device_id, candidates.district
),

containing_districts as (
    select device_id, district
    from crossings
    where crossing_count % 2 = 1
)

select device_id, district
from containing_districts
qualify row_number() over (partition by device_id order by district) = 1
