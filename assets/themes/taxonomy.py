"""The theme taxonomy: the themes analysts name, one validated YAML file per policy profile.

A theme an analyst named must keep its name and id for as long as it is charted, so the names
come from a file the organisation owns (`policies/themes/<profile>.yaml`, or the file
`CALLCANON_THEME_TAXONOMY` names), not from whatever words a refit happens to rank first. A typo,
a duplicate id or a theme without seeds would silently give a theme nothing to match, so each is
an error at start, naming the file and the theme.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SHIPPED = Path(__file__).resolve().parent.parent / "policies" / "themes"


class TaxonomyError(ValueError):
    pass


class TaxonomyTheme(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,48}$")  # a slug: it is charted and joined on
    name: str = Field(min_length=3, max_length=80)
    seeds: tuple[str, ...] = Field(min_length=1)

    @field_validator("seeds")
    @classmethod
    def _phrases(cls, seeds: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(s.strip() for s in seeds)
        if any(len(s.split()) < 2 for s in cleaned):
            raise ValueError("every seed is a phrase of two words or more")
        return cleaned


class Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    themes: tuple[TaxonomyTheme, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self):
        for what in ("id", "name"):
            seen = [getattr(t, what) for t in self.themes]
            if dup := sorted({v for v in seen if seen.count(v) > 1}):
                raise ValueError(f"duplicate theme {what}: {', '.join(dup)}")
        return self

    def by_id(self) -> dict[str, TaxonomyTheme]:
        return {t.id: t for t in self.themes}


def taxonomy_path(policy: str, override: str | Path | None = None) -> Path:
    """The file for a policy profile: the override when set, else the shipped file named after
    the profile (`ombudsman`, `gp_practice`, or the stem of a policy file given by path)."""
    if override:
        return Path(override)
    return SHIPPED / f"{Path(policy).stem}.yaml"


@lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> Taxonomy:
    try:
        return Taxonomy.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValidationError) as exc:
        raise TaxonomyError(f"invalid theme taxonomy {path}: {exc}") from exc


def load_taxonomy(policy: str, override: str | Path | None = None) -> Taxonomy:
    path = taxonomy_path(policy, override)
    if not path.exists():
        shipped = ", ".join(sorted(p.stem for p in SHIPPED.glob("*.yaml")))
        raise TaxonomyError(f"no theme taxonomy at {path} (shipped for: {shipped}); "
                            "set CALLCANON_THEME_TAXONOMY to the organisation's file")
    return _load(path.resolve(), path.stat().st_mtime_ns)
