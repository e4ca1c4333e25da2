"""The annual review pack for governance (ombudsman policy 5.2: the security and data protection
compliance of call recording and its automated processing is reviewed every year).

One Markdown file with its charts beside it, readable in any viewer and attachable to the review
minutes: what the pipeline does and in what order (lineage), whether retention was kept (items past
their end date that still exist should be none), the erasure and retention certificates issued and
whether each still matches its digest, how personal data was used (audit records by purpose and
outcome, refusals, the pipeline's own processing), and whether the audit chain is intact.

Everything in the pack is already free of personal data (audit records, certificates and the
retention log hold hashes and pseudonyms only), so the pack can circulate to a review board.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from assets import reseal, retention, warehouse
from assets.access.audit import Verification
from assets.governance import pack_sections
from assets.pii.pseudonymiser import Pseudonymiser
from assets.policy import Policy
from assets.warehouse import analytics

PERIOD_DAYS = 365


@dataclass(frozen=True)
class LineageNode:
    """One software-defined asset as the orchestrator describes it (passed in: no Dagster here)."""
    key: str
    group: str
    upstream: tuple[str, ...] = ()
    description: str = ""
    last_materialised: str | None = None


@dataclass
class Findings:
    """What the pack says, as data (the test and the asset's metadata read this)."""
    period_start: date
    period_end: date
    overdue: dict[str, int] = field(default_factory=dict)       # data class -> items past their end date
    held_back: int = 0                                           # past end date but under a legal hold
    deleted: dict[str, int] = field(default_factory=dict)       # data class -> items deleted in period
    certificates: dict[str, int] = field(default_factory=dict)  # kind -> issued in period
    certificates_broken: list[str] = field(default_factory=list)
    audit_by_purpose: dict[str, dict[str, int]] = field(default_factory=dict)  # purpose -> outcome -> n
    refusals: dict[str, int] = field(default_factory=dict)
    processing: dict[str, int] = field(default_factory=dict)    # pipeline stage -> calls processed
    chain_ok: bool = False
    chain_records: int = 0
    chain_problems: list[str] = field(default_factory=list)
    analytics_published: datetime | None = None   # the analytics copy analysts read
    last_erasure: datetime | None = None          # the newest deletion: a certificate, or a restriction

    @property
    def copy_after_erasure(self) -> bool:
        """The copy analysts read was republished after the last deletion (or nothing was deleted)."""
        return self.last_erasure is None or (self.analytics_published or datetime.min.replace(tzinfo=UTC)
                                             ) >= self.last_erasure

    @property
    def overdue_total(self) -> int:
        return sum(self.overdue.values())


def gather(conn, policy: Policy, pseudonymiser: Pseudonymiser, as_of: date, chain: Verification) -> Findings:
    start = as_of - timedelta(days=PERIOD_DAYS)
    found = Findings(start, as_of, chain_ok=chain.ok, chain_records=chain.records, chain_problems=chain.problems)
    overdue, held = retention.plan(conn, policy, pseudonymiser, as_of)
    found.overdue = {c: 0 for c in retention.SWEPT_CLASSES} | dict(Counter(d.data_class for d in overdue))
    found.held_back = len(held)
    found.deleted = dict(conn.execute(
        "SELECT data_class, count(*) FROM governance.retention_log WHERE run_at::DATE BETWEEN ? AND ? "
        "GROUP BY 1 ORDER BY 1", [start, as_of]).fetchall())
    found.certificates = dict(conn.execute(
        "SELECT kind, count(*) FROM governance.erasure_certificates WHERE issued_at::DATE BETWEEN ? AND ? "
        "GROUP BY 1 ORDER BY 1", [start, as_of]).fetchall())
    found.certificates_broken = retention.broken_certificates(conn)
    for purpose, outcome, n in conn.execute(
            "SELECT coalesce(purpose, '-'), split_part(outcome, ':', 1), count(*) FROM governance.audit "
            "WHERE recorded_at::DATE BETWEEN ? AND ? AND role <> 'system' GROUP BY ALL ORDER BY ALL",
            [start, as_of]).fetchall():
        found.audit_by_purpose.setdefault(purpose, {})[outcome] = n
    found.refusals = dict(conn.execute(
        "SELECT split_part(outcome, ':', 2), count(*) FROM governance.audit WHERE outcome LIKE 'refused:%' "
        "AND recorded_at::DATE BETWEEN ? AND ? GROUP BY 1 ORDER BY 2 DESC, 1", [start, as_of]).fetchall())
    found.analytics_published = analytics.last_published(conn)
    found.last_erasure = conn.execute(
        "SELECT max(t) FROM (SELECT max(issued_at) AS t FROM governance.erasure_certificates "
        "WHERE len(call_refs) > 0 OR kind = 'erasure' UNION ALL SELECT max(requested_at) FROM governance.restrictions)"
    ).fetchone()[0]
    found.processing = {stage: int(n) for stage, n in conn.execute(
        "SELECT action, sum(CAST(json_extract(request, '$.calls') AS BIGINT)) FROM governance.audit "
        "WHERE role = 'system' AND recorded_at::DATE BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
        [start, as_of]).fetchall()}
    return found


def _monthly(conn, sql: str, params: list) -> dict[str, Counter]:
    series: dict[str, Counter] = {}
    for month, label, n in conn.execute(sql, params).fetchall():
        series.setdefault(label, Counter())[month] += n
    return series


def _chart(series: dict[str, Counter], months: list[str], title: str, ylabel: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    bottom = [0] * len(months)
    for label, counts in sorted(series.items()):
        values = [counts.get(m, 0) for m in months]
        ax.bar(months, values, bottom=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    if series:
        ax.legend(fontsize=7, ncols=2)
    else:
        ax.text(0.5, 0.5, "nothing in this period", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _months(start: date, end: date) -> list[str]:
    months, d = [], start.replace(day=1)
    while d <= end:
        months.append(d.strftime("%Y-%m"))
        d = (d + timedelta(days=32)).replace(day=1)
    return months


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines


def _mermaid_id(key: str) -> str:
    return key.replace("/", "__")


def write(conn, policy: Policy, pseudonymiser: Pseudonymiser, as_of: date, chain: Verification,
          lineage: list[LineageNode], out_root: Path) -> tuple[Path, Findings]:
    """Write `out_root/<as_of>/evidence-pack.md` and its charts; returns the file and the findings."""
    found = gather(conn, policy, pseudonymiser, as_of, chain)
    folder = out_root / as_of.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    months = _months(found.period_start, as_of)
    period = [found.period_start, as_of]
    access_chart = _chart(_monthly(conn, (
        "SELECT strftime(recorded_at::TIMESTAMP, '%Y-%m'), coalesce(purpose, '-'), count(*) FROM governance.audit "
        "WHERE role <> 'system' AND recorded_at::DATE BETWEEN ? AND ? GROUP BY ALL"), period),
        months, "Uses of personal data by purpose (granted and refused)", "requests", folder / "access_by_purpose.png")
    deletion_chart = _chart(_monthly(conn, (
        "SELECT strftime(run_at, '%Y-%m'), data_class, count(*) FROM governance.retention_log "
        "WHERE run_at::DATE BETWEEN ? AND ? GROUP BY ALL"), period),
        months, "Items deleted by retention and erasure", "items", folder / "deletions_by_class.png")

    certs = conn.execute(
        "SELECT certificate_id, kind, strftime(issued_at, '%Y-%m-%d %H:%M'), scope, counts, bytes_deleted, "
        "suspended_by_hold FROM governance.erasure_certificates WHERE issued_at::DATE BETWEEN ? AND ? "
        "AND (kind = 'erasure' OR len(call_refs) > 0 OR suspended_by_hold > 0) ORDER BY issued_at",
        period).fetchall()
    quarantine = conn.execute(
        "SELECT stage, reason, count(*) FROM casework.quarantine GROUP BY ALL ORDER BY ALL").fetchall()
    restrictions = conn.execute("SELECT kind, count(*) FROM governance.restrictions GROUP BY 1 ORDER BY 1").fetchall()
    holds = conn.execute("SELECT count(*) FROM governance.legal_holds WHERE released_at IS NULL").fetchone()[0]
    clear = reseal.clear_cells(conn)  # casework text cells not sealed at rest

    verdict = lambda ok: "**PASS**" if ok else "**FAIL**"  # noqa: E731
    md = [
        f"# Call recording: annual data protection review pack — {policy.name}",
        "",
        f"Period reviewed: {found.period_start} to {as_of}. Generated {warehouse.utcnow():%Y-%m-%d %H:%M} UTC "
        "by callcanon. This pack holds no personal data: calls appear as hashed references, people as pseudonyms.",
        "",
        "## Summary",
        "",
        *_table(["check", "result", ""], [
            ["Retention: items past their end date still held", verdict(found.overdue_total == 0),
             f"{found.overdue_total} overdue; {found.held_back} kept under legal hold"],
            ["Certificates match their digests", verdict(not found.certificates_broken),
             f"{len(found.certificates_broken)} altered"],
            ["Audit chain verifies", verdict(found.chain_ok),
             f"{found.chain_records} records"
             + (f"; {'; '.join(found.chain_problems)}" if found.chain_problems else "")],
            ["Casework text sealed at rest", verdict(not clear),
             f"{clear} cells in clear"],
            ["Analytics copy republished after the last deletion", verdict(found.copy_after_erasure),
             f"published {found.analytics_published:%Y-%m-%d %H:%M} UTC" if found.analytics_published
             else "never published"],
        ]),
        "",
        "## 1. Lineage: what the automated processing does",
        "",
        "Each step is a Dagster software-defined asset (open the Dagster UI's lineage view for the live graph).",
        "",
        *(["```mermaid", "flowchart LR",
           *[f"  {_mermaid_id(u)} --> {_mermaid_id(n.key)}" for n in lineage for u in n.upstream],
           "```", ""] if lineage else []),
        *_table(["asset", "group", "reads", "last materialised", "what it is"],
                [[f"`{n.key}`", n.group, ", ".join(f"`{u}`" for u in n.upstream) or "—",
                  n.last_materialised or "never", n.description.split("\n")[0]] for n in lineage]),
        "",
        "## 2. Retention adherence",
        "",
        f"Policy profile `{policy.name}`. An item is overdue when its retention period has ended and it still exists "
        "outside a legal hold; the daily retention schedule should keep this at zero.",
        "",
        *_table(["data class", "overdue now", "deleted in period"],
                [[c, found.overdue.get(c, 0), found.deleted.get(c, 0)] for c in retention.SWEPT_CLASSES]),
        "",
        f"Legal holds in force: {holds}. Items past their end date kept under a hold: {found.held_back}.",
        "",
        f"![deletions]({deletion_chart.name})",
        "",
        "## 3. Erasure and retention certificates",
        "",
        "Issued in the period: " + (", ".join(f"{n} {k}" for k, n in found.certificates.items()) or "none") + ". "
        "Each certificate's digest was recomputed from its contents: "
        + ("all match." if not found.certificates_broken
           else f"**{len(found.certificates_broken)} do not match: {', '.join(found.certificates_broken)}**."),
        "Retention runs that deleted nothing are counted above but not listed.",
        "",
        *_table(["certificate", "kind", "issued (UTC)", "scope", "items by class", "bytes", "spared by hold"],
                [[c[0], c[1], c[2], c[3] or "", ", ".join(f"{k} {v}" for k, v in json.loads(c[4]).items()),
                  c[5], c[6]] for c in certs] or [["—", "", "", "", "", "", ""]]),
        "",
        "## 4. Uses of personal data (audit trail)",
        "",
        "Every access names a user, role, purpose and reason; refusals are recorded too.",
        "",
        *_table(["purpose", "granted", "refused"],
                [[p, o.get("granted", 0), o.get("refused", 0)] for p, o in sorted(found.audit_by_purpose.items())]
                or [["—", 0, 0]]),
        "",
        "Refusals by reason: " + (", ".join(f"{k} {v}" for k, v in found.refusals.items()) or "none") + ".",
        "",
        f"![access]({access_chart.name})",
        "",
        "The pipeline's own processing of personal data (calls handled per stage, from its audit records): "
        + (", ".join(f"{k} {v}" for k, v in found.processing.items()) or "none") + ".",
        "",
        "## 5. Audit chain verification",
        "",
        (f"{found.chain_records} records; every record's keyed hash, every link, the separately stored signed "
         "head and the witness log of signed heads were checked: "
         + ("the chain is intact." if found.chain_ok else "**" + "; ".join(found.chain_problems) + "**")),
        "",
        pack_sections.audit_retention_line(policy, chain),
        "",
        *pack_sections.consent_lines(conn, policy, _table),
        "## 7. Also for the review",
        "",
        *pack_sections.keys_lines(conn, clear),
        "Quarantined calls (bad input awaiting a person): "
        + (", ".join(f"{s}/{r} {n}" for s, r, n in quarantine) or "none") + ". "
        "Restriction requests in force: " + (", ".join(f"{k} {n}" for k, n in restrictions) or "none") + ".",
        "",
        "The analytics copy (the only file analysts open: pseudonymised layers, no casework) was last published "
        + (f"{found.analytics_published:%Y-%m-%d %H:%M} UTC" if found.analytics_published else "never")
        + ". A reader that kept an older copy open can read it until it reconnects.",
        "",
        "Reviewed by: ____________________  Date: __________  "
        "DPIA reviewed: [ ] yes  [ ] not needed (no significant change)",
        "",
    ]
    path = folder / "evidence-pack.md"
    path.write_text("\n".join(md))
    return path, found
