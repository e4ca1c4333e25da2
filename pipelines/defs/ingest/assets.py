import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import ingest, locations
from assets.transcription import staged
from pipelines.defs.resources import AudioKey, CallStore, PseudonymKey
from pipelines.partitions import DUCKDB_WRITER_POOL, call_dates, partition_date
from pipelines.retries import retry_transient

landing_calls = dg.AssetSpec(
    key=["landing", "calls"],
    description="Audio files and JSON sidecars dropped by the telephony system into the landing zone.",
    group_name="ingest",
)


@dg.asset(
    key=["casework", "calls"],
    deps=[landing_calls],
    partitions_def=call_dates,
    pool=DUCKDB_WRITER_POOL,
    group_name="ingest",
    kinds={"duckdb"},
    description="One row per call with its sidecar metadata; audio sealed (AES-GCM) into the store.",
)
@retry_transient
def casework_calls(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, call_store: CallStore, audio_key: AudioKey,
    pseudonym_key: PseudonymKey,
) -> dg.MaterializeResult:
    day = partition_date(context)
    with warehouse.get_connection() as conn:
        result = ingest.ingest_date(
            conn, locations.location(call_store.landing_dir), locations.location(call_store.store_dir),
            locations.location(call_store.quarantine_dir), day, audio_key.vault(), call_store.sidecar_grace_s,
            call_store.limits(call_dates.start.date()),
        )
        total = ingest.calls_on(conn, day)
        pseudonym_key.record_processing(conn, context, len(result.registered))
        # What the transcription workers read instead of the warehouse (`assets.staging`).
        to_transcribe = staged.write_manifest(conn, audio_key.staging(call_store), day)
    for item, reason in result.quarantined:
        # A call id or a hash of the file name (`assets.ingest.untrusted.label`), never the name
        # itself, which may hold a number; the reason is ours.
        context.log.warning(f"quarantined {item}: {reason}")
    return dg.MaterializeResult(metadata={
        "registered": len(result.registered),
        "already_registered": len(result.already),
        "replaced_undecodable": len(result.replaced),
        "quarantined": len(result.quarantined),
        "calls_in_partition": total,
        "calls_in_manifest": to_transcribe,
    })


