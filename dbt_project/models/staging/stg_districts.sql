-- District polygons as the planning office last published them. A districts file is the whole
-- set (a FeatureCollection), so only the latest loaded file counts: a newer file replaces the old
-- districts rather than mixing with them (e.g. 13 stadsdelsområden replaced by 117 stadsdelar).

with loaded_files as (
    {{ loaded_files('districts') }}
),

bronze_districts as (
    select * from {{ source('districts', 'districts') }}
),

loaded_districts as (
    select
        bronze_districts.*,
        loaded_files.ingested_at as file_ingested_at
    from bronze_districts
    inner join loaded_files on loaded_files.sha256 = bronze_districts._file_sha256
),

latest_file as (
    select _file_sha256
    from loaded_districts
    order by file_ingested_at desc, _file_sha256 desc
    limit 1
),

latest_districts as (
    select loaded_districts.*
    from loaded_districts
    inner join latest_file on latest_file._file_sha256 = loaded_districts._file_sha256
    qualify row_number() over (partition by district order by _row_number desc) = 1
)

select
    cast(district as varchar) as district,
    cast(geometry as varchar) as geometry,
    cast(min_lon as double) as min_lon,
    cast(min_lat as double) as min_lat,
    cast(max_lon as double) as max_lon,
    cast(max_lat as double) as max_lat,
    cast(_source_file as varchar) as source_file,
    cast(_file_sha256 as varchar) as file_sha256,
    file_ingested_at as ingested_at
from latest_districts
