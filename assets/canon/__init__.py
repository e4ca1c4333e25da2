"""The canon: pseudonymised transcripts (`pseudonymise`), the independent residual-PII scan
(`leak_scan`) and restriction requests that keep calls out of it (`restrictions`)."""

from assets.canon.pseudonymise import (  # noqa: F401 - the stage's public face
    identifiers_replaced,
    pseudonymise_date,
)
