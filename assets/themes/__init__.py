"""Themes: BERTopic fitted on the canon's caller text, a registry that keeps theme ids stable,
assignment of new calls, and phrase search for analysts (`search`)."""

from assets.themes.model import (  # noqa: F401 - the stage's public face
    CanonNotClean,
    assign,
    assign_dates,
    embed,
    embedding_model,
    fit,
    has_registered_themes,
    refit,
    strip_script,
)
