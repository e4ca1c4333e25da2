"""The landing zone contract: `<call_id>.<audio ext>` beside `<call_id>.json`.

Parsing is strict about what we depend on (call_id, started_at) and lenient about the rest:
unknown fields are kept, because the telephony system knows things we have not modelled yet.
A call that breaks the contract is moved, never deleted, into quarantine with its reason.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assets.ingest import untrusted

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
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        try:  # year 1 or 9999 overflows on the way to London time: a bad value, not a crash
            value.astimezone(LOCAL_TZ)
        except (OverflowError, ValueError):
            raise ValueError("not a date a call can have") from None
        return value

    @property
    def call_date(self) -> date:
        return self.started_at.astimezone(LOCAL_TZ).date()

    @property
    def extra_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


@dataclass(frozen=True)
class Limits:
    """What the landing zone accepts (settings CALLCANON_MAX_SIDECAR_BYTES, _MAX_AUDIO_BYTES,
    _FIRST_CALL_DATE and _FUTURE_TOLERANCE_DAYS): a call outside the dates has no partition."""

    max_sidecar_bytes: int = 64 * 1024
    max_audio_bytes: int = 1024 ** 3
    first_call_date: date | None = None
    latest_call_date: date | None = None

    @classmethod
    def today(cls, max_sidecar_bytes: int, max_audio_bytes: int, first_call_date: date | None,
              future_tolerance_days: int) -> Limits:
        """Today on the organisation's clock: a call a little ahead of it (a skewed telephony
        clock) waits for its partition; further ahead, it cannot be a real call date."""
        latest = datetime.now(LOCAL_TZ).date() + timedelta(days=future_tolerance_days)
        return cls(max_sidecar_bytes, max_audio_bytes, first_call_date, latest)

    def route(self, call_date: date | None, last_partition: date) -> date | None:
        """Which partition's run takes a sidecar: its own date; the last partition when it has no
        date a partition can take (unreadable, refused, out of range), so that run quarantines it
        with the reason; None while it waits (dated within the tolerance, ahead of the partitions)."""
        if call_date is None or self.refusal(call_date):
            return last_partition
        return call_date if call_date <= last_partition else None

    def refusal(self, call_date: date) -> str | None:
        if self.first_call_date and call_date < self.first_call_date:
            return f"dated before the first call date {self.first_call_date} (CALLCANON_FIRST_CALL_DATE)"
        if self.latest_call_date and call_date > self.latest_call_date:
            return f"dated after {self.latest_call_date} (today plus CALLCANON_FUTURE_TOLERANCE_DAYS)"
        return None


@dataclass(frozen=True)
class LandedCall:
    sidecar: Sidecar
    sidecar_entry: untrusted.Entry
    audio_entry: untrusted.Entry

    @property
    def sidecar_path(self) -> Path:
        return self.sidecar_entry.path

    @property
    def audio_path(self) -> Path:
        return self.audio_entry.path


@dataclass(frozen=True)
class Rejected:
    stem: str                      # the sender's name: used here, never logged
    paths: tuple[Path, ...]        # regular files, moved into quarantine
    reason: str
    detail: str
    call_id: str | None = None     # set once the sidecar proved the name is the call's id
    discard: tuple[untrusted.Entry, ...] = ()  # links, FIFOs, devices: removed, never read
    sidecar: Sidecar | None = None  # parsed, where the refusal came after parsing (missing_audio)

    @property
    def item(self) -> str:
        """How logs and the quarantine register name it: the call id, or a hash of the name."""
        return self.call_id or untrusted.label(self.stem)


def call_date_of(started_at: datetime) -> date:
    if started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=UTC)
    return started_at.astimezone(LOCAL_TZ).date()


def _summarise(err: ValidationError) -> str:
    # Top-level field names and error types only: the offending values, and the keys inside a
    # field (a sender's dict may be keyed by a number), may be personal data.
    return "; ".join(f"{e['loc'][0] if e['loc'] else 'sidecar'}: {e['msg']}" for e in err.errors())


def _split(group: list[untrusted.Entry]) -> tuple[tuple[Path, ...], tuple[untrusted.Entry, ...]]:
    """(our regular files, to move into quarantine; links, FIFOs and devices, to remove). Another
    account's files are in neither: not ours to move or delete, they stay where they were put."""
    return (tuple(e.path for e in group if e.regular and e.owned),
            tuple(e for e in group if not e.regular))


def read_landed(sidecar: untrusted.Entry, audio: list[untrusted.Entry], limits: Limits) -> LandedCall | Rejected:
    stem = Path(sidecar.name).stem
    group = [sidecar, *audio]
    paths, odd = _split(group)

    def reject(reason: str, detail: str, call_id: str | None = None, parsed: Sidecar | None = None) -> Rejected:
        return Rejected(stem, paths, reason, detail, call_id, odd, parsed)

    for entry in group:
        refused = entry.problem(limits.max_sidecar_bytes if entry is sidecar else limits.max_audio_bytes)
        if refused:
            what = "sidecar" if entry is sidecar else "audio"
            reason = f"{what}_too_large" if refused.reason == "too_large" else refused.reason
            return reject(reason, f"{what}: {refused.detail}")
    try:
        raw = untrusted.parse_json(untrusted.read_bounded(sidecar, limits.max_sidecar_bytes))
    except untrusted.Refused as exc:
        return reject("sidecar_too_large" if exc.reason == "too_large" else exc.reason, exc.detail)
    if not isinstance(raw, dict):
        return reject("bad_sidecar_json", "sidecar is not a JSON object")
    try:
        parsed = Sidecar.model_validate(raw)
    except ValidationError as exc:
        return reject("bad_sidecar", _summarise(exc))
    if parsed.call_id != stem:
        return reject("call_id_mismatch", "sidecar call_id does not match its file name")
    out_of_range = limits.refusal(parsed.call_date)
    if out_of_range:
        return reject("date_out_of_range", out_of_range, stem)
    if not audio:
        return reject("missing_audio", "no audio file beside the sidecar", stem, parsed)
    if len(audio) > 1:
        return reject("ambiguous_audio", f"{len(audio)} audio files share the call id", stem)
    return LandedCall(parsed, sidecar, audio[0])


def _read_or_refuse(sidecar: untrusted.Entry, audio: list[untrusted.Entry], limits: Limits) -> LandedCall | Rejected:
    """One sidecar's verdict; whatever goes wrong reading it is its own refusal, never the run's."""
    try:
        return read_landed(sidecar, audio, limits)
    except Exception as exc:  # noqa: BLE001 - named by type only: the message may hold the name
        paths, odd = _split([sidecar, *audio])
        return Rejected(Path(sidecar.name).stem, paths, "unreadable", f"could not be read ({type(exc).__name__})",
                        None, odd)


# Audio may land minutes before its sidecar; only after this long is a lone file an orphan.
DEFAULT_SIDECAR_GRACE_S = 600.0


def _is_audio(name: str) -> bool:
    return Path(name).suffix.lower() in AUDIO_EXTENSIONS


def scan(landing_dir: Path, grace_s: float = DEFAULT_SIDECAR_GRACE_S,
         limits: Limits = Limits()) -> list[LandedCall | Rejected]:
    """Every sidecar in the landing zone, parsed or rejected, and every orphaned audio file.
    Nothing here follows a link or opens anything but a regular file (`assets.ingest.untrusted`)."""
    listing = untrusted.entries(landing_dir)
    audio: dict[str, list[untrusted.Entry]] = {}
    for entry in listing:
        if _is_audio(entry.name):
            audio.setdefault(Path(entry.name).stem, []).append(entry)
    found: list[LandedCall | Rejected] = []
    sidecar_stems = set()
    for entry in listing:
        if Path(entry.name).suffix == ".json":
            stem = Path(entry.name).stem
            sidecar_stems.add(stem)
            found.append(_read_or_refuse(entry, audio.get(stem, []), limits))
    now = time.time()
    for stem, orphans in sorted(audio.items()):
        if stem in sidecar_stems:
            continue
        paths, odd = _split(orphans)
        if odd:
            found.append(Rejected(stem, paths, "not_a_regular_file",
                                  f"audio: {odd[0].kind}, not a regular file: not opened, not copied", None, odd))
        elif not all(e.owned for e in orphans):
            found.append(Rejected(stem, paths, "not_owned", "audio: a file owned by another account: not read"))
        elif all(now - e.mtime >= grace_s for e in orphans):
            found.append(Rejected(stem, paths, "missing_sidecar",
                                  f"no sidecar arrived within {grace_s:.0f} s of the audio"))
    return found


_DATE_IN_SIDECAR = re.compile(r'"started_at"\s*:\s*"([^"]+)"')


def peek_call_date(entry: untrusted.Entry, limit: int = Limits.max_sidecar_bytes) -> date | None:
    """Best-effort call date for routing a sidecar to a partition (the sensor's cheap look);
    None for anything the landing rules would not read."""
    try:
        match = _DATE_IN_SIDECAR.search(untrusted.read_bounded(entry, limit).decode("utf-8", "replace"))
        if match:
            return call_date_of(datetime.fromisoformat(match.group(1).replace("Z", "+00:00")))
    except (OSError, ValueError, ArithmeticError):  # untrusted.Refused is a ValueError; year 1 overflows
        pass
    return None


def sidecars(landing_dir) -> list[untrusted.Entry]:
    return [e for e in untrusted.entries(landing_dir) if Path(e.name).suffix == ".json"]
