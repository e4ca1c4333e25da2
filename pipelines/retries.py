"""Step retries for failures that go away by themselves, and only those.

A blanket `RetryPolicy` would also retry a missing key or a bug three times, delaying the one
error message that matters; so a step retries (with exponential backoff and jitter) only when
it fails on something transient: the warehouse locked by another process past dagster-duckdb's
own connect retries, a timeout, a dropped connection to object storage.
"""

from __future__ import annotations

import functools
import random

import dagster as dg
import duckdb

MAX_RETRIES = 3
BASE_DELAY_S = 5.0


LOCKED = "could not set lock"  # DuckDB's words when another process has the file


def is_transient(exc: BaseException) -> bool:
    """A warehouse another process holds (here, or in the dbt process the marts run), a timeout
    or a dropped connection: not a missing folder or a refused permission, which DuckDB also
    reports as an IOException."""
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    if isinstance(exc, (duckdb.IOException, DagsterDbtCliRuntimeError)):
        return LOCKED in str(exc).lower()
    return isinstance(exc, (TimeoutError, ConnectionError))


def retry_or_raise(context, exc: Exception) -> None:
    """Ask Dagster for a retry after 5 s, 10 s, 20 s (±25 %) when `exc` is transient and retries
    are left; re-raise it otherwise. `context.retry_number` is the retries already made (0 on
    the first attempt), so the message reads "retry 1 of 3" to "retry 3 of 3"."""
    made = context.retry_number
    if not is_transient(exc):
        raise exc
    if made >= MAX_RETRIES:
        context.log.error(f"transient {type(exc).__name__} again after {MAX_RETRIES} retries; giving up")
        raise exc
    delay = BASE_DELAY_S * 2 ** made * random.uniform(0.75, 1.25)
    context.log.warning(f"transient {type(exc).__name__} (the warehouse is busy or a connection dropped); "
                        f"retry {made + 1} of {MAX_RETRIES} in {delay:.0f}s")
    raise dg.RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=delay) from exc


def retry_transient(fn):
    """Wrap an asset's body: a transient error asks Dagster for a retry after 5 s, 10 s, 20 s
    (±25 %); anything else fails the step at once."""

    @functools.wraps(fn)
    def wrapper(context, *args, **kwargs):
        try:
            return fn(context, *args, **kwargs)
        except Exception as exc:
            retry_or_raise(context, exc)

    return wrapper
