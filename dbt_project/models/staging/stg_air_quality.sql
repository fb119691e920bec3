-- Air-quality readings that count: rows of loaded files only, one per (device_id, observed_at,
-- pollutant). Gateways retransmit, sometimes with a corrected value, so the reading from the file
-- that arrived last wins (ledger order), and within one file the later line wins.
--
-- Incremental: a build reads only the files loaded since the last one (macros/incremental.sql)
-- and replaces the readings they carry (delete+insert by key). Those files arrived after every
-- file already in the table, so their reading of a key is the one that wins, as in a full build.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['device_id', 'observed_at', 'pollutant'],
    on_schema_change='sync_all_columns',
) }}

with loaded_files as (
    {{ loaded_files('air_quality') }}
),

bronze_readings as (
    select * from {{ bronze_since('air_quality', 'air_quality') }}
),

loaded_readings as (
    select
        bronze_readings.*,
        loaded_files.ingested_at as file_ingested_at
    from bronze_readings
    inner join loaded_files on loaded_files.sha256 = bronze_readings._file_sha256
    {% if is_incremental() -%}
    where loaded_files.ingested_at > {{ ingested_since() }}
    {%- endif %}
),

latest_readings as (
    select *
    from loaded_readings
    qualify row_number() over (
        partition by device_id, observed_at, pollutant
        order by file_ingested_at desc, _file_sha256 desc, _row_number desc
    ) = 1
)

select
    cast(device_id as varchar) as device_id,
    cast(observed_at as timestamp with time zone) as observed_at,
    cast(pollutant as varchar) as pollutant,
    cast(value as double) as value_ugm3,
    cast(value_as_sent as double) as value_as_sent,
    cast(unit_as_sent as varchar) as unit_as_sent,
    cast(status as varchar) as status,
    cast(_source_file as varchar) as source_file,
    cast(_file_sha256 as varchar) as file_sha256,
    cast(_row_number as bigint) as source_row_number,
    file_ingested_at as ingested_at
from latest_readings
order by observed_at
