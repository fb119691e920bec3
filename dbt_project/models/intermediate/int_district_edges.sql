-- Every edge of every district ring, exploded from the GeoJSON geometry text, for point-in-polygon
-- tests in SQL (DuckDB 2.x has no spatial extension offline). A Polygon is treated as a
-- MultiPolygon of one; ring 1 of a polygon is its outer ring, later rings are holes. Edges run
-- from each point to the next and from the last back to the first, so unclosed rings work too;
-- the zero-length closing edge of a closed ring is dropped.

with districts as (
    select district, geometry from {{ ref('stg_districts') }}
),

geometries as (
    select
        district,
        json_extract_string(geometry, '$.type') as geometry_type,
        json_extract(geometry, '$.coordinates') as coordinates
    from districts
),

polygons as (
    select
        district,
        case geometry_type
            when 'Polygon' then [cast(coordinates as double[][][])]
            when 'MultiPolygon' then cast(coordinates as double[][][][])
            else error(
                'district ' || district || ': geometry type '
                || coalesce(geometry_type, 'null') || ' is not Polygon or MultiPolygon'
            )
        end as polygons
    from geometries
),

rings as (
    select
        polygons.district,
        polygon_numbers.polygon_index,
        ring_numbers.ring_index,
        polygons.polygons[polygon_numbers.polygon_index][ring_numbers.ring_index] as ring
    from polygons
    cross join lateral generate_series(1, len(polygons.polygons)) as polygon_numbers (polygon_index)
    cross join lateral generate_series(
        1, len(polygons.polygons[polygon_numbers.polygon_index])
    ) as ring_numbers (ring_index)
),

edges as (
    select
        rings.district,
        rings.polygon_index,
        rings.ring_index,
        point_numbers.edge_index,
        rings.ring[point_numbers.edge_index][1] as lon_from,
        rings.ring[point_numbers.edge_index][2] as lat_from,
        rings.ring[point_numbers.edge_index % len(rings.ring) + 1][1] as lon_to,
        rings.ring[point_numbers.edge_index % len(rings.ring) + 1][2] as lat_to
    from rings
    cross join lateral generate_series(1, len(rings.ring)) as point_numbers (edge_index)
)

select
    district,
    cast(polygon_index as integer) as polygon_index,
    cast(ring_index as integer) as ring_index,
    ring_index > 1 as is_hole,
    cast(edge_index as integer) as edge_index,
    lon_from,
    lat_from,
    lon_to,
    lat_to
from edges
where not (lon_from = lon_to and lat_from = lat_to)
