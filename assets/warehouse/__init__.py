"""The warehouse: one DuckDB file the pipeline alone opens, its schemas kept apart as the
ombudsman policy asks (`casework` personal, `canon` pseudonymised, `themes`, `governance`; dbt owns
`staging`, `intermediate` and `marts`).

What other stages call is re-exported here; the rooms are `db` (connections, transactions,
bulk writes), `schema` (the .sql files and migrations) and `quarantine`.
"""

from assets.warehouse.db import (  # noqa: F401 - the stage's public face
    connect,
    fsync,
    insert_row,
    insert_rows,
    one_checkpoint,
    replace_rows,
    retired_sql,
    row_counts,
    transaction,
    utcnow,
)
from assets.warehouse.quarantine import clear_quarantine, quarantined_since, record_quarantine  # noqa: F401
from assets.warehouse.schema import ensure_schema  # noqa: F401
