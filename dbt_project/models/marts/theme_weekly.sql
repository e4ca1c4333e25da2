-- Calls that mention each theme per ISO week, service area and team, small counts suppressed:
-- where a theme is coming from. Share is of all calls that week in the same area and team.
with mentions as (
    select cast(date_trunc('week', call_date) as date) as week_start, service_area, team, theme_id, call_id
    from {{ ref('stg_call_themes') }}
),
counts as (
    select week_start, service_area, team, theme_id, count(distinct call_id) as calls from mentions group by all
),
totals as (
    select cast(date_trunc('week', call_date) as date) as week_start, service_area, team,
           count(distinct call_id) as calls_all_themes
    from {{ ref('stg_calls') }}
    group by all
)
select
    c.week_start,
    isoyear(c.week_start) as iso_year,
    week(c.week_start) as iso_week,
    c.service_area,
    c.team,
    c.theme_id,
    t.theme_label,
    {{ published('c.calls') }} as calls,
    {{ is_suppressed('c.calls') }} as calls_suppressed,
    case when {{ is_suppressed('c.calls') }} or coalesce(totals.calls_all_themes, 0) = 0 then null
         else round(c.calls / totals.calls_all_themes, 3) end as share_of_calls
from counts as c
left join totals using (week_start, service_area, team)
inner join {{ ref('stg_themes') }} as t using (theme_id)
order by c.week_start, c.service_area, c.team, c.theme_id
