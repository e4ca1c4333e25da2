"""One partition per call date, on the organisation's clock (Europe/London)."""

from datetime import date

import dagster as dg

# Far enough back for any recording a user still holds; today is included (end_offset=1)
# because calls land throughout the day.
call_dates = dg.DailyPartitionsDefinition(
    start_date="2020-01-01", timezone="Europe/London", end_offset=1
)

DUCKDB_WRITER_POOL = "duckdb_writer"
# Transcription holds no warehouse connection while the model runs: its own pool, whose limit is
# the number of dates transcribed at once (1 by default; `dagster instance concurrency set
# transcription N` for N worker processes).
TRANSCRIPTION_POOL = "transcription"


def partition_date(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)
