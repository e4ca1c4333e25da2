"""Consent: what happens to a call whose recording notice was not played, or whose recording was
stopped at the caller's request, as the policy profile says (`Policy.consent`).

The ombudsman records only when every party was made aware (§3.1) and never stops recording on
request (§2.5): a call with no notice is held out of the canon, themes and marts until governance
releases or erases it, and a stopped recording is a policy exception to report. A GP practice's
callers may remove consent: what was recorded before the stop is kept for the purposes the policy
names and never used for analytics. The cases are worked out from the call's record on every
canon run (so a redelivered sidecar or a changed policy counts); a reviewer's decision is kept.

Calls are named by ref (a hash of the id) here as everywhere in governance, so an erased call's
row says only that a call was erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from assets import warehouse
from assets.access import governance_log
from assets.access.subjects import call_ref
from assets.policy import CONSENT_CASES, Policy

# A call's ref computed in SQL exactly as `call_ref` does in Python.
_REF_SQL = "left(sha256(call_id), 16)"


def cases_of(direction: str | None, notice_played: bool | None, stopped: bool | None) -> list[str]:
    """The consent cases a call's record puts it in (none for a call told and recorded to the end)."""
    cases = []
    if notice_played is None:
        cases.append("notice_unknown")
    elif not notice_played:
        cases.append("no_notice_outbound" if direction == "outbound" else "no_notice_inbound")
    if stopped:
        cases.append("stopped_on_request")
    return cases


def only_for(policy: Policy, direction, notice_played, stopped) -> list[str] | None:
    """The only purposes the call may be reached for (every case's limit at once), or None."""
    limits = [policy.consent.rule(c).only_for for c in cases_of(direction, notice_played, stopped)]
    limits = [set(x) for x in limits if x is not None]
    return sorted(set.intersection(*limits)) if limits else None


def record_date(conn, policy: Policy, call_date) -> set[str]:
    """Record the consent cases of one call date's calls under the current policy, and return the
    call ids consent keeps out of the canon: kept out of analytics, or held and not released."""
    calls = conn.execute("SELECT call_id, direction, privacy_notice_played, recording_stopped_on_request "
                         "FROM casework.calls WHERE call_date = ?", [call_date]).fetchall()
    rows = [(call_ref(cid), cid, case, policy.consent.rule(case).action)
            for cid, direction, notice, stopped in calls for case in cases_of(direction, notice, stopped)]
    now = warehouse.utcnow()
    with warehouse.transaction(conn):
        refs = [call_ref(c[0]) for c in calls]
        # A case that no longer applies (a corrected sidecar) goes, unless someone decided on it.
        conn.execute("DELETE FROM governance.consent_cases WHERE call_date = ? AND decision IS NULL "
                     "AND call_ref IN (SELECT unnest(?)) AND (call_ref || '/' || \"case\") NOT IN (SELECT unnest(?))",
                     [call_date, refs, [f"{r}/{case}" for r, _, case, _ in rows]])
        for ref, _, case, action in rows:
            conn.execute("INSERT INTO governance.consent_cases (call_ref, call_date, \"case\", action, found_at) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT (call_ref, \"case\") DO UPDATE SET "
                         "action = excluded.action, call_date = excluded.call_date",
                         [ref, call_date, case, action, now])
    released = {r[0] for r in conn.execute(
        "SELECT call_ref FROM governance.consent_cases WHERE call_date = ? AND decision = 'released'",
        [call_date]).fetchall()}
    return {cid for ref, cid, case, action in rows
            if action == "keep_out_of_analytics" or (action == "hold_for_review" and ref not in released)}


@dataclass(frozen=True)
class Case:
    call_id: str | None     # None once the call is gone (erased, or deleted by retention)
    call_date: object
    case: str
    action: str
    decision: str | None


def listed(conn, *, pending_only: bool = False) -> list[Case]:
    """What governance reviews: every call a consent case applies to whose action is not `use`
    (held, kept out of analytics, policy exceptions), oldest first; or only the holds awaiting a decision."""
    where = "k.action = 'hold_for_review' AND k.decision IS NULL" if pending_only else "k.action <> 'use'"
    rows = conn.execute(
        f"""SELECT c.call_id, k.call_date, k."case", k.action, k.decision
            FROM governance.consent_cases k
            LEFT JOIN (SELECT call_id, {_REF_SQL} AS call_ref FROM casework.calls) c USING (call_ref)
            WHERE {where} ORDER BY k.call_date, k.found_at, k."case" """).fetchall()
    return [Case(*r) for r in rows]


class ConsentError(ValueError):
    pass


def decide(conn, key: bytes, pseudonymiser, call_id: str, decision: str, *, who: str, role: str,
           reason: str) -> object:
    """A reviewer's decision on a held call: `released` (it goes through from its call date's next
    run) or `erased` (recorded once the erasure has removed it). Audited; returns the call date."""
    if decision not in ("released", "erased"):
        raise ConsentError("a held call is released or erased")
    ref = call_ref(call_id)
    held = conn.execute("SELECT call_date FROM governance.consent_cases WHERE call_ref = ? "
                        "AND action = 'hold_for_review' AND decision IS NULL", [ref]).fetchall()
    if not held:
        raise ConsentError("no call awaiting a consent review has that id")
    # The audit record first: a decision is never on record without it (a retry after a crash
    # between the two records the decision again, with a second audit record).
    seq = governance_log.record_action(conn, key, pseudonymiser, action=f"consent_{decision[:-1]}",
                                       reason=reason, object=ref, who=who, role=role)
    conn.execute("UPDATE governance.consent_cases SET decision = ?, decided_at = ?, decided_by = ?, "
                 "decider_role = ?, audit_seq = ? WHERE call_ref = ? AND action = 'hold_for_review' "
                 "AND decision IS NULL", [decision, warehouse.utcnow(), who, role, seq, ref])
    return held[0][0]


def dates_awaiting_canon(conn) -> list:
    """Call dates of released calls that are still in casework and not yet in the canon: the next
    run processes them again, so a release is never lost to a failed or skipped run."""
    rows = conn.execute(
        f"""SELECT DISTINCT k.call_date FROM governance.consent_cases k
            JOIN (SELECT call_id, {_REF_SQL} AS call_ref FROM casework.calls) c USING (call_ref)
            WHERE k.decision = 'released' AND c.call_id NOT IN (SELECT call_id FROM canon.transcripts)
              AND c.call_id NOT IN ({warehouse.retired_sql('canon')})
              AND c.call_id IN (SELECT call_id FROM casework.transcripts)
              AND k.call_ref NOT IN (SELECT call_ref FROM governance.consent_cases
                                     WHERE action = 'keep_out_of_analytics')
            ORDER BY 1""").fetchall()
    return [r[0] for r in rows]


def summary(conn) -> dict[tuple[str, str], dict[str, int]]:
    """(case, action) -> {calls, pending, released, erased}: the evidence pack's counts."""
    out = {}
    for case, action, calls, pending, released, erased in conn.execute(
            """SELECT "case", action, count(*), count(*) FILTER (decision IS NULL AND action = 'hold_for_review'),
                      count(*) FILTER (decision = 'released'), count(*) FILTER (decision = 'erased')
               FROM governance.consent_cases GROUP BY 1, 2""").fetchall():
        out[(case, action)] = {"calls": calls, "pending": pending, "released": released, "erased": erased}
    return dict(sorted(out.items(), key=lambda kv: (CONSENT_CASES.index(kv[0][0]), kv[0][1])))


def released_dates_waiting(database) -> list:
    """`dates_awaiting_canon` from the warehouse file, read-only (none when there is no file or
    it predates consent)."""
    if not Path(database).exists():
        return []
    with warehouse.connect(database, read_only=True) as conn:
        try:
            return dates_awaiting_canon(conn)
        except duckdb.CatalogException:
            return []
