{# Incremental builds (assets/warehouse/marts_queue.py): the pipeline marks each call date whose
   calls or theme assignments changed. A changed day changes its own row and the rows of the
   days whose trailing windows read it (the 7-day count and the spike baseline), so the days an
   incremental build recomputes are, each with the `window_days()` after it: every stale day;
   the first call date (where the series starts decides the windows of the days after it, so a
   retention sweep of the oldest day moves them); and every day the table has no row for yet (a
   day nobody called, after a gap; days before a backfill). A change to `spike_baseline_days`
   needs `dbt build --full-refresh`. #}
{% macro window_days() -%}
    {{ [var('spike_baseline_days', 28) | int, 6] | max }}
{%- endmacro %}

{% macro stale_targets(days) -%}
    select distinct cast(unnest(generate_series(call_date, call_date + interval {{ window_days() }} day,
                                                interval 1 day)) as date) as call_date
    from (
        select call_date from {{ source('marts_queue', 'stale_days') }}
        union all
        select min(call_date) from {{ days }}
        union all
        select call_date from {{ days }} where call_date not in (select call_date from {{ this }})
    )
    where call_date is not null
{%- endmacro %}

{% macro stale_weeks() -%}
    select distinct cast(date_trunc('week', call_date) as date) as week_start
    from {{ source('marts_queue', 'stale_days') }}
{%- endmacro %}

{# Before an incremental build of the days replaces the rows it recomputes (delete+insert on the
   day and theme): remove the rows no recomputation produces, the days before the first call
   left and after the last (retention took them) and themes no call mentions any more (merged
   into another at a refit). #}
{% macro forget_gone_days() -%}
    {% if is_incremental() %}
    delete from {{ this }}
    where call_date < coalesce((select min(call_date) from {{ ref('stg_calls') }}), date '9999-12-31')
       or call_date > coalesce((select max(call_date) from {{ ref('stg_calls') }}), date '0001-01-01')
       or theme_id not in (select distinct theme_id from {{ ref('stg_call_themes') }})
    {% endif %}
{%- endmacro %}

{# Weeks are recomputed whole (a service area and team whose count fell to zero has no row to
   replace it), so the stale weeks go first. #}
{% macro forget_stale_weeks() -%}
    {% if is_incremental() %}
    delete from {{ this }}
    where week_start in ({{ stale_weeks() }})
       or theme_id not in (select distinct theme_id from {{ ref('stg_call_themes') }})
    {% endif %}
{%- endmacro %}
