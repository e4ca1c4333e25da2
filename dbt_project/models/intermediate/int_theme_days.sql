-- Every theme on every day from the first to the last call date (zero days included, so a
-- baseline is not inflated by the days nobody called): calls that mention the theme that day,
-- over the trailing 7 days, all calls that day, and the theme's trailing baseline.
-- Unsuppressed: this is the input to the marts, not something analysts read.
--
-- Incremental by call date: a build recomputes only the stale days (`stale_days.sql`) from the
-- days their windows read, and a theme it has never seen on every day (so a new theme has its
-- zero history, and its first spike is judged against it); the rows it recomputes replace
-- theirs. A full build (`--full-refresh`, or a new warehouse) computes every day.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['call_date', 'theme_id'],
          pre_hook="{{ forget_gone_days() }}") }}

with mentions as (
    select call_date, theme_id from {{ ref('stg_call_themes') }}
),
calls as (
    select call_date from {{ ref('stg_calls') }}
),
themes as (
    select distinct theme_id from mentions
),
days as (
    select cast(unnest(generate_series(min(call_date), max(call_date), interval 1 day)) as date) as call_date
    from (select call_date from calls union all select call_date from mentions)
),
{% if is_incremental() %}
targets as (
    {{ stale_targets('days') }}
),
new_themes as (
    select theme_id from themes where theme_id not in (select theme_id from {{ this }})
),
reads as (  -- the target days and the days their windows read
    select distinct cast(unnest(generate_series(call_date - interval {{ window_days() }} day, call_date,
                                                interval 1 day)) as date) as call_date
    from targets
),
spine as (
    select days.call_date, themes.theme_id from days semi join reads using (call_date) cross join themes
    union
    select days.call_date, new_themes.theme_id from days cross join new_themes
),
{% else %}
spine as (
    select days.call_date, themes.theme_id from days cross join themes
),
{% endif %}
-- (call_id, theme_id) is call_themes' key and a call has one date, so rows are distinct calls.
counts as (
    select call_date, theme_id, count(*) as calls from mentions
    {% if is_incremental() %}
    where call_date in (select call_date from reads) or theme_id in (select theme_id from new_themes)
    {% endif %}
    group by all
),
totals as (
    select call_date, count(*) as calls_all_themes from calls
    {% if is_incremental() %}
    where call_date in (select call_date from reads) or exists (select 1 from new_themes)
    {% endif %}
    group by all
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
),
windowed as (
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
)
select * from windowed
{% if is_incremental() %}
where call_date in (select call_date from targets) or theme_id in (select theme_id from new_themes)
{% endif %}
