-- Population and households per district and year: rows of loaded files only; a later file's
-- figure for the same (district, year) replaces the earlier one (revised statistics).

with loaded_files as (
    {{ loaded_files('districts') }}
),

bronze_population as (
    select * from {{ source('districts', 'district_population') }}
),

loaded_population as (
    select
        bronze_population.*,
        loaded_files.ingested_at as file_ingested_at
    from bronze_population
    inner join loaded_files on loaded_files.sha256 = bronze_population._file_sha256
),

latest_population as (
    select *
    from loaded_population
    qualify row_number() over (
        partition by district, year
        order by file_ingested_at desc, _file_sha256 desc, _row_number desc
    ) = 1
)

select
    cast(district as varchar) as district,
    cast(year as integer) as year,
    cast(population as bigint) as population,
    cast(households as bigint) as households,
    cast(_source_file as varchar) as source_file,
    cast(_file_sha256 as varchar) as file_sha256,
    file_ingested_at as ingested_at
from latest_population
