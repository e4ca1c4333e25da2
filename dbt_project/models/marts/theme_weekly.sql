-- Calls that mention each theme per ISO week, service area and team, small counts suppressed:
-- where a theme is coming from. Share is of all calls that week in the same area and team.
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
    case when {{ is_suppressed('c.calls') }} or c.calls_all_themes = 0 then null
         else round(c.calls / c.calls_all_themes, 3) end as share_of_calls
from {{ ref('int_theme_weeks') }} as c
inner join {{ ref('stg_themes') }} as t using (theme_id)
order by c.week_start, c.service_area, c.team, c.theme_id
