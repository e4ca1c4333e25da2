"""Subject access and portability packages: every matching call's audio, transcript and metadata
(JSON), a CSV of the calls and an index, built through the access layer's own decisions.

The role must be allowed to search, export and download for the purpose (subject access,
portability). Both are checked before anything is written, so a purpose that may not download
gets one audited refusal and no half-built package of exports on disk.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

from assets import warehouse
from assets.access import releases
from assets.access.requests import AccessRefused, AccessRequest, CallQuery
from assets.access.subjects import call_ref

CSV_FIELDS = ["call_id", "call_date", "started_at", "direction", "staff_id", "team", "external_number",
              "complaint_id", "service_area"]


def subject_access_package(layer, req: AccessRequest, query: CallQuery, dest_dir: Path) -> Path:
    """One search record and, per call, one export and one download record in the audit trail."""
    for action in ("export", "download_audio"):
        refusal = layer.policy_refusal(replace(req, action=action, call_id=""))
        if refusal:
            seq = layer._record(replace(req, action=action), f"refused:{refusal[0]}", None,
                                object="subject_access_package")
            raise AccessRefused(refusal[0], refusal[1], seq)
    calls = layer.search_calls(replace(req, action="search_calls"), query)
    package = dest_dir / f"sar-{warehouse.utcnow():%Y%m%dT%H%M%SZ}"
    index = []
    for call_id in calls:
        folder = package / call_id
        exported = layer.export(replace(req, action="export", call_id=call_id), folder)
        entry = {"call_id": call_id, "metadata_and_transcript": str(exported.relative_to(package)), "audio": None}
        try:
            audio = layer.download(replace(req, action="download_audio", call_id=call_id), folder)
            entry["audio"] = str(audio.relative_to(package))
        except FileNotFoundError:
            entry["audio"] = "not held (deleted under the retention policy)"
        index.append(entry)
    package.mkdir(parents=True, exist_ok=True)
    rows = [json.loads((package / e["metadata_and_transcript"]).read_text())["call"] for e in index]
    with (package / "calls.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (package / "index.json").write_text(json.dumps(
        {"generated_at": warehouse.utcnow().isoformat(), "purpose": req.purpose, "calls": index,
         "mentions_in_other_records": [{"call_ref": call_ref(c), "fields": f}
                                       for c, f in layer.mentions(query, calls).items()],
         "contents": "per call: metadata and transcript (JSON), audio copy; calls.csv lists the calls; "
                     "mentions: other calls' fields that hold the subject's number (the field names only)"},
        indent=1))
    for call_id in calls:
        releases.record(layer.conn, kind="subject_access_package", call_id=call_id, path=package, actor=req.user)
    return package
