import dagster as dg

# Statements left unassigned (the `candidates` of each call date's latest themes/call_themes run)
# since the last refit that call for a refit before the weekly one: the registry has stopped
# describing what callers say.
CANDIDATES_FOR_REFIT = 300

REGISTRY = dg.AssetKey(["themes", "topics"])
CALL_THEMES = dg.AssetKey(["themes", "call_themes"])


@dg.sensor(
    job_name="refresh_themes_and_marts",
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Requests a theme refit when {CANDIDATES_FOR_REFIT}+ caller statements have fitted no theme "
                "since the last refit (read from the runs' metadata, never the warehouse).",
)
def candidate_pile_sensor(context: dg.SensorEvaluationContext):
    """Reads Dagster's event log only: a sensor holding the warehouse open, even read-only,
    would make every pipeline write fail. One request per refit (the run key is the last refit's
    time), so a pile is answered once."""
    last = context.instance.get_latest_materialization_event(REGISTRY)
    since = last.timestamp if last else 0.0
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=CALL_THEMES, after_timestamp=since), limit=1000).records
    latest: dict[str, int] = {}
    for record in sorted(records, key=lambda r: r.timestamp):  # a re-run replaces its day's count
        event = record.asset_materialization
        value = event.metadata.get("candidates") if event else None
        if value is not None:
            latest[event.partition or ""] = int(value.value)
    pile = sum(latest.values())
    if pile < CANDIDATES_FOR_REFIT:
        return dg.SkipReason(f"{pile} statements fit no theme since the last refit (refit at {CANDIDATES_FOR_REFIT})")
    return dg.RunRequest(run_key=f"candidates-since:{since}", tags={"callcanon/trigger": "candidate_pile_sensor"})
