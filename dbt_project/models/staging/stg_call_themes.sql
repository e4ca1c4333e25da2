-- One row per call and theme it mentions (a call that mentions three things is in three rows).
select
    call_id,
    theme_id,
    statements,
    call_date,
    coalesce(service_area, 'unknown') as service_area,
    coalesce(team, 'unknown') as team
from {{ source('themes', 'call_themes') }}
