select
    theme_id,
    label as theme_label,
    top_words,
    size as theme_size
from {{ source('themes', 'topics') }}
