"""The landing zone's contract (`landing`: audio + JSON sidecar) and registering calls into
`casework.calls` with their audio sealed (`register`)."""

from assets.ingest.register import (  # noqa: F401 - the stage's public face
    calls_on,
    ingest_date,
    seal_store,
)
