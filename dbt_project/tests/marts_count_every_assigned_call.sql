-- Suppression hides counts, it does not lose calls: the unsuppressed day counts add up to the
-- call-theme mentions, and no day counts more calls for a theme than were made that day.
select 1
from (select count(*) as n from {{ ref('stg_call_themes') }}) as assigned,
     (select coalesce(sum(calls), 0) as n from {{ ref('int_theme_days') }}) as counted
where assigned.n != counted.n
union all
select 1 from {{ ref('int_theme_days') }} where calls > calls_all_themes or calls_7d < calls
union all
select 1
from (select count(*) as n from {{ ref('stg_call_themes') }}) as assigned,
     (select coalesce(sum(calls), 0) as n from {{ ref('int_theme_weeks') }}) as counted
where assigned.n != counted.n
