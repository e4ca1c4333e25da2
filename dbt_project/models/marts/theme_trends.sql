-- Calls that mention each theme per day: the series analysts chart, with small counts
-- suppressed and a spike flag; plus the trailing 7-day count, which is publishable at a few
-- calls a day when the daily count almost never is (rounded to 5: see `published_rounded`). A day is a spike when its count is
-- publishable, at least double the theme's mean over the previous 28 days, and at least 3
-- standard deviations (taken as at least 1) above it, with at least 14 days of history to judge by.
select
    d.call_date,
    d.theme_id,
    t.theme_label,
    {{ published('d.calls') }} as calls,
    {{ is_suppressed('d.calls') }} as calls_suppressed,
    case when {{ is_suppressed('d.calls') }} or d.calls_all_themes = 0 then null
         else round(d.calls / d.calls_all_themes, 3) end as share_of_calls,
    round(d.baseline_mean, 2) as baseline_mean,
    coalesce(
        not {{ is_suppressed('d.calls') }}
        and d.calls >= {{ suppress_below() }}
        and d.baseline_days >= {{ var('spike_min_history_days', 14) }}
        and d.calls >= 2 * d.baseline_mean
        and d.calls >= d.baseline_mean + 3 * greatest(d.baseline_sd, 1),
        false) as is_spike,
    {{ published_rounded('d.calls_7d') }} as calls_7d,
    {{ is_suppressed('d.calls_7d') }} as calls_7d_suppressed,
    t.theme_kind
from {{ ref('int_theme_days') }} as d
inner join {{ ref('stg_themes') }} as t using (theme_id)
order by d.call_date, d.theme_id
