"""The personal-data pages: find calls for a rights request, open a call for a stated purpose
(transcript, listening, a download where the policy allows it), and the subject-access package.

Every decision is the access layer's (`assets.access.layer`), made for the signed-in identity in a
role it was granted; the portal only offers what the policy could allow and shows the refusal.
Audio is unsealed into memory and streamed: listening writes nothing to disk, and roles that may
not download get no download control (and are refused if they try).
"""

from __future__ import annotations

import io
import json
import secrets
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from assets.access import approvals, releases
from assets.access.requests import AccessRefused, AccessRequest, CallQuery
from portal.web import Person, checked_form, person, refuse, render

# One message for a call that does not exist, is outside the role's scope, or does not match the
# request's details, so that a refusal never says whether a call exists (the audit keeps which).
NOT_FOR_YOU = "This call cannot be opened for you with this request."
HIDDEN = {"no_such_call", "not_own_call", "request_mismatch"}
TICKET_S = 600
TICKET_FETCHES = 3  # the player's first load and a seek or two
ACTIONS = {"view_transcript": "Read the transcript", "listen": "Listen", "download_audio": "Download the audio",
           "export": "Export metadata and transcript"}
REQUEST_FIELDS = ("call_time", "staff_member", "external_number", "parties", "nature")


def _offer(request: Request, who: Person) -> dict:
    """What the page offers this person: only their granted roles, and per role what it may do."""
    policy = request.app.state.store.policy
    roles = {r: policy.access.roles[r] for r in who.roles if r in policy.access.roles}
    searchers = {r: role for r, role in roles.items() if "search_calls" in role.may}
    return {"roles": list(roles), "searchers": list(searchers),
            "actions": {a: label for a, label in ACTIONS.items() if any(a in role.may for role in roles.values())},
            "purposes": list(dict.fromkeys(p for role in roles.values() if role.may for p in role.purposes)),
            "search_purposes": list(dict.fromkeys(p for role in searchers.values() for p in role.purposes)),
            "sar": any("export" in role.may for role in searchers.values())}


def _refused(request: Request, who: Person, exc: AccessRefused, form: dict | None = None) -> Response:
    message = NOT_FOR_YOU if exc.code in HIDDEN else str(exc).split(": ", 1)[-1].rsplit(" [audit", 1)[0]
    ask = exc.code == "needs_approval" and form is not None
    return render(request, "refused.html", 403, message=message, audit_seq=exc.audit_seq, person=who,
                  ask=form if ask else None, csrf=who.session.csrf)


async def calls_page(request: Request) -> Response:
    who = person(request)
    if isinstance(who, Response):
        return who
    return render(request, "calls.html", person=who, csrf=who.session.csrf, results=None, searched={},
                  **_offer(request, who))


def _req(who: Person, form: dict, action: str) -> AccessRequest:
    return AccessRequest(user=who.identity, role=str(form.get("role", "")), action=action,
                         call_id=str(form.get("call_id", "")).strip(), purpose=str(form.get("purpose", "")),
                         reason=str(form.get("reason", "")), session=who.session.ref,
                         **{f: (str(form.get(f)).strip() or None) if form.get(f) else None for f in REQUEST_FIELDS})


def _query(form: dict) -> CallQuery:
    def day(name):
        return date.fromisoformat(form[name]) if form.get(name) else None
    return CallQuery(day("date_from"), day("date_to"), form.get("staff") or None, form.get("number") or None,
                     form.get("complaint") or None, form.get("person") or None)


async def search(request: Request) -> Response:
    who = person(request)
    if isinstance(who, Response):
        return who
    form = await checked_form(request, who)
    if isinstance(form, Response):
        return form
    store = request.app.state.store
    try:
        query = _query(form)
    except ValueError:
        return refuse(request, "Give dates as YYYY-MM-DD.", status=400, person=who)
    with store.connection() as conn:
        try:
            found = store.layer(conn).search_calls(_req(who, form, "search_calls"), query)
        except AccessRefused as exc:
            return _refused(request, who, exc)
    return render(request, "calls.html", person=who, csrf=who.session.csrf, results=found,
                  searched={k: v for k, v in form.items() if k != "csrf"}, **_offer(request, who))


async def open_call(request: Request) -> Response:
    """One access to one call: the action chosen, for the purpose and reason given."""
    who = person(request)
    if isinstance(who, Response):
        return who
    form = await checked_form(request, who)
    if isinstance(form, Response):
        return form
    action = str(form.get("action", ""))
    if action not in ACTIONS:
        return refuse(request, "Choose what to do with the call.", status=400, person=who)
    req = _req(who, form, action)
    store = request.app.state.store
    with store.connection() as conn:
        layer = store.layer(conn)
        try:
            if action == "view_transcript":
                return render(request, "transcript.html", person=who, csrf=who.session.csrf,
                              text=layer.view_transcript(req), call_id=req.call_id)
            if action == "listen":
                audio = layer.listen(req).getvalue()
            elif action == "download_audio":
                return _attachment(layer.download_to_browser(req), "recording.wav", "audio/wav")
            else:
                document = layer.export_document(req)
                releases.record_sent(conn, kind="export", call_id=req.call_id, actor=who.identity,
                                     to=f"browser session {who.session.ref}")
                return _attachment(io.BytesIO(json.dumps(document, indent=1).encode()), "call.json",
                                   "application/json")
        except AccessRefused as exc:
            return _refused(request, who, exc, form)
        except FileNotFoundError as exc:
            return refuse(request, str(exc), status=410, person=who)
    ticket = secrets.token_urlsafe(24)
    who.session.tickets = {t: v for t, v in who.session.tickets.items() if v[0] > time.monotonic()}
    who.session.tickets[ticket] = [time.monotonic() + TICKET_S, audio, TICKET_FETCHES]
    return render(request, "listen.html", person=who, csrf=who.session.csrf, ticket=ticket, call_id=req.call_id)


async def audio(request: Request) -> Response:
    """The unsealed audio for a listen ticket of this session: from memory, never from a file."""
    who = person(request)
    if isinstance(who, Response):
        return who
    ticket = request.path_params["ticket"]
    held = who.session.tickets.get(ticket)
    if held is None or held[0] < time.monotonic() or held[2] < 1:
        who.session.tickets.pop(ticket, None)
        return refuse(request, "This recording is no longer open: open the call again.", status=404, person=who)
    held[2] -= 1
    audio = held[1]
    if held[2] < 1:
        del who.session.tickets[ticket]
    return Response(audio, media_type="audio/wav", headers={"Cache-Control": "no-store",
                                                             "Content-Disposition": "inline"})


def _attachment(data: io.BytesIO, name: str, media_type: str) -> Response:
    return StreamingResponse(iter([data.getvalue()]), media_type=media_type,
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store"})


async def subject_access(request: Request) -> Response:
    """A subject access / portability package of the calls matching the criteria, as one zip."""
    who = person(request)
    if isinstance(who, Response):
        return who
    form = await checked_form(request, who)
    if isinstance(form, Response):
        return form
    store = request.app.state.store
    try:
        query = _query(form)
    except ValueError:
        return refuse(request, "Give dates as YYYY-MM-DD.", status=400, person=who)
    with tempfile.TemporaryDirectory(prefix="callcanon-sar-") as tmp, store.connection() as conn:
        try:
            package = store.layer(conn).subject_access_package(_req(who, form, "export"), query, Path(tmp))
        except AccessRefused as exc:
            return _refused(request, who, exc)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(package.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(package.parent))
        releases.mark_sent(conn, package, f"browser session {who.session.ref}")
    buffer.seek(0)
    return _attachment(buffer, "subject-access-package.zip", "application/zip")


async def ask_approval(request: Request) -> Response:
    who = person(request)
    if isinstance(who, Response):
        return who
    form = await checked_form(request, who)
    if isinstance(form, Response):
        return form
    store = request.app.state.store
    with store.connection() as conn:
        try:
            request_id = approvals.ask(store.layer(conn), _req(who, form, str(form.get("action", ""))))
        except (AccessRefused, ValueError) as exc:
            if isinstance(exc, AccessRefused):
                return _refused(request, who, exc)
            return refuse(request, str(exc), status=400, person=who)
    return render(request, "message.html", person=who, csrf=who.session.csrf,
                  message=f"Request {request_id} is waiting for an authoriser's approval. Open the call again "
                          "once it is approved.")


def home(request: Request) -> Response:
    return RedirectResponse("/calls", status_code=303)
