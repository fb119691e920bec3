{#-
    Incremental building blocks for the models that grow with time (readings and counts).

    A build processes only the files loaded since the last build: the model stores the ledger's
    `ingested_at` of every row, and the files to read are the loaded files whose `ingested_at` is
    later than the model's latest one, minus a lookback (var `incremental_lookback_hours`) that
    re-reads the last few hours of files in case a ledger line was appended out of order. A file
    that arrives late (readings up to 7 days old, or a retransmission) is new by its ledger line,
    so it is picked up however old the hours it touches are; the marts then recompute exactly the
    hours those files touch. `dbt build --full-refresh` rebuilds everything from the lake.
-#}

{% macro ingested_since() %}
{#- SQL: the ledger time after which a file counts as new for {{ this }} (the model being built). -#}
(
    select coalesce(
        max(ingested_at) - to_hours(cast({{ var('incremental_lookback_hours') }} as bigint)),
        cast('0001-01-01 00:00:00+00' as timestamp with time zone)
    )
    from {{ this }}
)
{%- endmacro %}


{% macro bronze_since(source_name, table_name) %}
{#-
    The bronze table of a source, as a relation: all of it on a full build; on an incremental
    build only the Parquet files of files loaded since `ingested_since()`, listed by name
    (`lake/bronze/<table>/<sha256>.parquet`) so that DuckDB never opens the year of files before
    them. The zero-row `_schema.parquet` is always read, so the list is never empty and the
    columns are the contract's even when no file is new.
-#}
{%- set whole_table = source(source_name, table_name) -%}
{%- if not is_incremental() -%}
    {{ whole_table }}
{%- else -%}
    {%- set folder = env_var('STADSDATA_HOME') ~ '/lake/bronze/' ~ table_name -%}
    {%- set new_files_query -%}
        select bronze_files.file
        from glob('{{ folder | replace("'", "''") }}/*.parquet') as bronze_files
        inner join ({{ loaded_files(source_name) }}) as loaded_files
            on loaded_files.sha256 = parse_filename(bronze_files.file, true)
        where loaded_files.ingested_at > {{ ingested_since() }}
        order by bronze_files.file
    {%- endset -%}
    {%- set paths = [folder ~ '/_schema.parquet'] + run_query(new_files_query).columns[0].values() | list -%}
    {%- set quoted = [] -%}
    {%- for path in paths -%}
        {%- do quoted.append("'" ~ path | replace("'", "''") ~ "'") -%}
    {%- endfor -%}
    read_parquet([{{ quoted | join(', ') }}], union_by_name = true)
{%- endif -%}
{% endmacro %}


{% macro hour_utc(column) %}
{#-
    The UTC hour a timestamp with time zone falls in, whatever the session's time zone: plain
    arithmetic on epoch seconds, several times faster than calendar truncation over millions
    of readings, and exact (UTC has no leap seconds in epoch time).
-#}
to_timestamp(floor(epoch({{ column }}) / 3600) * 3600)
{%- endmacro %}


{% macro new_rows_hours(relation, time_column) %}
{#-
    SQL predicate: `time_column` lies in the whole UTC hours spanned by the rows of `relation`
    loaded since `ingested_since()` of the model being built ({{ this }}); false when none are.
    The bounds are constants, so DuckDB skips the row groups of a year outside them instead of
    testing every row.
-#}
{%- set bounds_query -%}
    select
        cast({{ hour_utc('min(' ~ time_column ~ ')') }} as varchar),
        cast({{ hour_utc('max(' ~ time_column ~ ')') }} + interval 1 hour as varchar)
    from {{ relation }}
    where ingested_at > {{ ingested_since() }}
{%- endset -%}
{%- set bounds = run_query(bounds_query).rows[0] -%}
{%- if bounds[0] is none -%}
    false
{%- else -%}
    {{ time_column }} >= cast('{{ bounds[0] }}' as timestamp with time zone)
    and {{ time_column }} < cast('{{ bounds[1] }}' as timestamp with time zone)
{%- endif -%}
{%- endmacro %}
