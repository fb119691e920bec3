-- The district of every air-quality station that has readings: the one piece of the internal
-- device registry the open air-quality dataset needs. Declared de-identifying: it keeps only the
-- station id (already public in the readings) and its district, dropping owner, purpose, exact
-- position and sharing, so miljo can publish where its stations are at district level.

with stations as (
    select distinct device_id from {{ ref('stg_air_quality') }}
),

device_districts as (
    select device_id, district from {{ ref('int_device_districts') }}
)

select
    stations.device_id,
    device_districts.district
from stations
left join device_districts on device_districts.device_id = stations.device_id
