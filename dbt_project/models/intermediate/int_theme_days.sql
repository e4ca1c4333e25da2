-- Every theme on every day from the first to the last call date (zero days included, so a
-- baseline is not inflated by the days nobody called): calls that mention the theme that day,
-- over the trailing 7 days, all calls that day, and the theme's trailing baseline.
-- Unsuppressed: this is the input to the marts, not something analysts read.
with mentions as (
    select call_date, theme_id, call_id from {{ ref('stg_call_themes') }}
),
calls as (
    select call_date, call_id from {{ ref('stg_calls') }}
),
days as (
    select cast(unnest(generate_series(min(call_date), max(call_date), interval 1 day)) as date) as call_date
    from (select call_date from calls union all select call_date from mentions)
),
spine as (
    select days.call_date, themes.theme_id
    from days cross join (select distinct theme_id from mentions) as themes
),
counts as (
    select call_date, theme_id, count(distinct call_id) as calls from mentions group by all
),
totals as (
    select call_date, count(distinct call_id) as calls_all_themes from calls group by all
),
daily as (
    select
        spine.call_date,
        spine.theme_id,
        coalesce(counts.calls, 0) as calls,
        coalesce(totals.calls_all_themes, 0) as calls_all_themes
    from spine
    left join counts using (call_date, theme_id)
    left join totals using (call_date)
)
select
    daily.call_date,
    daily.theme_id,
    daily.calls,
    daily.calls_all_themes,
    -- A call mentions a theme on its one date, so the calls of the 7 days ending on this one
    -- are the sum of their daily counts (the spine has every day).
    sum(daily.calls) over trailing_week as calls_7d,
    avg(daily.calls) over prior_days as baseline_mean,
    stddev_pop(daily.calls) over prior_days as baseline_sd,
    count(*) over prior_days as baseline_days
from daily
window trailing_week as (
    partition by daily.theme_id order by daily.call_date rows between 6 preceding and current row
),
prior_days as (
    partition by daily.theme_id order by daily.call_date
    rows between {{ var('spike_baseline_days', 28) }} preceding and 1 preceding
)
