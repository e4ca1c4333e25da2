select
    call_id,
    theme_id,
    call_date,
    coalesce(service_area, 'unknown') as service_area,
    coalesce(team, 'unknown') as team
from {{ source('themes', 'call_themes') }}
