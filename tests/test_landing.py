"""The landing-zone contract: strict where we depend on it, lenient elsewhere."""

from __future__ import annotations

import json
from datetime import date

from assets.ingest import landing


def _land(tmp_path, name: str, sidecar, audio: bytes | None = b"RIFF....") -> None:
    text = sidecar if isinstance(sidecar, str) else json.dumps(sidecar)
    (tmp_path / f"{name}.json").write_text(text)
    if audio is not None:
        (tmp_path / f"{name}.wav").write_bytes(audio)


def test_minimal_sidecar_gets_documented_defaults_and_keeps_unknown_fields(tmp_path):
    _land(tmp_path, "c1", {"call_id": "c1", "started_at": "2026-03-02T10:15:00Z", "queue": "Q7"})
    [item] = landing.scan(tmp_path)
    assert isinstance(item, landing.LandedCall)
    s = item.sidecar
    assert (s.direction, s.service_area, s.complaint_id, s.recording_stopped_on_request) == (
        "inbound", "unknown", None, False)
    assert s.extra_fields == {"queue": "Q7"}


def test_call_date_follows_the_london_clock(tmp_path):
    # 23:30 UTC on 30 June is 00:30 BST on 1 July: the caseworker's day.
    _land(tmp_path, "c2", {"call_id": "c2", "started_at": "2026-06-30T23:30:00Z"})
    [item] = landing.scan(tmp_path)
    assert item.sidecar.call_date == date(2026, 7, 1)


def test_each_kind_of_bad_sidecar_gets_its_own_reason(tmp_path):
    _land(tmp_path, "bad-json", "{nope")
    _land(tmp_path, "bad-time", {"call_id": "bad-time", "started_at": "yesterday"})
    _land(tmp_path, "no-id", {"started_at": "2026-03-02T10:15:00Z"})
    _land(tmp_path, "mismatch", {"call_id": "other", "started_at": "2026-03-02T10:15:00Z"})
    _land(tmp_path, "no-audio", {"call_id": "no-audio", "started_at": "2026-03-02T10:15:00Z"}, audio=None)
    reasons = {r.stem: r.reason for r in landing.scan(tmp_path)}
    assert reasons == {
        "bad-json": "bad_sidecar_json", "bad-time": "bad_sidecar", "no-id": "bad_sidecar",
        "mismatch": "call_id_mismatch", "no-audio": "missing_audio",
    }


def test_rejection_detail_names_the_field_not_the_value(tmp_path):
    _land(tmp_path, "c3", {"call_id": "c3", "started_at": "2026-03-02T10:15:00Z",
                           "external_number": 7911123456, "direction": "sideways"})
    [item] = landing.scan(tmp_path)
    assert isinstance(item, landing.Rejected)
    assert "direction" in item.detail and "sideways" not in item.detail
