import dagster as dg

# Statements left unassigned (the `candidates` of each call date's latest themes/call_themes run)
# since the last refit that call for a refit before the weekly one: at least this many, and at
# least this share of the statements those runs read. Then the registry has stopped describing
# what callers say; a steady trickle at scale does not refit every day.
CANDIDATES_FOR_REFIT = 300
CANDIDATE_SHARE_FOR_REFIT = 0.25

REGISTRY = dg.AssetKey(["themes", "topics"])
CALL_THEMES = dg.AssetKey(["themes", "call_themes"])


@dg.sensor(
    job_name="refresh_themes_and_marts",
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Requests a theme refit when {CANDIDATES_FOR_REFIT}+ caller statements, a quarter of those read, "
                "have fitted no theme since the last refit (from the runs' metadata, never the warehouse).",
)
def candidate_pile_sensor(context: dg.SensorEvaluationContext):
    """Reads Dagster's event log only: a sensor holding the warehouse open, even read-only,
    would make every pipeline write fail. One request per refit (the run key is the last refit's
    time), so a pile is answered once."""
    last = context.instance.get_latest_materialization_event(REGISTRY)
    since = last.timestamp if last else 0.0
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=CALL_THEMES, after_timestamp=since), limit=1000).records
    latest: dict[str, tuple[int, int]] = {}
    for record in sorted(records, key=lambda r: r.timestamp):  # a re-run replaces its day's count
        event = record.asset_materialization
        meta = event.metadata if event else {}
        if "candidates" in meta:
            read = meta["statements"].value if "statements" in meta else meta["candidates"].value
            latest[event.partition or ""] = (int(meta["candidates"].value), int(read))
    pile, read = sum(c for c, _ in latest.values()), sum(s for _, s in latest.values())
    if pile < CANDIDATES_FOR_REFIT or pile < CANDIDATE_SHARE_FOR_REFIT * read:
        return dg.SkipReason(f"{pile} of {read} statements fit no theme since the last refit (refit at "
                             f"{CANDIDATES_FOR_REFIT} and {CANDIDATE_SHARE_FOR_REFIT:.0%})")
    return dg.RunRequest(run_key=f"candidates-since:{since}", tags={"callcanon/trigger": "candidate_pile_sensor"})
