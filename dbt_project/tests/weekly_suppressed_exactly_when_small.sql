select * from {{ ref('theme_weekly') }}
where (calls_suppressed and (calls is not null or share_of_calls is not null))
   or (not calls_suppressed and calls is null)
