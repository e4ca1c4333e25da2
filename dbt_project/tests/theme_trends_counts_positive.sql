select * from {{ ref('theme_trends') }} where calls < 1
