"""Where callcanon keeps things, read from the environment.

Every path has a default under one data folder so `make demo` works with no configuration,
and every one can be pointed elsewhere (another disk, a mounted share) by an env var. The
landing zone, the audio store, quarantine and redacted audio may also be object storage named
by an fsspec URL (`s3://bucket/landing`; see `assets.locations`); the warehouse and the evidence
packs stay local files. Secrets are deliberately not here: see `assets.keys`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from assets.locations import ensure_dir, location

ENV_DATA = "CALLCANON_DATA"
ENV_LANDING = "CALLCANON_LANDING"
ENV_STORE = "CALLCANON_AUDIO_STORE"
ENV_QUARANTINE = "CALLCANON_QUARANTINE"
ENV_REDACTED = "CALLCANON_REDACTED_AUDIO"
ENV_WAREHOUSE = "CALLCANON_WAREHOUSE"
ENV_EVIDENCE = "CALLCANON_EVIDENCE"
ENV_POLICY = "CALLCANON_POLICY"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path  # or a UPath: any of these four may be an fsspec URL
    store_dir: Path
    quarantine_dir: Path
    redacted_dir: Path
    warehouse_path: Path
    policy: str
    evidence_dir: Path

    @classmethod
    def from_env(cls) -> "Settings":
        data = Path(os.environ.get(ENV_DATA, "data")).resolve()
        return cls(
            data_dir=data,
            landing_dir=location(os.environ.get(ENV_LANDING, data / "landing")),
            store_dir=location(os.environ.get(ENV_STORE, data / "audio")),
            quarantine_dir=location(os.environ.get(ENV_QUARANTINE, data / "quarantine")),
            redacted_dir=location(os.environ.get(ENV_REDACTED, data / "redacted_audio")),
            warehouse_path=Path(os.environ.get(ENV_WAREHOUSE, data / "warehouse.duckdb")).resolve(),
            policy=os.environ.get(ENV_POLICY, "ombudsman"),
            evidence_dir=Path(os.environ.get(ENV_EVIDENCE, data / "evidence")).resolve(),
        )

    def export(self) -> None:
        """Publish the resolved paths as env vars, so Dagster `EnvVar`s and dbt's profile see the
        same locations as the Python code that resolved them (setdefault: explicit settings win)."""
        os.environ.setdefault(ENV_DATA, str(self.data_dir))
        os.environ.setdefault(ENV_LANDING, str(self.landing_dir))
        os.environ.setdefault(ENV_STORE, str(self.store_dir))
        os.environ.setdefault(ENV_QUARANTINE, str(self.quarantine_dir))
        os.environ.setdefault(ENV_REDACTED, str(self.redacted_dir))
        os.environ.setdefault(ENV_WAREHOUSE, str(self.warehouse_path))
        os.environ.setdefault(ENV_POLICY, self.policy)
        os.environ.setdefault(ENV_EVIDENCE, str(self.evidence_dir))
        # Models come from PyPI packages; never let a library reach for a hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # dagster-dbt starts `dbt` by name: find the one installed beside this Python even when
        # `callcanon` is run from an unactivated virtual environment.
        bindir = str(Path(sys.executable).parent)
        path = os.environ.get("PATH", "").split(os.pathsep)
        if bindir not in path:
            os.environ["PATH"] = os.pathsep.join([bindir, *path])

    def make_dirs(self) -> None:
        for d in (self.data_dir, self.landing_dir, self.store_dir, self.quarantine_dir, self.redacted_dir):
            ensure_dir(d)
        self.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
