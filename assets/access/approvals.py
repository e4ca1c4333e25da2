"""Four-eyes: a disciplinary or police release needs the recorded approval of a *different* identity
holding a granted role that authorises the purpose. A requester asks (`ask`); an authoriser sees
the queue (`pending`) and approves or declines (`decide`); the access layer then finds the approval
for that call, purpose and requester. Every step is audited; identities are compared normalised.
"""

from __future__ import annotations

from datetime import timedelta

from assets import warehouse
from assets.access import identities
from assets.access.requests import AccessRefused, AccessRequest, says_something
from assets.access.subjects import call_ref

APPROVAL_LASTS = timedelta(days=7)  # an approval not used by then lapses


def ask(layer, req: AccessRequest) -> int:
    """Put a release that needs approval in the authorisers' queue; returns the request id. The
    call is not looked at (a queued request says nothing about whether it exists)."""
    if req.purpose not in layer.policy.access.needs_approval:
        raise ValueError(f"'{req.purpose}' releases need no approval")
    if req.action == "search_calls":
        raise ValueError("searches are not approved: approval is for one action on one call")
    refusal = layer.policy_refusal(req)
    if refusal and refusal[0] != "needs_approval":
        seq = layer._record(AccessRequest(**{**req.__dict__, "action": "ask_approval"}),
                            f"refused:{refusal[0]}", None)
        raise AccessRefused(refusal[0], refusal[1], seq)
    who = identities.normalise(req.user)
    request_id = warehouse.insert_row(
        layer.conn, "governance.approval_requests", returning="request_id", call_ref=call_ref(req.call_id),
        action=req.action, purpose=req.purpose, requested_by=who, requester_role=req.role,
        reason=layer.pseudonymiser.redact(req.reason).text, requested_at=warehouse.utcnow())
    layer._record(AccessRequest(**{**req.__dict__, "action": "ask_approval"}), f"granted:request {request_id}", None)
    return request_id


def pending(conn) -> list[tuple]:
    """(request_id, call_ref, action, purpose, requested_by, requester_role, reason, requested_at)."""
    return conn.execute("SELECT request_id, call_ref, action, purpose, requested_by, requester_role, reason, "
                        "requested_at FROM governance.approval_requests WHERE decided_at IS NULL "
                        "ORDER BY request_id").fetchall()


def decide(layer, *, approver: str, role: str, request_id: int, approve: bool, reason: str,
           session: str | None = None) -> int:
    """Approve or decline a queued request as `approver` acting in `role`; the audit record's seq."""
    conn = layer.conn
    row = conn.execute("SELECT call_ref, purpose, requested_by, decided_at, action FROM governance.approval_requests "
                       "WHERE request_id = ?", [request_id]).fetchone()
    role_def = layer.policy.access.roles.get(role)
    refusal = None
    if role_def is None or not identities.holds(conn, approver, role):
        refusal = ("role_not_granted", f"the {role} role is not granted to {approver}")
    elif row is None or row[3] is not None:
        refusal = ("no_such_request", "no such request waiting for a decision")
    elif row[1] not in role_def.authorises:
        refusal = ("cannot_authorise", f"a {role} may not authorise '{row[1]}' releases")
    elif identities.normalise(approver) == row[2]:
        refusal = ("self_approval", "nobody may approve their own request")
    elif not says_something(reason):
        refusal = ("no_reason", "give the reason for the decision")
    audit_req = AccessRequest(approver, role, "approve" if approve else "decline", "", row[1] if row else "",
                              reason, session=session)
    outcome = f"refused:{refusal[0]}" if refusal else f"granted:request {request_id} for {row[2]}"
    seq = layer._record(audit_req, outcome, None, object=row[0] if row else None)
    if refusal:
        raise AccessRefused(refusal[0], refusal[1], seq)
    now = warehouse.utcnow()
    conn.execute("UPDATE governance.approval_requests SET decided_at = ?, decided_by = ?, decision = ? "
                 "WHERE request_id = ?", [now, identities.normalise(approver), "approved" if approve else "declined",
                                          request_id])
    if approve:
        warehouse.insert_row(conn, "governance.access_approvals", call_ref=row[0], purpose=row[1], for_user=row[2],
                             approved_by=identities.normalise(approver), approver_role=role, approved_at=now,
                             audit_seq=seq, action=row[4], expires_at=now + APPROVAL_LASTS)
    return seq


def approve_call(layer, *, approver: str, role: str, call_id: str, action: str, purpose: str, for_user: str,
                 reason: str) -> int:
    """The data host's route (`callcanon access approve`): queue the request and decide it at once,
    with the same checks (the approver is not the requester, and holds an authorising role)."""
    if not layer.conn.execute("SELECT 1 FROM casework.calls WHERE call_id = ?", [call_id]).fetchone():
        seq = layer._record(AccessRequest(approver, role, "approve", call_id, purpose, reason),
                            "refused:no_such_call", None)
        raise AccessRefused("no_such_call", "no such call", seq)
    request_id = warehouse.insert_row(
        layer.conn, "governance.approval_requests", returning="request_id", call_ref=call_ref(call_id),
        action=action, purpose=purpose, requested_by=identities.normalise(for_user), requester_role="",
        reason=None, requested_at=warehouse.utcnow())
    try:
        return decide(layer, approver=approver, role=role, request_id=request_id, approve=True, reason=reason)
    except AccessRefused:
        layer.conn.execute("DELETE FROM governance.approval_requests WHERE request_id = ?", [request_id])
        raise
