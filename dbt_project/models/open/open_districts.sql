-- The publishable districts: name, outline and the latest year's population and households
-- (null when the population file has no row for the district's name).

with districts as (
    select district, geometry from {{ ref('stg_districts') }}
),

latest_population as (
    select district, year, population, households
    from {{ ref('stg_district_population') }}
    qualify row_number() over (partition by district order by year desc) = 1
)

select
    districts.district,
    latest_population.year,
    latest_population.population,
    latest_population.households,
    districts.geometry
from districts
left join latest_population on latest_population.district = districts.district
