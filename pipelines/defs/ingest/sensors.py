import time
from datetime import date

import dagster as dg

from assets import locations
from assets.ingest import landing, untrusted
from pipelines.defs.resources import CallStore
from pipelines.partitions import call_dates


@dg.sensor(
    job_name="process_calls",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts the call-date partition run for sidecars new in the landing zone.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, call_store: CallStore):
    """Cursor: the newest sidecar mtime already handed to a run (never later than now). The run
    key is a keyed hash of the files' names (which may hold a number, so they never appear in a
    run's key or tags), so a re-evaluation after a crash cannot start the same work twice. Which
    partition a sidecar goes to is `landing.Limits.route`, as for `callcanon run`."""
    since = float(context.cursor or 0)
    fresh = [e for e in landing.sidecars(locations.location(call_store.landing_dir)) if e.mtime > since]
    if not fresh:
        return dg.SkipReason("no new sidecars in the landing zone")
    limits = call_store.limits(call_dates.start.date())
    last = date.fromisoformat(call_dates.get_last_partition_key())
    by_key: dict[str, list[str]] = {}
    handed = []
    for entry in fresh:
        day = limits.route(landing.peek_call_date(entry, limits.max_sidecar_bytes), last)
        if day is None:
            continue  # within the future tolerance: its partition does not exist yet
        handed.append(entry.mtime)
        by_key.setdefault(day.isoformat(), []).append(entry.name)
    if not by_key:
        return dg.SkipReason("new sidecars are dated ahead of today; they wait for their partition")
    # A sidecar stamped in the future must not move the cursor past every later one.
    context.update_cursor(str(min(max(handed), time.time())))
    return [
        dg.RunRequest(
            partition_key=key,
            run_key=f"{key}:{untrusted.label(' '.join(sorted(names)))}",
            tags={"callcanon/trigger": "landing_zone_sensor"},
        )
        for key, names in sorted(by_key.items())
    ]
