-- The device registry: one row per device ever registered in a loaded file. Each file is one
-- owner's whole registry, so a device is active only when the owner's latest file lists it; a
-- device the latest file dropped keeps its last row (its history stays) with is_active false.
-- A device's row comes from the latest file that lists it, whichever owner's file that is.

with loaded_files as (
    {{ loaded_files('iot_devices') }}
),

bronze_devices as (
    select * from {{ source('iot_devices', 'iot_devices') }}
),

loaded_devices as (
    select
        bronze_devices.*,
        loaded_files.ingested_at as file_ingested_at
    from bronze_devices
    inner join loaded_files on loaded_files.sha256 = bronze_devices._file_sha256
),

latest_registry_per_owner as (
    select owner, _file_sha256
    from (select distinct owner, _file_sha256, file_ingested_at from loaded_devices)
    qualify row_number() over (
        partition by owner order by file_ingested_at desc, _file_sha256 desc
    ) = 1
),

latest_device_rows as (
    select *
    from loaded_devices
    qualify row_number() over (
        partition by device_id
        order by file_ingested_at desc, _file_sha256 desc, _row_number desc
    ) = 1
)

select
    cast(latest_device_rows.device_id as varchar) as device_id,
    cast(latest_device_rows.owner as varchar) as owner,
    cast(latest_device_rows.device_type as varchar) as device_type,
    cast(latest_device_rows.purpose as varchar) as purpose,
    cast(latest_device_rows.lat as double) as lat,
    cast(latest_device_rows.lon as double) as lon,
    cast(latest_device_rows.installed_at as date) as installed_at,
    cast(latest_device_rows.decommissioned_at as date) as decommissioned_at,
    list_filter(
        list_transform(
            string_split(coalesce(latest_device_rows.shared_with, ''), '|'),
            lambda code: trim(code)
        ),
        lambda code: code <> ''
    ) as shared_with,
    latest_registry_per_owner._file_sha256 is not null as is_active,
    cast(latest_device_rows._source_file as varchar) as source_file,
    cast(latest_device_rows._file_sha256 as varchar) as file_sha256,
    latest_device_rows.file_ingested_at as ingested_at
from latest_device_rows
left join latest_registry_per_owner
    on latest_registry_per_owner.owner = latest_device_rows.owner
    and latest_registry_per_owner._file_sha256 = latest_device_rows._file_sha256
