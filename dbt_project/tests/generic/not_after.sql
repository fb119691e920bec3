{% test not_after(model, column_name, later_column) %}
{#- Rows where this date or time comes after `later_column` (e.g. installed after decommissioned). -#}
select {{ column_name }}, {{ later_column }}
from {{ model }}
where {{ column_name }} > {{ later_column }}
{% endtest %}
