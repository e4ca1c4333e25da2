select call_date, theme_id, count(*) as n
from {{ ref('theme_trends') }}
group by all
having count(*) > 1
