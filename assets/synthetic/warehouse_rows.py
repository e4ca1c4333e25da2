"""Calls written straight into the warehouse and the stores, every data class present, without
speech or Whisper: for retention tests and benchmarks at a scale transcription cannot reach.

The rows have the shape the real stages write; the text is a marker, so a test can look for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from assets import warehouse
from assets.sealed_text import TRANSCRIPT, segment_place, word_place

# Every table a call's data lives in, in the order they are written.
TABLES = ("casework.calls", "casework.transcripts", "casework.segments", "casework.words", "casework.redacted_audio",
          "canon.transcripts", "canon.leak_scan", "themes.call_themes", "themes.candidates",
          "casework.call_pseudonyms")


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
    With a vault (`assets.audio.vault`) the files are sealed as ingest seals them, and the text as
    transcription seals it; without, they are plain marker files and plain text (the retention
    benchmark: unlink cost does not depend on content)."""
    now = datetime.now(UTC)
    rows: dict[str, list[dict]] = {t: [] for t in TABLES}
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
        who = dict(call_id=c.call_id, call_date=c.call_date)
        rows["casework.calls"].append(dict(
            who, started_at=started, direction="inbound", staff_id="staff-01", team="intake",
            external_number=c.external_number, complaint_id=c.complaint_id, case_last_activity=c.case_last_activity,
            service_area="maternity", privacy_notice_played=True, recording_stopped_on_request=False, extra="{}",
            audio_path=str(audio), audio_sha256="0" * 64, audio_bytes=260, ingested_at=now))
        text = f"transcript of {c.call_id} about pain relief"
        # Sealed as the transcription stage seals it, when there is a vault (its audio key).
        seal = (lambda v, where, c=c: vault.text.seal(v, c.call_id, where)) if vault else (lambda v, where: v)
        rows["casework.transcripts"].append(dict(who, text=seal(text, TRANSCRIPT), language="en", duration_s=60.0,
                                                 model="synthetic", transcribed_at=now))
        rows["casework.segments"].append(dict(who, seg_idx=0, speaker="caller", start_s=0.0, end_s=5.0,
                                              text=seal(text, segment_place(0))))
        rows["casework.words"].append(dict(call_id=c.call_id, seg_idx=0, word_idx=0, speaker="caller", start_s=0.0,
                                           end_s=0.5, word=seal("transcript", word_place(0, 0))))
        rows["casework.redacted_audio"].append(dict(who, path=str(redacted), spans=0, seconds_redacted=0.0))
        rows["canon.transcripts"].append(dict(who, direction="inbound", team="intake", service_area="maternity",
                                              text="a call about pain relief", entities_replaced=1,
                                              pseudonymised_at=now))
        rows["canon.leak_scan"].append(dict(who, findings=0, kinds="{}", scanned_at=now))
        rows["themes.call_themes"].append(dict(who, theme_id=0, service_area="maternity", team="intake"))
        rows["themes.candidates"].append(dict(who, stmt_idx=1, text="a statement no theme fits", words=["statement"],
                                              embedding=[0.0] * 4))
        rows["casework.call_pseudonyms"].append(dict(call_id=c.call_id, token=c.person))
    with warehouse.transaction(conn):
        for table in TABLES:
            warehouse.insert_rows(conn, table, rows[table])
