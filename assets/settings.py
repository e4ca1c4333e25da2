"""Every `CALLCANON_*` setting, read in this one module and validated once.

Values come from the environment, or from a `.env` file in the working directory (the
environment wins). A bad value stops with one line naming the variable, before anything runs.
Every path has a default under one data folder so `make demo` works with no configuration; the
landing zone, the audio store, quarantine and redacted audio may also be object storage named by
an fsspec URL (`s3://bucket/landing`; see `assets.locations`). The keys are read here too, so
that no other module reads the environment, but they never leave as text: `SecretStr` hides them
from reprs and logs, and only `assets.keys` asks for their value.

Settings are read when they are used (a run, a CLI command, Dagster loading its definitions), never
when a module is imported; the one exception is the first call date, because Dagster needs the
partition set when an asset is declared.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assets.locations import ensure_dir, location

PREFIX = "CALLCANON_"
DEFAULT_COMPLAINT_REF = r"\b[Cc]-?\s?\d{4,8}\b"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", frozen=True)

    # Where things live.
    data: Path = Path("data")
    landing: str | None = None          # default <data>/landing; or an fsspec URL
    audio_store: str | None = None      # default <data>/audio
    quarantine: str | None = None       # default <data>/quarantine
    redacted_audio: str | None = None   # default <data>/redacted_audio
    staging: str | None = None          # default <data>/staging: workers' results before loading
    warehouse: Path | None = None       # default <data>/warehouse.duckdb (local only)
    analytics: Path | None = None       # default <data>/analytics.duckdb: the copy analysts open
    analytics_group: str | None = None  # a group that may read the analytics copy (default: owner only)
    evidence: Path | None = None        # default <data>/evidence
    audit_head: Path | None = None      # default beside the warehouse: audit_head.json
    audit_witness: Path | None = None   # default <data>/audit_witness: signed heads, appended only
    models: Path | None = None          # default $XDG_CACHE_HOME/callcanon/models

    # Policy and schedules.
    policy: str = "ombudsman"
    first_call_date: date = date(2026, 1, 1)  # the first daily partition; a call before it is refused
    evidence_cron: str = "0 7 1 4 *"
    sidecar_grace_s: float = Field(600, ge=0)
    max_sidecar_bytes: int = Field(64 * 1024, ge=1024)      # a larger sidecar is quarantined
    max_audio_bytes: int = Field(1024 ** 3, ge=1024)        # a larger recording is quarantined
    future_tolerance_days: int = Field(1, ge=0)  # a call dated later than today+this is quarantined
    complaint_ref: str = DEFAULT_COMPLAINT_REF
    # Other reference formats to tokenise (hospital, PALS, case numbers), as a JSON list of
    # regular expressions; "letters then five digits or more" is always on.
    reference_patterns: list[str] = Field(default_factory=list)
    # The themes analysts name (YAML, assets/themes/taxonomy.py); default: the policy's shipped file.
    theme_taxonomy: Path | None = None

    # Where steps run: "multiprocess" (Dagster's default, one machine), "k8s" (a Kubernetes Job per
    # step, dagster-k8s) or "celery" (dagster-celery:
    # steps on Celery workers; broker and result backend from CALLCANON_CELERY_BROKER and
    # CALLCANON_CELERY_BACKEND at run time, never in the run's config). deploy/README.md.
    executor: Literal["multiprocess", "celery", "k8s"] = "multiprocess"
    worker_name: str | None = None  # what a worker's steps record as `worker` (e.g. the pod's name)
    k8s_executor_config: Path | None = None  # for "k8s": dagster-k8s executor settings (deploy/k8s/executor.yaml)

    # Transcription: None keeps `WhisperConfig`'s measured default.
    whisper_model: str | None = None
    whisper_device: str | None = None
    whisper_batch_size: int | None = Field(None, ge=1)
    whisper_mono_batch_size: int | None = Field(None, ge=1)
    whisper_chunk_s: int | None = Field(None, ge=1)
    whisper_two_channel_chunk_s: int | None = Field(None, ge=1)
    whisper_workers: int | None = Field(None, ge=0)  # calls at once, one core each; 0: one per usable core
    diarize_mono: bool | None = None  # false: mono calls keep one unknown speaker
    max_call_minutes: float | None = Field(None, gt=0)

    # The portal (`callcanon portal`): sign-in by the organisation's OpenID Connect provider when an
    # issuer is set (Entra ID, NHS CIS2), local accounts otherwise (or as well, with portal_local_accounts).
    portal_url: str | None = None        # as users reach it, behind the TLS proxy (the OIDC redirect base)
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_client_secret_file: Path | None = None  # owner-readable only, outside the repository
    oidc_scopes: str = "openid profile email"
    portal_local_accounts: bool | None = None    # default: on unless an issuer is set
    portal_idle_minutes: int = Field(15, ge=1, le=120)      # a session unused this long ends
    portal_absolute_hours: int = Field(8, ge=1, le=24)      # and none lasts longer than this
    portal_secure_cookies: bool = True   # off only for plain http on a development machine

    # Secrets: a hex key in the variable, or a file named by the *_FILE variable (see assets.keys).
    pseudonym_key: SecretStr | None = None
    key_file: Path | None = None
    audio_key: SecretStr | None = None
    audio_key_file: Path | None = None
    audit_signing_key: SecretStr | None = None  # Ed25519 seed (hex) signing the audit chain's heads
    audit_signing_key_file: Path | None = None
    # The audit chain's HMAC key, saved at the first pseudonym-key rotation (until then it is
    # derived from the pseudonym key): the chain keeps one key through rotations.
    audit_chain_key: SecretStr | None = None
    audit_chain_key_file: Path | None = None

    @field_validator("complaint_ref", "reference_patterns")
    @classmethod
    def _a_regex(cls, value: str | list[str]) -> str | list[str]:
        for pattern in [value] if isinstance(value, str) else value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression ({pattern!r}): {exc}") from exc
        return value

    @classmethod
    def from_env(cls) -> Settings:
        """Read and validate; a bad value is one `SettingsError` naming the variable. Settings
        are asked for often (every audit record, every stage), so one reading is kept per
        distinct set of CALLCANON_* variables, working directory and `.env` file: a change to
        any of them is a new reading."""
        return _read(cls, _fingerprint())

    # Resolved locations (relative paths are taken from the working directory).
    @property
    def data_dir(self) -> Path:
        return self.data.resolve()

    @property
    def landing_dir(self):
        return location(self.landing or self.data_dir / "landing")

    @property
    def store_dir(self):
        return location(self.audio_store or self.data_dir / "audio")

    @property
    def quarantine_dir(self):
        return location(self.quarantine or self.data_dir / "quarantine")

    @property
    def redacted_dir(self):
        return location(self.redacted_audio or self.data_dir / "redacted_audio")

    @property
    def staging_dir(self):
        return location(self.staging or self.data_dir / "staging")

    @property
    def warehouse_path(self) -> Path:
        return (self.warehouse or self.data_dir / "warehouse.duckdb").resolve()

    @property
    def analytics_path(self) -> Path:
        return (self.analytics or self.data_dir / "analytics.duckdb").resolve()

    @property
    def evidence_dir(self) -> Path:
        return (self.evidence or self.data_dir / "evidence").resolve()

    @property
    def audit_head_path(self) -> Path:
        """Outside the warehouse file, so cutting records off the chain's end shows."""
        return self.audit_head or self.warehouse_path.parent / "audit_head.json"

    @property
    def audit_witness_dir(self) -> Path:
        """Where every signed chain head is appended; production points it at a location the
        pipeline can append to but not rewrite (docs/access.md)."""
        return (self.audit_witness or self.data_dir / "audit_witness").resolve()

    @property
    def models_dir(self) -> Path:
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        return self.models or cache / "callcanon" / "models"

    def export_for_dbt(self) -> None:
        """dbt is a separate process that reads its profile and the suppression threshold from
        the environment: write exactly those (resolved; the threshold from the policy profile,
        overwriting whatever the environment said), and nothing else of ours. Models come
        from PyPI packages, so no library may reach for a hub; and dagster-dbt starts `dbt` by
        name, so the one installed beside this Python is found from an unactivated venv."""
        os.environ[f"{PREFIX}WAREHOUSE"] = str(self.warehouse_path)
        from assets.policy import load_policy

        os.environ[f"{PREFIX}SUPPRESS_BELOW"] = str(load_policy(self.policy).suppress_below)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        bindir = str(Path(sys.executable).parent)
        path = os.environ.get("PATH", "").split(os.pathsep)
        if bindir not in path:
            os.environ["PATH"] = os.pathsep.join([bindir, *path])

    def make_dirs(self) -> None:
        """The data folders, owner-only (0700), and the warehouse file 0600 if it exists: a
        deployment from before 0.7 made them world-readable."""
        owner_only_files()
        for d in (self.data_dir, self.landing_dir, self.store_dir, self.quarantine_dir, self.redacted_dir,
                  self.staging_dir):
            ensure_dir(d)
            if isinstance(d, Path) and d.owner() == _me():
                d.chmod(0o700)
        self.open_analytics_folder()  # after: the data folder may be the copy's
        self.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        if self.warehouse_path.exists() and self.warehouse_path.owner() == _me():
            self.warehouse_path.chmod(0o600)

    def open_analytics_folder(self) -> None:
        """With an analysts' group, its members must reach the copy's folder (group search only:
        `assets.warehouse.analytics.open_folder`); checked here, at start, and at every publish."""
        if not self.analytics_group:
            return
        from assets.warehouse import analytics

        try:
            analytics.open_folder(self.analytics_path.parent, analytics.group_id(self.analytics_group))
        except (analytics.PublishError, PermissionError) as exc:
            raise SettingsError(f"bad setting: {PREFIX}ANALYTICS_GROUP: {exc}") from None


def _fingerprint() -> tuple:
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(PREFIX)))
    try:
        found = os.stat(".env")
        dot_env = (found.st_mtime_ns, found.st_size, found.st_ino)
    except OSError:
        dot_env = None
    return env, os.getcwd(), dot_env


@lru_cache(maxsize=32)
def _read(cls: type[Settings], fingerprint: tuple) -> Settings:
    try:
        return cls()
    except ValidationError as exc:  # not cached: the next call reads again
        problems = "; ".join(f"{PREFIX}{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"bad setting: {problems}") from None


def owner_only_files() -> None:
    """Everything this process creates is its owner's alone (files 0600, folders 0700): the
    warehouse, audio, quarantine, releases, logs. Called by the CLI and the code location."""
    os.umask(0o077)


def _me() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name
