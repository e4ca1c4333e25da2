"""Themes: BERTopic fitted on the canon's caller text (`model`), the registry that keeps theme
ids stable and assigns new calls (`registry`), and phrase search for analysts (`search`)."""

from assets.themes.model import assign, embed, embedding_model, fit, strip_script  # noqa: F401
from assets.themes.registry import CanonNotClean, assign_dates, has_registered_themes, refit  # noqa: F401
