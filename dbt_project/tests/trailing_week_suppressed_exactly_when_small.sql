-- The trailing 7-day count is suppressed like the daily one: flag and NULL agree.
select * from {{ ref('theme_trends') }}
where (calls_7d_suppressed and calls_7d is not null)
   or (not calls_7d_suppressed and calls_7d is null)
