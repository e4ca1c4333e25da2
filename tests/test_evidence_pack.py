"""The annual review pack (issue 7): it reports what governance must know — overdue retention,
altered certificates, a broken audit chain — and says FAIL when any is wrong; written by the
real Dagster asset after a real pipeline run, it holds no personal data."""

from __future__ import annotations

import re
from datetime import date, timedelta

import duckdb
import pytest

from assets import reseal, retention, warehouse
from assets.access import audit
from assets.audio.vault import AudioVault
from assets.governance import evidence_pack
from assets.keys import load_audio_key, load_key
from assets.pii.pseudonymiser import Pseudonymiser
from assets.policy import load_policy
from assets.synthetic.warehouse_rows import SynthCall, add_calls
from assets.warehouse import analytics

TODAY = date.today()  # the audit and certificates carry real times: the period ends today
DAY = TODAY - timedelta(days=40)
NUMBER = "07700900777"


def _summary(pack: str) -> dict[str, str]:
    """The summary table: check -> PASS | FAIL."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| ([^|]+?) \| \*\*(PASS|FAIL)\*\* \|", pack, re.M)}


def test_the_pack_fails_on_overdue_retention_an_altered_certificate_and_a_broken_chain(tmp_path):
    policy, pseudonymiser = load_policy("ombudsman"), Pseudonymiser(load_key())
    key, head, witness = audit.chain_key(load_key()), tmp_path / "head.json", tmp_path / "witness" / "heads.jsonl"
    as_of = TODAY  # the unlinked calls' 30 days of audio are over
    db = tmp_path / "warehouse.duckdb"
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        add_calls(conn, tmp_path, [SynthCall(f"old-{n}", DAY, external_number=NUMBER) for n in range(3)])
        for outcome in ("granted", "refused:no_reason"):
            audit.append(conn, key, actor="cw-1", role="caseworker", action="listen", outcome=outcome,
                         purpose="complaint_handling", reason="complaint review", head=head, object="ref",
                         witness=witness)

        def pack():
            chain = audit.verify(conn, key, head, witness=witness)
            path, found = evidence_pack.write(conn, policy, pseudonymiser, as_of, chain, [], tmp_path / "evidence")
            return path.read_text(), found

        text, found = pack()
        assert found.overdue == {**found.overdue, "audio": 3, "redacted_audio": 3}
        assert _summary(text)["Retention: items past their end date still held"] == "FAIL"
        assert found.audit_by_purpose == {"complaint_handling": {"granted": 1, "refused": 1}}

        retention.sweep(conn, policy, pseudonymiser, as_of)  # what the nightly schedule does
        text, found = pack()
        assert found.overdue_total == 0 and found.deleted == {"audio": 3, "redacted_audio": 3}
        assert _summary(text)["Analytics copy republished after the last deletion"] == "FAIL"
        analytics.publish(conn, tmp_path / "analytics.duckdb")  # what the finish_erasure job does next
        # These calls' text was written in clear (as by callcanon < 0.12) until `callcanon seal-store`.
        assert _summary(text)["Casework text sealed at rest"] == "FAIL" and "9 cells in clear" in text
        reseal.reseal_text(conn, AudioVault(load_audio_key()).text)
        text, found = pack()
        assert set(_summary(text).values()) == {"PASS"} and len(_summary(text)) == 5
        assert "Key age: audio key" in text and "never rotated" in text

        conn.execute("UPDATE governance.erasure_certificates SET bytes_deleted = 0")  # someone tidies a record
        conn.execute("UPDATE governance.audit SET outcome = 'granted' WHERE seq = 2")  # and hides a refusal
        text, found = pack()
        assert found.certificates_broken and not found.chain_ok
        assert _summary(text) == {"Retention: items past their end date still held": "PASS",
                                  "Certificates match their digests": "FAIL", "Audit chain verifies": "FAIL",
                                  "Casework text sealed at rest": "PASS",
                                  "Analytics copy republished after the last deletion": "PASS"}
    assert (tmp_path / "evidence" / as_of.isoformat() / "deletions_by_class.png").stat().st_size > 5000
    for personal in ("old-0", NUMBER, "900777"):
        assert personal not in text


@pytest.mark.e2e
def test_the_dagster_asset_writes_the_pack_after_a_pipeline_run_without_personal_data(pipeline_run):
    from pipelines.runner import write_evidence_pack

    path = write_evidence_pack(pipeline_run.instance)
    text = path.read_text()
    assert set(_summary(text).values()) == {"PASS"}, _summary(text)
    # Lineage from the orchestrator: the flow from landing zone to marts, with when each last ran.
    assert "landing__calls --> casework__calls" in text and "casework__transcripts --> canon__transcripts" in text
    assert "`marts/theme_trends`" in text and "marts__theme_trends --> warehouse__analytics_copy" in text
    # The copy analysts read was republished after the retention sweep deleted the old calls' audio.
    assert _summary(text)["Analytics copy republished after the last deletion"] == "PASS"
    # The pipeline's own reads of personal data are in the audit trail, and so in the pack.
    stages = dict(pipeline_run.query(
        "SELECT action, sum(CAST(json_extract(request, '$.calls') AS BIGINT)) FROM governance.audit "
        "WHERE role = 'system' GROUP BY 1"))
    assert {"casework/calls", "casework/transcripts", "canon/transcripts", "casework/redacted_audio"} <= set(stages)
    assert stages["casework/transcripts"] >= len(pipeline_run.calls)
    assert f"casework/transcripts {stages['casework/transcripts']}" in text
    for png in ("access_by_purpose.png", "deletions_by_class.png"):
        assert (path.parent / png).exists()
    for call in pipeline_run.calls:
        assert call.call_id not in text
    numbers = [r[0] for r in pipeline_run.query("SELECT external_number FROM casework.calls "
                                                "WHERE external_number IS NOT NULL")]
    assert numbers and not any(n in text or n[-6:] in text for n in numbers)
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as conn:
        assert audit.verify(conn, audit.chain_key(load_key())).ok
