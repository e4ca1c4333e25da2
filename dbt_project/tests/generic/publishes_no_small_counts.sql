{% test publishes_no_small_counts(model, column_name) %}
-- A published count must be 0, NULL (suppressed) or at least the threshold.
select * from {{ model }} where {{ column_name }} between 1 and {{ suppress_below() }} - 1
{% endtest %}
