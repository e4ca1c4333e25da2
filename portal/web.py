"""What every page shares: templates, the signed-in person, CSRF checks and the plain refusal page.

A route calls `person(request)` first: with no live session it gets the redirect to `/login` (or
401 for an API client) to return, and a stale or tampered session cookie is audited on the way.
Nothing personal goes in a URL: every request naming a call or a person is a POST form.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from portal.sessions import Session, csrf_ok
from portal.store import Busy

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
SESSION_COOKIE = "callcanon_session"


@dataclass
class Person:
    session: Session
    roles: list[str]

    @property
    def identity(self) -> str:
        return self.session.identity


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def render(request: Request, name: str, status: int = 200, **context) -> Response:
    return templates.TemplateResponse(request, name, {"request": request, **context}, status_code=status)


def refuse(request: Request, message: str, status: int = 403, audit_seq: int | None = None,
           person: Person | None = None) -> Response:
    if not wants_html(request):
        return JSONResponse({"refused": message, "audit_record": audit_seq}, status_code=status)
    return render(request, "refused.html", status, message=message, audit_seq=audit_seq, person=person)


def person(request: Request) -> Person | Response:
    """The signed-in person with their live roles, or the response to send instead."""
    app = request.app.state
    sid = request.session.get("sid")
    session, why = app.sessions.get(sid)
    if session is None:
        tampered = SESSION_COOKIE in request.cookies and not request.session  # its signature did not verify
        if sid or tampered:  # a session that ran out or was ended, or a forged cookie: on record
            why = why if sid else "invalid"
            try:
                with app.store.connection() as conn:
                    app.store.record(conn, actor="(no session)", role="none", action="portal_request",
                                     outcome=f"refused:session_{why}")
            except Busy:
                pass
        request.session.clear()
        if sid or tampered:
            request.session["notice"] = "Your session has ended or was not valid: sign in again."
        if not wants_html(request):
            return JSONResponse({"refused": "sign in first"}, status_code=401)
        return RedirectResponse("/login", status_code=303)
    with app.store.connection() as conn:
        from assets.access import identities

        roles = identities.roles_of(conn, session.identity)
    return Person(session, roles)


async def checked_form(request: Request, who: Person) -> dict | Response:
    """The POSTed form if its CSRF token is the session's; a refusal (audited) otherwise."""
    form = dict(await request.form())
    if csrf_ok(who.session.csrf, form.get("csrf")) and same_origin(request):
        return form
    with request.app.state.store.connection() as conn:
        seq = request.app.state.store.record(conn, actor=who.identity, role="none", action="portal_post",
                                             outcome="refused:csrf", session=who.session.ref)
    return refuse(request, "This form did not come from this portal (its security token is missing or wrong). "
                           "Open the page again and resubmit.", audit_seq=seq, person=who)


def same_origin(request: Request) -> bool:
    """An Origin header, when the browser sends one, must be this portal's."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return origin.rstrip("/") == f"{request.url.scheme}://{request.headers.get('host', '')}".rstrip("/") \
        or origin.rstrip("/") == (request.app.state.settings.portal_url or "").rstrip("/")
