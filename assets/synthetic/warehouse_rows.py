"""Calls written straight into the warehouse and the stores, every data class present, without
speech or Whisper: for retention tests and benchmarks at a scale transcription cannot reach.

The rows have the shape the real stages write; the text is a marker, so a test can look for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from assets import warehouse
from assets.ingest.register import CALL_COLUMNS


@dataclass(frozen=True)
class SynthCall:
    call_id: str
    call_date: date
    complaint_id: str | None = None
    case_last_activity: date | None = None
    external_number: str | None = None
    person: str = "<PERSON_0123abcd>"  # the caller's pseudonym token


def add_calls(conn, root: Path, calls: list[SynthCall], vault=None) -> None:
    """Files under `root/audio` and `root/redacted_audio`, rows in every table, in one go.
    With a vault (`assets.audio.vault`) the files are sealed as ingest seals them; without, they
    are plain marker files (the retention benchmark: unlink cost does not depend on content)."""
    now = datetime.now(UTC)
    rows: dict[str, list[tuple]] = {t: [] for t in (
        "calls", "transcripts", "segments", "words", "redacted", "canon", "scan", "themes", "tokens")}
    for c in calls:
        name = f"{c.call_id}.wav" + (".sealed" if vault else "")
        audio = root / "audio" / c.call_date.isoformat() / name
        redacted = root / "redacted_audio" / c.call_date.isoformat() / name
        for path in (audio, redacted):
            content = b"RIFF" + f"audio of {c.call_id}".encode() + bytes(256)
            path.parent.mkdir(parents=True, exist_ok=True)
            if vault:
                vault.seal_bytes(content, path, c.call_id)
            else:
                path.write_bytes(content)
        started = datetime.combine(c.call_date, datetime.min.time(), tzinfo=UTC)
        rows["calls"].append((
            c.call_id, started, c.call_date, "inbound", "staff-01", "intake", c.external_number, c.complaint_id,
            c.case_last_activity, "maternity", True, False, None, "{}", str(audio), "0" * 64, 260, None, now))
        text = f"transcript of {c.call_id} about pain relief"
        rows["transcripts"].append((c.call_id, c.call_date, text, "en", 60.0, "synthetic", now))
        rows["segments"].append((c.call_id, 0, c.call_date, "caller", 0.0, 5.0, text))
        rows["words"].append((c.call_id, 0, 0, "caller", 0.0, 0.5, "transcript"))
        rows["redacted"].append((c.call_id, c.call_date, str(redacted), 0, 0.0))
        rows["canon"].append((c.call_id, c.call_date, "inbound", "intake", "maternity",
                              "a call about pain relief", 1, now))
        rows["scan"].append((c.call_id, c.call_date, 0, "{}", now))
        rows["themes"].append((c.call_id, 0, c.call_date, "maternity", "intake"))
        rows["tokens"].append((c.call_id, c.person))
    with warehouse.transaction(conn):
        warehouse.insert_rows(conn, "casework.calls", CALL_COLUMNS, rows["calls"])
        warehouse.insert_rows(conn, "casework.transcripts", (
            "call_id", "call_date", "text", "language", "duration_s", "model", "transcribed_at"), rows["transcripts"])
        warehouse.insert_rows(conn, "casework.segments", (
            "call_id", "seg_idx", "call_date", "speaker", "start_s", "end_s", "text"), rows["segments"])
        warehouse.insert_rows(conn, "casework.words", (
            "call_id", "seg_idx", "word_idx", "speaker", "start_s", "end_s", "word"), rows["words"])
        warehouse.insert_rows(conn, "casework.redacted_audio", (
            "call_id", "call_date", "path", "spans", "seconds_redacted"), rows["redacted"])
        warehouse.insert_rows(conn, "canon.transcripts", (
            "call_id", "call_date", "direction", "team", "service_area", "text", "entities_replaced",
            "pseudonymised_at"), rows["canon"])
        warehouse.insert_rows(conn, "canon.leak_scan", (
            "call_id", "call_date", "findings", "kinds", "scanned_at"), rows["scan"])
        warehouse.insert_rows(conn, "themes.call_themes", (
            "call_id", "theme_id", "call_date", "service_area", "team"), rows["themes"])
        warehouse.insert_rows(conn, "casework.call_pseudonyms", ("call_id", "token"), rows["tokens"])
