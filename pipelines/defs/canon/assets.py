import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import canon
from assets.canon import consent, leak_scan
from pipelines.defs.resources import AudioKey, PolicyProfile, PseudonymKey
from pipelines.partitions import DUCKDB_WRITER_POOL, call_dates, partition_date
from pipelines.retries import retry_transient


@dg.asset(
    key=["canon", "transcripts"],
    deps=[dg.AssetKey(["casework", "transcripts"])],
    partitions_def=call_dates,
    pool=DUCKDB_WRITER_POOL,
    group_name="canon",
    kinds={"duckdb", "python"},
    description="Pseudonymised transcripts: identifiers replaced by keyed tokens (Presidio + HMAC); calls "
                "that consent holds (no notice, stopped on request, per the policy) or a restriction covers "
                "are left out.",
)
@retry_transient
def canon_transcripts(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, pseudonym_key: PseudonymKey,
    policy: PolicyProfile, audio_key: AudioKey,
) -> dg.MaterializeResult:
    pseudonymiser = pseudonym_key.pseudonymiser()
    day = partition_date(context)
    with warehouse.get_connection() as conn:
        held = consent.record_date(conn, policy.load(), day)
        names: dict[str, set[str]] = {}  # per call, what its detectors found; never stored
        written, withheld = canon.pseudonymise_date(conn, day, pseudonymiser, audio_key.vault().text, names, held)
        pseudonym_key.record_processing(conn, context, written + withheld)
        replaced = canon.identifiers_replaced(conn, day)
        findings = leak_scan.record_date(conn, day, names)
    leaks = sum(f.count for f in findings)
    return dg.MaterializeResult(metadata={
        "calls": written, "withheld": withheld, "held_by_consent": len(held), "identifiers_replaced": int(replaced),
        "residual_pii_findings": leaks,
    })


@dg.asset_check(asset=canon_transcripts, blocking=True,
                description="Independent residual-PII scan of the canon: any finding in any "
                            "call fails the check and stops themes and marts.")
def canon_has_no_residual_pii(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource):
    with warehouse.get_connection() as conn:
        calls, kinds = leak_scan.findings_summary(conn)
    return dg.AssetCheckResult(passed=not calls, metadata={"calls_with_findings": calls, "by_kind": kinds})
