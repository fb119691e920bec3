-- Traffic counts that count: rows of loaded files only, one per (site_id, observed_at, direction,
-- vehicle_class). A later export of the same hour replaces the earlier count (ledger order), and
-- within one file the later line wins.
--
-- Incremental, like stg_air_quality: a build reads only the files loaded since the last one and
-- replaces the counts they carry (delete+insert by key); being later, their counts win.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['site_id', 'observed_at', 'direction', 'vehicle_class'],
    on_schema_change='sync_all_columns',
) }}

with loaded_files as (
    {{ loaded_files('traffic_counts') }}
),

bronze_counts as (
    select * from {{ bronze_since('traffic_counts', 'traffic_counts') }}
),

loaded_counts as (
    select
        bronze_counts.*,
        loaded_files.ingested_at as file_ingested_at
    from bronze_counts
    inner join loaded_files on loaded_files.sha256 = bronze_counts._file_sha256
    {% if is_incremental() -%}
    where loaded_files.ingested_at > {{ ingested_since() }}
    {%- endif %}
),

latest_counts as (
    select *
    from loaded_counts
    qualify row_number() over (
        partition by site_id, observed_at, direction, vehicle_class
        order by file_ingested_at desc, _file_sha256 desc, _row_number desc
    ) = 1
)

select
    cast(site_id as varchar) as site_id,
    cast(observed_at as timestamp with time zone) as observed_at,
    cast(local_date as date) as local_date,
    cast(local_hour as integer) as local_hour,
    cast(direction as varchar) as direction,
    cast(vehicle_class as varchar) as vehicle_class,
    cast(vehicle_count as bigint) as vehicle_count,
    cast(mean_speed_kmh as double) as mean_speed_kmh,
    cast(_source_file as varchar) as source_file,
    cast(_file_sha256 as varchar) as file_sha256,
    cast(_row_number as bigint) as source_row_number,
    file_ingested_at as ingested_at
from latest_counts
order by observed_at
