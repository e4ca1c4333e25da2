"""Governance's annual review pack as an asset, with a yearly schedule (ombudsman policy 5.2), and the
audit trail's own retention, daily (§5.3)."""

import json
from datetime import UTC, date, datetime

import dagster as dg
from dagster_duckdb import DuckDBResource
from dagster_shared.check import CheckError

from assets.access import audit, audit_retention
from assets.governance import evidence_pack
from assets.settings import Settings
from pipelines.defs.resources import PolicyProfile, PseudonymKey
from pipelines.partitions import DUCKDB_WRITER_POOL


class EvidenceConfig(dg.Config):
    as_of: str | None = None  # last day of the year reviewed (ISO date); default today


def _asset_graph(context: dg.AssetExecutionContext):
    """The code location's asset graph: the step's repository under `dagster dev` and the
    daemon; a job run in process (the CLI, tests) has none, so load the definitions."""
    try:
        return context.repository_def.asset_graph
    except CheckError:  # "No repository definition was set on the step context"
        from pipelines.definitions import defs

        return defs().resolve_asset_graph()


def _lineage(context: dg.AssetExecutionContext) -> list[evidence_pack.LineageNode]:
    graph = _asset_graph(context)
    nodes = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        if key == context.asset_key:
            continue
        node = graph.get(key)
        last = context.instance.get_latest_materialization_event(key) if node.is_materializable else None
        when = (datetime.fromtimestamp(last.timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
                if last else ("external (landing zone)" if not node.is_materializable else None))
        nodes.append(evidence_pack.LineageNode(
            key.to_user_string(), node.group_name or "", tuple(sorted(p.to_user_string() for p in node.parent_keys)),
            (node.description or "").strip(), when))
    return nodes


@dg.asset(
    key=["governance", "evidence_pack"],
    deps=[dg.AssetKey(["governance", "retention_certificate"])],
    pool=DUCKDB_WRITER_POOL,
    group_name="governance",
    kinds={"python", "markdown"},
    check_specs=[dg.AssetCheckSpec(
        "review_findings_pass", asset=["governance", "evidence_pack"],
        description="No retention item overdue, every certificate matches its digest, the audit chain verifies.")],
    description="Annual review pack: lineage, retention adherence, certificates, audit summary by "
                "purpose, audit chain verification (Markdown with charts; no personal data).",
)
def evidence_pack_asset(context: dg.AssetExecutionContext, config: EvidenceConfig, warehouse: DuckDBResource,
                        policy: PolicyProfile, pseudonym_key: PseudonymKey) -> dg.MaterializeResult:
    as_of = date.fromisoformat(config.as_of) if config.as_of else date.today()
    with warehouse.get_connection() as conn:
        chain = audit.verify(conn, pseudonym_key.audit_key())
        path, found = evidence_pack.write(conn, policy.load(), pseudonym_key.pseudonymiser(), as_of, chain,
                                          _lineage(context), Settings.from_env().evidence_dir)
    if not chain.ok:
        context.log.error(f"audit chain verification failed: {len(chain.problems)} problem(s); see the pack")
    passed = found.overdue_total == 0 and not found.certificates_broken and found.chain_ok
    return dg.MaterializeResult(check_results=[dg.AssetCheckResult(
        check_name="review_findings_pass", passed=passed, severity=dg.AssetCheckSeverity.WARN,
        metadata={"overdue_items": found.overdue_total, "certificates_altered": len(found.certificates_broken),
                  "audit_chain_ok": found.chain_ok})], metadata={
        "path": dg.MetadataValue.path(str(path)),
        "overdue_items": found.overdue_total,
        "audit_chain_ok": found.chain_ok,
        "audit_records": found.chain_records,
        "certificates_altered": len(found.certificates_broken),
        "period": f"{found.period_start} to {found.period_end}",
    })


evidence_pack_job = dg.define_asset_job(
    "evidence_pack", selection=dg.AssetSelection.keys("governance/evidence_pack"),
    description="Write the annual data protection review pack for governance.")


class AuditRetentionConfig(dg.Config):
    as_of: str | None = None  # ISO date the clock reads; default today


@dg.asset(
    key=["governance", "audit_retention"],
    pool=DUCKDB_WRITER_POOL,
    group_name="governance",
    kinds={"duckdb"},
    description="Removes audit records older than the policy's audit.keep_days from the start of the chain, "
                "behind a signed checkpoint that verification starts from; the cut is itself audited.",
)
def audit_retention_asset(config: AuditRetentionConfig, warehouse: DuckDBResource, policy: PolicyProfile,
                          pseudonym_key: PseudonymKey) -> dg.MaterializeResult:
    # Never ahead of the real clock: a run "as of" a future date (retention catch-up, tests) must not
    # age the audit trail's records early.
    today = min(date.fromisoformat(config.as_of), date.today()) if config.as_of else date.today()
    profile = policy.load()
    with warehouse.get_connection() as conn:
        done = audit_retention.cut(conn, profile, today)
        if done:
            checkpoint, removed = done
            audit.append(conn, pseudonym_key.audit_key(), actor="callcanon-pipeline", role="system",
                         action="audit_retention", outcome="done", object=f"audit:..{checkpoint.seq}",
                         purpose="retention", reason=f"records before {checkpoint.cut_before} "
                                                     f"({profile.audit.keep_days} days)",
                         request=json.dumps({"removed": removed, "checkpoint_seq": checkpoint.seq}))
    return dg.MaterializeResult(metadata={
        "keep_days": profile.audit.keep_days, "records_removed": done[1] if done else 0,
        "checkpoint_seq": done[0].seq if done else None})


audit_retention_job = dg.define_asset_job(
    "audit_retention", selection=dg.AssetSelection.assets(audit_retention_asset),
    description="Audit trail retention: records past the policy's period removed behind a signed checkpoint.")

audit_retention_schedule = dg.ScheduleDefinition(
    job=audit_retention_job, cron_schedule="45 2 * * *", execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily, after the retention sweep: the audit trail's own retention period.")
