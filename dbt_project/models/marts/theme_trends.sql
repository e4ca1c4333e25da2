-- Calls per theme per day: the series analysts chart.
select
    c.call_date,
    c.theme_id,
    t.theme_label,
    count(*) as calls
from {{ ref('stg_call_themes') }} as c
inner join {{ ref('stg_themes') }} as t using (theme_id)
group by all
order by c.call_date, c.theme_id
