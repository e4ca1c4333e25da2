-- Every call in the canon, themed or not: what a theme's share of the day is a share of.
select
    call_id,
    call_date,
    coalesce(service_area, 'unknown') as service_area,
    coalesce(team, 'unknown') as team
from {{ source('canon', 'transcripts') }}
