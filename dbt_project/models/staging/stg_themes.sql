select
    theme_id,
    label as theme_label,
    top_words,
    size as theme_size,
    coalesce(active, true) as is_active
from {{ source('themes', 'topics') }}
