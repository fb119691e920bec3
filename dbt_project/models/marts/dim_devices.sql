-- Every device the registry has ever listed, with the district it stands in (null outside every
-- district) and whether its owner's latest registry still lists it.

with devices as (
    select * from {{ ref('stg_iot_devices') }}
),

device_districts as (
    select device_id, district from {{ ref('int_device_districts') }}
)

select
    devices.device_id,
    devices.owner,
    devices.device_type,
    devices.purpose,
    devices.lat,
    devices.lon,
    device_districts.district,
    devices.installed_at,
    devices.decommissioned_at,
    devices.shared_with,
    devices.is_active
from devices
left join device_districts on device_districts.device_id = devices.device_id
