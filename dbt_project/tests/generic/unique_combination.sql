{% test unique_combination(model, columns) %}
{#- Key combinations that occur more than once: a grain the model promises but does not keep. -#}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
