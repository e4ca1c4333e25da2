-- Calls that mention each theme per ISO week, service area and team, and all calls in that
-- week, area and team: the input to `theme_weekly`, unsuppressed. Incremental by week: a build
-- recomputes the weeks that hold a stale day (`stale_days.sql`).
{{ config(materialized='incremental', pre_hook="{{ forget_stale_weeks() }}") }}

{% if is_incremental() %}
with weeks as (
    {{ stale_weeks() }}
),
{% else %}
with
{% endif %}
mentions as (
    select cast(date_trunc('week', call_date) as date) as week_start, service_area, team, theme_id
    from {{ ref('stg_call_themes') }}
    {% if is_incremental() %}
    where cast(date_trunc('week', call_date) as date) in (select week_start from weeks)
    {% endif %}
),
calls as (
    select cast(date_trunc('week', call_date) as date) as week_start, service_area, team
    from {{ ref('stg_calls') }}
    {% if is_incremental() %}
    where cast(date_trunc('week', call_date) as date) in (select week_start from weeks)
    {% endif %}
),
-- (call_id, theme_id) is call_themes' key and a call has one date, so rows are distinct calls.
counts as (
    select week_start, service_area, team, theme_id, count(*) as calls from mentions group by all
),
totals as (
    select week_start, service_area, team, count(*) as calls_all_themes from calls group by all
)
select
    counts.week_start,
    counts.service_area,
    counts.team,
    counts.theme_id,
    counts.calls,
    coalesce(totals.calls_all_themes, 0) as calls_all_themes
from counts
left join totals using (week_start, service_area, team)
