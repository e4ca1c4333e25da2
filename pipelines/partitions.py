"""One partition per call date, on the organisation's clock (Europe/London)."""

from datetime import date

import dagster as dg

from assets.settings import Settings

# From the organisation's first call date (CALLCANON_FIRST_CALL_DATE), so a fresh install does not
# show years of "missing" partitions; today is included (end_offset=1) because calls land
# throughout the day. Read when the code location loads: Dagster needs the partition set when an
# asset is declared.
call_dates = dg.DailyPartitionsDefinition(
    start_date=Settings.from_env().first_call_date.isoformat(), timezone="Europe/London", end_offset=1
)

DUCKDB_WRITER_POOL = "duckdb_writer"
# Transcription holds no warehouse connection while the model runs: its own pool, whose limit is
# the number of dates transcribed at once (1 by default; `dagster instance concurrency set
# transcription N` for N worker processes).
TRANSCRIPTION_POOL = "transcription"
# Under the Celery executor (CALLCANON_EXECUTOR=celery) the steps that need no warehouse go to this
# queue, which workers on any machine serve; every other step goes to Celery's default `dagster`
# queue, served on the warehouse's machine (deploy/README.md).
WORKER_QUEUE = {"dagster-celery/queue": "transcription"}


def partition_date(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)
