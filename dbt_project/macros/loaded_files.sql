{% macro loaded_files(source_name) %}
{#-
    The files of a source that its ingestion ledger records as loaded, with when they arrived.

    Bronze rows count only when their file is here: ingestion appends the ledger line after the
    bronze file is in place, so a file without a `loaded` line is a load that did not finish (or
    was rejected) and must stay invisible. A file loaded more than once keeps its first arrival.
    Lines without a sha256 (a truncated last line) are ignored. Before a source has received any
    file its ledger does not exist yet; the source then has no loaded files rather than an error.
-#}
{%- set ledger = source(source_name, 'ledger') -%}
{%- if execute and not ledger_exists(source_name) -%}
    select cast(null as varchar) as sha256, cast(null as timestamp with time zone) as ingested_at
    where false
{%- else -%}
    select sha256, min(cast(ingested_at as timestamp with time zone)) as ingested_at
    from {{ ledger }}
    where status = 'loaded' and sha256 is not null
    group by sha256
{%- endif -%}
{% endmacro %}


{% macro ledger_exists(source_name) %}
{#- Whether `lake/ledger/<source>.jsonl` exists: the path of the ledger tables in sources.yml. -#}
{%- set path = env_var('STADSDATA_HOME') ~ '/lake/ledger/' ~ source_name ~ '.jsonl' -%}
{%- set found = run_query("select count(*) from glob('" ~ path | replace("'", "''") ~ "')") -%}
{{ return(found.columns[0].values()[0] > 0) }}
{% endmacro %}
