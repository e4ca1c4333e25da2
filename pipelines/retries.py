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


def is_transient(exc: BaseException) -> bool:
    """A warehouse another process holds, a timeout or a dropped connection: not a missing
    folder or a refused permission, which DuckDB also reports as an IOException."""
    if isinstance(exc, duckdb.IOException):
        return "lock" in str(exc).lower()
    return isinstance(exc, (TimeoutError, ConnectionError))


def retry_transient(fn):
    """Wrap an asset's body: a transient error asks Dagster for a retry after 5 s, 10 s, 20 s
    (±25 %); anything else fails the step at once."""

    @functools.wraps(fn)
    def wrapper(context, *args, **kwargs):
        try:
            return fn(context, *args, **kwargs)
        except Exception as exc:
            if not is_transient(exc):
                raise
            if context.retry_number >= MAX_RETRIES:
                context.log.error(f"transient {type(exc).__name__} again after {MAX_RETRIES} retries; giving up")
                raise
            delay = BASE_DELAY_S * 2 ** context.retry_number * random.uniform(0.75, 1.25)
            context.log.warning(f"transient {type(exc).__name__}; retry {context.retry_number + 1} of "
                                f"{MAX_RETRIES} in {delay:.0f}s")
            raise dg.RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=delay) from exc

    return wrapper
