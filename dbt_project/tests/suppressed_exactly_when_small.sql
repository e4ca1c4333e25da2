-- The flag and the NULL agree, and a suppressed count never leaks through its share or spike.
select * from {{ ref('theme_trends') }}
where (calls_suppressed and (calls is not null or share_of_calls is not null or is_spike))
   or (not calls_suppressed and calls is null)
