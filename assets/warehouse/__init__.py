"""The warehouse: one DuckDB file the pipeline alone opens, its schemas kept apart as the
ombudsman policy asks (`casework` personal, `canon` pseudonymised, `themes`, `governance`; dbt owns
`staging`, `intermediate` and `marts`).

What other stages call is re-exported here; the rooms are `db` (connections, transactions,
bulk writes) and `quarantine`.
"""

from assets.warehouse.db import (  # noqa: F401 - the stage's public face
    clear_quarantine,
    connect,
    ensure_schema,
    insert_rows,
    one_checkpoint,
    record_quarantine,
    replace_rows,
    retired_sql,
    transaction,
    utcnow,
)
