import json

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import canon, locations

from assets.audio import redaction as audio_redaction

from assets.canon import leak_scan
from assets.warehouse.db import ensure_schema, insert_rows, utcnow
from pipelines.defs.resources import AudioKey, CallStore, PseudonymKey
from pipelines.partitions import DUCKDB_WRITER_POOL, call_dates, partition_date
from pipelines.retries import retry_transient


@dg.asset(
    key=["canon", "transcripts"],
    deps=[dg.AssetKey(["casework", "transcripts"])],
    partitions_def=call_dates,
    pool=DUCKDB_WRITER_POOL,
    group_name="canon",
    kinds={"duckdb", "python"},
    description="Pseudonymised transcripts: identifiers replaced by keyed tokens (Presidio + HMAC).",
)
@retry_transient
def canon_transcripts(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, pseudonym_key: PseudonymKey
) -> dg.MaterializeResult:
    pseudonymiser = pseudonym_key.pseudonymiser()
    day = partition_date(context)
    with warehouse.get_connection() as conn:
        ensure_schema(conn)
        written, withheld = canon.pseudonymise_date(conn, day, pseudonymiser)
        pseudonym_key.record_processing(conn, context, written + withheld)
        replaced = conn.execute(
            "SELECT coalesce(sum(entities_replaced), 0) FROM canon.transcripts WHERE call_date = ?", [day],
        ).fetchone()[0]
        findings = leak_scan.scan_date(conn, day)
        conn.execute("DELETE FROM canon.leak_scan WHERE call_date = ?", [day])
        insert_rows(conn, "canon.leak_scan", ("call_id", "call_date", "findings", "kinds", "scanned_at"),
                    [(f.call_id, day, f.count, json.dumps(f.kinds), utcnow()) for f in findings])
    leaks = sum(f.count for f in findings)
    return dg.MaterializeResult(metadata={
        "calls": written, "withheld_restricted": withheld, "identifiers_replaced": int(replaced),
        "residual_pii_findings": leaks,
    })


@dg.asset_check(asset=canon_transcripts, blocking=True,
                description="Independent residual-PII scan of the canon: any finding in any "
                            "call fails the check and stops themes and marts.")
def canon_has_no_residual_pii(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource):
    with warehouse.get_connection() as conn:
        rows = conn.execute(
            "SELECT call_id, findings, kinds FROM canon.leak_scan WHERE findings > 0").fetchall()
    kinds: dict[str, int] = {}
    for _, _, k in rows:
        for kind, n in json.loads(k).items():
            kinds[kind] = kinds.get(kind, 0) + n
    return dg.AssetCheckResult(passed=not rows, metadata={"calls_with_findings": len(rows), "by_kind": kinds})


@dg.asset(
    key=["casework", "redacted_audio"],
    deps=[dg.AssetKey(["casework", "transcripts"])],
    partitions_def=call_dates,
    pool=DUCKDB_WRITER_POOL,
    group_name="canon",
    kinds={"python", "duckdb"},
    description="Copies of call audio with every identifier toned out (word timings + the pseudonymiser's findings).",
)
@retry_transient
def redacted_audio(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, pseudonym_key: PseudonymKey,
    call_store: CallStore, audio_key: AudioKey,
) -> dg.MaterializeResult:
    with warehouse.get_connection() as conn:
        ensure_schema(conn)
        done = audio_redaction.redact_date(conn, partition_date(context), pseudonym_key.pseudonymiser(),
                                           audio_key.vault(), locations.location(call_store.redacted_dir))
        pseudonym_key.record_processing(conn, context, len(done))
    return dg.MaterializeResult(metadata={
        "calls": len(done), "seconds_redacted": round(sum(s for _, s in done), 1)})
