"""The landing zone contract: `<call_id>.<audio ext>` beside `<call_id>.json`.

Parsing is strict about what we depend on (call_id, started_at) and lenient about the rest:
unknown fields are kept, because the telephony system knows things we have not modelled yet.
A call that breaks the contract is moved, never deleted, into quarantine with its reason.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assets import locations

AUDIO_EXTENSIONS = (".wav", ".mp3", ".ogg", ".opus", ".flac", ".m4a")
# Call dates (and so partitions) follow the organisation's clock, not UTC: a call at 00:30 BST
# belongs to the day the caseworker saw.
LOCAL_TZ = ZoneInfo("Europe/London")
CALL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class Sidecar(BaseModel):
    """Metadata of one call. Documented defaults apply where a field is absent."""

    model_config = ConfigDict(extra="allow")

    call_id: str = Field(pattern=CALL_ID_PATTERN)
    started_at: datetime
    direction: Literal["inbound", "outbound"] = "inbound"
    staff_id: str | None = None
    team: str | None = None
    external_number: str | None = None
    complaint_id: str | None = None
    case_last_activity: date | None = None
    service_area: str = "unknown"
    privacy_notice_played: bool | None = None
    recording_stopped_on_request: bool = False
    channels: dict[str, Literal["staff", "caller", "unknown"]] | None = None

    @field_validator("started_at")
    @classmethod
    def _assume_utc(cls, value: datetime) -> datetime:
        # A naive timestamp is taken as UTC, the telephony export convention.
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @property
    def call_date(self) -> date:
        return self.started_at.astimezone(LOCAL_TZ).date()

    @property
    def extra_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


@dataclass(frozen=True)
class LandedCall:
    sidecar: Sidecar
    sidecar_path: Path
    audio_path: Path


@dataclass(frozen=True)
class Rejected:
    stem: str
    paths: tuple[Path, ...]
    reason: str
    detail: str


def call_date_of(started_at: datetime) -> date:
    if started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=UTC)
    return started_at.astimezone(LOCAL_TZ).date()


def _audio_for(sidecar_path: Path) -> list[Path]:
    return sorted(
        p for p in sidecar_path.parent.glob(sidecar_path.stem + ".*")
        if p.suffix.lower() in AUDIO_EXTENSIONS
    )


def _summarise(err: ValidationError) -> str:
    # Field names and error types only: the offending values may be personal data.
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'sidecar'}: {e['msg']}" for e in err.errors())


def read_landed(sidecar_path: Path) -> LandedCall | Rejected:
    stem = sidecar_path.stem
    audio = _audio_for(sidecar_path)
    paths = (sidecar_path, *audio)
    try:
        raw = json.loads(sidecar_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return Rejected(stem, paths, "bad_sidecar_json", f"sidecar is not valid JSON ({type(exc).__name__})")
    if not isinstance(raw, dict):
        return Rejected(stem, paths, "bad_sidecar_json", "sidecar is not a JSON object")
    try:
        sidecar = Sidecar.model_validate(raw)
    except ValidationError as exc:
        return Rejected(stem, paths, "bad_sidecar", _summarise(exc))
    if sidecar.call_id != stem:
        return Rejected(stem, paths, "call_id_mismatch", "sidecar call_id does not match its file name")
    if not audio:
        return Rejected(stem, paths, "missing_audio", "no audio file beside the sidecar")
    if len(audio) > 1:
        return Rejected(stem, paths, "ambiguous_audio", f"{len(audio)} audio files share the call id")
    return LandedCall(sidecar, sidecar_path, audio[0])


# Audio may land minutes before its sidecar; only after this long is a lone file an orphan.
DEFAULT_SIDECAR_GRACE_S = 600.0


def orphan_audio(landing_dir: Path, grace_s: float = DEFAULT_SIDECAR_GRACE_S) -> list[Rejected]:
    now = time.time()
    return [
        Rejected(p.stem, (p,), "missing_sidecar",
                 f"no sidecar {p.stem}.json arrived within {grace_s:.0f} s of the audio")
        for p in sorted(landing_dir.iterdir())
        if p.suffix.lower() in AUDIO_EXTENSIONS and not p.with_suffix(".json").exists()
        and now - locations.modified_at(p) >= grace_s
    ]


def scan(landing_dir: Path, grace_s: float = DEFAULT_SIDECAR_GRACE_S) -> list[LandedCall | Rejected]:
    """Every sidecar in the landing zone, parsed or rejected, and every orphaned audio file."""
    if not landing_dir.exists():
        return []
    return [read_landed(p) for p in sorted(landing_dir.glob("*.json"))] + orphan_audio(landing_dir, grace_s)


_DATE_IN_SIDECAR = re.compile(r'"started_at"\s*:\s*"([^"]+)"')


def peek_call_date(sidecar_path: Path) -> date | None:
    """Best-effort call date for routing a file to a partition (the sensor's cheap look)."""
    try:
        match = _DATE_IN_SIDECAR.search(sidecar_path.read_text(encoding="utf-8", errors="replace"))
        if match:
            return call_date_of(datetime.fromisoformat(match.group(1).replace("Z", "+00:00")))
    except (OSError, ValueError):
        pass
    return None


def move_into(paths: tuple[Path, ...] | list[Path], dest_dir: Path) -> list[Path]:
    """Move files into dest_dir, keeping names; an existing file of the same name is replaced
    only after the new one is in place (rename is atomic within a filesystem; either side may
    be object storage)."""
    locations.ensure_dir(dest_dir)
    moved = []
    for src in paths:
        if not src.exists():
            continue
        target = dest_dir / src.name
        tmp = dest_dir / (src.name + ".partial")
        locations.copy(src, tmp)
        locations.replace(tmp, target)
        src.unlink()
        moved.append(target)
    return moved
