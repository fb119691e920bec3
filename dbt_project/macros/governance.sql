{#-
    The governance conventions of DESIGN.md, enforced on every build (on-run-start) and on demand
    (`dbt run-operation enforce_governance`). The rules:

    - every model (and seed, snapshot) declares `config.meta` owner, classification, pii and
      update_frequency; every source declares owner and classification; owners and classifications
      must be the ones listed in the project vars;
    - a column that identifies a person carries `meta: {pii: true}`, and then so does its model;
      an `open` model has no such column;
    - an `open_*` model is classified open and declares its license;
    - a model is classified at least as high as its highest input (source or model), unless it
      declares `meta: {de_identifying: true}`: the one sanctioned way down, which its owner
      answers for (aggregation with small-count suppression, dropping identifiers).

    All problems are reported together, each naming its model, so one build shows the whole list.
-#}

{% macro enforce_governance() %}
{%- if execute -%}
    {%- set problems = governance_problems() -%}
    {%- if problems | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            "Governance check failed (DESIGN.md, Governance conventions):\n  - "
            ~ problems | join("\n  - ")
        ) }}
    {%- endif -%}
    {{ log("Governance check passed for " ~ governed_nodes() | length ~ " models.", info=true) }}
{%- endif -%}
{% endmacro %}


{% macro governance_problems() %}
{%- set levels = var('governance_classifications') -%}
{%- set problems = [] -%}
{%- set classification_of = {} -%}
{%- set name_of = {} -%}
{%- for node in graph.sources.values() -%}
    {%- set meta = governance_meta(node) -%}
    {%- set label = "source " ~ node.source_name ~ "." ~ node.name -%}
    {%- do problems.extend(owner_and_classification_problems(label, meta)) -%}
    {%- do classification_of.update({node.unique_id: meta.get('classification')}) -%}
    {%- do name_of.update({node.unique_id: label}) -%}
{%- endfor -%}
{%- for node in governed_nodes() -%}
    {%- do classification_of.update({node.unique_id: governance_meta(node).get('classification')}) -%}
    {%- do name_of.update({node.unique_id: node.resource_type ~ " " ~ node.name}) -%}
{%- endfor -%}
{%- for node in governed_nodes() -%}
    {%- set meta = governance_meta(node) -%}
    {%- set label = node.resource_type ~ " " ~ node.name -%}
    {%- set classification = meta.get('classification') -%}
    {%- do problems.extend(owner_and_classification_problems(label, meta)) -%}
    {%- if meta.get('pii') not in [true, false] -%}
        {%- do problems.append(label ~ ": meta.pii must be true or false") -%}
    {%- endif -%}
    {%- if not meta.get('update_frequency') -%}
        {%- do problems.append(label ~ ": meta.update_frequency is missing") -%}
    {%- endif -%}
    {%- set pii_columns = pii_column_names(node) -%}
    {%- if pii_columns and meta.get('pii') is not sameas true -%}
        {%- do problems.append(label ~ ": columns " ~ pii_columns | join(", ")
            ~ " are pii but the model declares pii: false") -%}
    {%- endif -%}
    {%- if pii_columns and classification == 'open' -%}
        {%- do problems.append(label ~ ": classified open but has pii columns "
            ~ pii_columns | join(", ")) -%}
    {%- endif -%}
    {%- if node.name.startswith('open_') and classification != 'open' -%}
        {%- do problems.append(label ~ ": an open_* dataset must be classified open, not "
            ~ classification) -%}
    {%- endif -%}
    {%- if node.name.startswith('open_') and not meta.get('license') -%}
        {%- do problems.append(label ~ ": an open_* dataset must declare meta.license") -%}
    {%- endif -%}
    {%- if classification in levels and meta.get('de_identifying') is not sameas true -%}
        {%- for parent in node.depends_on.nodes -%}
            {%- set parent_classification = classification_of.get(parent) -%}
            {%- if parent_classification in levels
                and levels.index(parent_classification) > levels.index(classification) -%}
                {%- do problems.append(label ~ ": classified " ~ classification ~ " but reads "
                    ~ parent_classification ~ " " ~ name_of.get(parent, parent)
                    ~ " (raise its classification or declare meta.de_identifying: true)") -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endfor -%}
{{ return(problems) }}
{% endmacro %}


{% macro governed_nodes() %}
{#- The nodes that hold data and so carry governance meta (tests and operations do not). -#}
{{ return(graph.nodes.values() | selectattr('resource_type', 'in', ['model', 'seed', 'snapshot']) | list) }}
{% endmacro %}


{% macro governance_meta(node) %}
{#- dbt >= 1.10 keeps meta under config; a top-level `meta:` still counts. -#}
{%- set meta = {} -%}
{%- do meta.update(node.get('meta') or {}) -%}
{%- do meta.update((node.get('config') or {}).get('meta') or {}) -%}
{{ return(meta) }}
{% endmacro %}


{% macro owner_and_classification_problems(label, meta) %}
{%- set owners = var('governance_owners') -%}
{%- set levels = var('governance_classifications') -%}
{%- set problems = [] -%}
{%- if not meta.get('owner') -%}
    {%- do problems.append(label ~ ": meta.owner is missing") -%}
{%- elif meta.get('owner') not in owners -%}
    {%- do problems.append(label ~ ": owner '" ~ meta.get('owner') ~ "' is not one of "
        ~ owners | join(", ")) -%}
{%- endif -%}
{%- if not meta.get('classification') -%}
    {%- do problems.append(label ~ ": meta.classification is missing") -%}
{%- elif meta.get('classification') not in levels -%}
    {%- do problems.append(label ~ ": classification '" ~ meta.get('classification')
        ~ "' is not one of " ~ levels | join(", ")) -%}
{%- endif -%}
{{ return(problems) }}
{% endmacro %}


{% macro pii_column_names(node) %}
{%- set names = [] -%}
{%- for column in node.columns.values() -%}
    {%- set column_meta = {} -%}
    {%- do column_meta.update(column.get('meta') or {}) -%}
    {%- do column_meta.update((column.get('config') or {}).get('meta') or {}) -%}
    {%- if column_meta.get('pii') is sameas true -%}
        {%- do names.append(column.name) -%}
    {%- endif -%}
{%- endfor -%}
{{ return(names) }}
{% endmacro %}
