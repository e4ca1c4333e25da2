select
    theme_id,
    label as theme_label,
    top_words,
    size as theme_size,
    coalesce(active, true) as is_active,
    coalesce(kind, 'discovered') as theme_kind,
    taxonomy_id,
    found_on
from {{ source('themes', 'topics') }}
