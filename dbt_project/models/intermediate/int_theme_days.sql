-- Every theme on every day from the first to the last call date (zero days included, so a
-- baseline is not inflated by the days nobody called), with the theme's trailing baseline.
-- Unsuppressed: this is the input to the marts, not something analysts read.
with calls as (
    select call_date, theme_id from {{ ref('stg_call_themes') }}
),
days as (
    select cast(unnest(generate_series(min(call_date), max(call_date), interval 1 day)) as date) as call_date
    from calls
),
spine as (
    select days.call_date, themes.theme_id
    from days cross join (select distinct theme_id from calls) as themes
),
counts as (
    select call_date, theme_id, count(*) as calls from calls group by all
),
totals as (
    select call_date, count(*) as calls_all_themes from calls group by all
)
select
    spine.call_date,
    spine.theme_id,
    coalesce(counts.calls, 0) as calls,
    coalesce(totals.calls_all_themes, 0) as calls_all_themes,
    avg(coalesce(counts.calls, 0)) over prior_days as baseline_mean,
    stddev_pop(coalesce(counts.calls, 0)) over prior_days as baseline_sd,
    count(*) over prior_days as baseline_days
from spine
left join counts using (call_date, theme_id)
left join totals using (call_date)
window prior_days as (
    partition by spine.theme_id order by spine.call_date
    rows between {{ var('spike_baseline_days', 28) }} preceding and 1 preceding
)
