-- Devices their owner shares with other departments (a non-empty shared_with in the registry):
-- who owns each one, who else relies on it, and where it stands. ks follows these up when an
-- owner plans to move or decommission a device others depend on.

select
    device_id,
    owner,
    device_type,
    purpose,
    district,
    lat,
    lon,
    shared_with,
    len(shared_with) as sharing_owner_count,
    is_active
from {{ ref('dim_devices') }}
where len(shared_with) > 0
order by device_id
