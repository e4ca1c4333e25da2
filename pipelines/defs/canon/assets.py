import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import pii
from assets.warehouse import ensure_schema
from pipelines.defs.resources import PseudonymKey
from pipelines.partitions import DUCKDB_WRITER_POOL, call_dates, partition_date


@dg.asset(
    key=["canon", "transcripts"],
    deps=[dg.AssetKey(["casework", "transcripts"])],
    partitions_def=call_dates,
    pool=DUCKDB_WRITER_POOL,
    group_name="canon",
    kinds={"duckdb", "python"},
    description="Pseudonymised transcripts: identifiers replaced by keyed tokens (Presidio + HMAC).",
)
def canon_transcripts(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, pseudonym_key: PseudonymKey
) -> dg.MaterializeResult:
    pseudonymiser = pseudonym_key.pseudonymiser()
    with warehouse.get_connection() as conn:
        ensure_schema(conn)
        written = pii.pseudonymise_date(conn, partition_date(context), pseudonymiser)
        replaced = conn.execute(
            "SELECT coalesce(sum(entities_replaced), 0) FROM canon.transcripts WHERE call_date = ?",
            [partition_date(context)],
        ).fetchone()[0]
    return dg.MaterializeResult(metadata={"calls": written, "identifiers_replaced": int(replaced)})
