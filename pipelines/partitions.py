"""One partition per call date, on the organisation's clock (Europe/London)."""

from datetime import date

import dagster as dg

# Far enough back for any recording a user still holds; today is included (end_offset=1)
# because calls land throughout the day.
call_dates = dg.DailyPartitionsDefinition(
    start_date="2020-01-01", timezone="Europe/London", end_offset=1
)

DUCKDB_WRITER_POOL = "duckdb_writer"


def partition_date(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)
