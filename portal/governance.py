"""Governance pages: the approvals queue (authorising roles), the audit trail with its verification
result, and legal holds with the retention log (the policy's governance roles). A person without
the role gets the refusal page, audited like any other refusal."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from assets import retention
from assets.access import approvals, audit
from assets.access.requests import AccessRefused
from assets.canon import consent
from portal.web import Person, checked_form, person, refuse, render


def _allowed(request: Request, who: Person, page: str) -> tuple[str | None, Response | None]:
    """The role that lets this person see `page`, or the audited refusal."""
    policy = request.app.state.store.policy
    if page == "approvals":
        fits = [r for r in who.roles if r in policy.access.roles and policy.access.roles[r].authorises]
    else:
        fits = [r for r in who.roles if r in policy.access.governing()]
    if fits:
        return fits[0], None
    store = request.app.state.store
    with store.connection() as conn:
        seq = store.record(conn, actor=who.identity, role=",".join(who.roles) or "none", action=f"view_{page}",
                           outcome="refused:role_not_granted", session=who.session.ref)
    return None, refuse(request, f"None of your roles may see the {page} page.", audit_seq=seq, person=who)


async def approvals_page(request: Request) -> Response:
    who = person(request)
    if isinstance(who, Response):
        return who
    role, refusal = _allowed(request, who, "approvals")
    if refusal:
        return refusal
    with request.app.state.store.connection() as conn:
        queue = approvals.pending(conn)
    authorising = [r for r in who.roles if request.app.state.store.policy.access.roles.get(r)
                   and request.app.state.store.policy.access.roles[r].authorises]
    return render(request, "approvals.html", person=who, csrf=who.session.csrf, queue=queue, roles=authorising)


async def decide(request: Request) -> Response:
    who = person(request)
    if isinstance(who, Response):
        return who
    form = await checked_form(request, who)
    if isinstance(form, Response):
        return form
    store = request.app.state.store
    try:
        request_id = int(form.get("request_id", ""))
    except ValueError:
        return refuse(request, "No such request.", status=400, person=who)
    with store.connection() as conn:
        try:
            seq = approvals.decide(store.layer(conn), approver=who.identity, role=str(form.get("role", "")),
                                   request_id=request_id, approve=form.get("decision") == "approve",
                                   reason=str(form.get("reason", "")), session=who.session.ref)
        except AccessRefused as exc:
            return refuse(request, str(exc).split(": ", 1)[-1].rsplit(" [audit", 1)[0], audit_seq=exc.audit_seq,
                          person=who)
    return render(request, "message.html", person=who, csrf=who.session.csrf,
                  message=f"Decision recorded (audit record {seq}).")


async def audit_page(request: Request) -> Response:
    who = person(request)
    if isinstance(who, Response):
        return who
    role, refusal = _allowed(request, who, "audit")
    if refusal:
        return refusal
    store = request.app.state.store
    with store.connection() as conn:
        result = audit.verify(conn, audit.chain_key(store.pseudonym_key))
        rows = audit.recent(conn)
        store.record(conn, actor=who.identity, role=role, action="view_audit", outcome="granted",
                     session=who.session.ref)
    return render(request, "audit.html", person=who, csrf=who.session.csrf, result=result, rows=rows)


async def holds_page(request: Request) -> Response:
    who = person(request)
    if isinstance(who, Response):
        return who
    role, refusal = _allowed(request, who, "holds")
    if refusal:
        return refusal
    store = request.app.state.store
    with store.connection() as conn:
        holds, status = retention.list_holds(conn), retention.retention_status(conn)
        consent_cases = consent.listed(conn)
        store.record(conn, actor=who.identity, role=role, action="view_holds", outcome="granted",
                     session=who.session.ref)
    return render(request, "holds.html", person=who, csrf=who.session.csrf, holds=holds, retention_status=status,
                  consent_cases=consent_cases)
