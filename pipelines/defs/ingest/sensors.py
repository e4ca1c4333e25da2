import hashlib

import dagster as dg

from assets import locations
from assets.ingest import landing
from pipelines.defs.resources import CallStore
from pipelines.partitions import call_dates


@dg.sensor(
    job_name="process_calls",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts the call-date partition run for sidecars new in the landing zone.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, call_store: CallStore):
    """Cursor: the newest sidecar mtime already handed to a run. The run key names the files,
    so a re-evaluation after a crash cannot start the same work twice."""
    since = float(context.cursor or 0)
    fresh = [(locations.modified_at(p), p) for p in locations.location(call_store.landing_dir).glob("*.json")]
    fresh = [(m, p) for m, p in fresh if m > since]
    if not fresh:
        return dg.SkipReason("no new sidecars in the landing zone")
    by_key: dict[str, list[str]] = {}
    first = call_dates.start.date()
    for _, path in fresh:
        day = landing.peek_call_date(path)
        if day and day < first:
            context.log.error(f"a sidecar dated {day} is before the first call date {first} "
                              "(CALLCANON_FIRST_CALL_DATE): it waits in the landing zone")
            continue
        # An unreadable sidecar still needs a run, to be quarantined with its reason.
        key = day.isoformat() if day else call_dates.get_last_partition_key()
        by_key.setdefault(key, []).append(path.name)
    context.update_cursor(str(max(m for m, _ in fresh)))
    return [
        dg.RunRequest(
            partition_key=key,
            run_key=f"{key}:{hashlib.sha256(' '.join(sorted(names)).encode()).hexdigest()[:16]}",
            tags={"callcanon/trigger": "landing_zone_sensor"},
        )
        for key, names in sorted(by_key.items())
    ]
