{# Published counts of 1 to threshold-1 are suppressed (NULL plus a flag), as NHS statistics do:
   a small count about a few calls on one day can point at the people who made them.
   The threshold is the policy profile's `suppress_below`, which the pipeline hands to dbt as
   CALLCANON_SUPPRESS_BELOW (the same one `callcanon search` applies); never below 8, the NHS
   floor, whatever a hand-run `dbt build` is given. #}
{% macro suppress_below() -%}
    {{ [env_var('CALLCANON_SUPPRESS_BELOW', '8') | int, 8] | max }}
{%- endmacro %}

{% macro is_suppressed(count) -%}
    ({{ count }} between 1 and {{ suppress_below() }} - 1)
{%- endmacro %}

{% macro published(count) -%}
    case when {{ is_suppressed(count) }} then null else {{ count }} end
{%- endmacro %}

{# A trailing count overlaps the one before it, so the difference of two consecutive published
   7-day counts is a day's count minus the count a week earlier: a zero a week earlier would give
   a suppressed day away. Published trailing counts are therefore rounded to the nearest 5 (as
   NHS statistics also do), besides being suppressed below the threshold. #}
{% macro published_rounded(count) -%}
    case when {{ is_suppressed(count) }} then null else cast(round({{ count }} / 5.0) * 5 as integer) end
{%- endmacro %}
