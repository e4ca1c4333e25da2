-- Suppression hides counts, it does not lose calls: the unsuppressed day counts add up to the
-- assignments.
select 1
from (select count(*) as n from {{ ref('stg_call_themes') }}) as assigned,
     (select coalesce(sum(calls), 0) as n from {{ ref('int_theme_days') }}) as counted
where assigned.n != counted.n
