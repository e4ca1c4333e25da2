"""Policy profiles: retention and consent rules as validated YAML, one file per organisation.

A typo in a policy must stop the pipeline with a clear message rather than silently keep (or
delete) data for the wrong period, so unknown keys are errors here, unlike in sidecars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PROFILES_DIR = Path(__file__).parent / "policies"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetentionRule(_Strict):
    anchor: Literal["call", "case_last_activity"]
    audio_days: int = Field(gt=0)
    transcript_days: int = Field(gt=0)


class Retention(_Strict):
    linked: RetentionRule
    unlinked: RetentionRule


class Policy(_Strict):
    name: str
    callers_may_stop_recording: bool
    retention: Retention


class PolicyError(ValueError):
    pass


def load_policy(name_or_path: str) -> Policy:
    """A shipped profile by name (`ombudsman`, `gp_practice`) or a YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILES_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        shipped = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
        raise PolicyError(f"no policy '{name_or_path}' (shipped profiles: {shipped})")
    try:
        return Policy.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValidationError) as exc:
        raise PolicyError(f"invalid policy file {path}: {exc}") from exc
