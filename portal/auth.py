"""Signing in and out: local accounts (argon2, lockout, rate limit) and OpenID Connect.

OpenID Connect is Authlib's Starlette client, authorisation-code flow with PKCE (S256) and a nonce,
configured from the issuer's discovery document; the identity is `oidc:<sub>` and must be one an
administrator added (`callcanon users add oidc:SUB`): signing in at the provider grants nothing by
itself. Every attempt, successful or not, is in the audit trail; a failed local sign-in never says
whether the name exists, and the session id changes at sign-in (no session fixation).
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assets.access import identities
from portal.sessions import csrf_ok
from portal.web import person, refuse, render, same_origin

FAILED = "Sign-in failed: the user name or password is wrong, or the account is locked after repeated failures."


def _login_csrf(request: Request) -> str:
    token = request.session.get("login_csrf") or secrets.token_urlsafe(32)
    request.session["login_csrf"] = token
    return token


async def login_page(request: Request) -> Response:
    state = request.app.state
    notice = request.session.pop("notice", None)
    return render(request, "login.html", csrf=_login_csrf(request), local=state.local_accounts, notice=notice,
                  oidc=state.oauth is not None, issuer=state.settings.oidc_issuer)


def _begin(request: Request, identity: str, how: str) -> Response:
    state = request.app.state
    with state.store.connection() as conn:
        display = identities.display_name(conn, identity)
    session = state.sessions.start(identity, display, how)
    request.session.clear()
    request.session["sid"] = session.sid
    with state.store.connection() as conn:
        state.store.record(conn, actor=identity, role="none", action="sign_in", outcome=f"granted:{how}",
                           session=session.ref)
    return RedirectResponse("/calls", status_code=303)


async def login_submit(request: Request) -> Response:
    state = request.app.state
    form = await request.form()
    client = request.client.host if request.client else "unknown"
    if not state.local_accounts:
        return refuse(request, "Local accounts are switched off here: sign in with the organisation's account.")
    if not (csrf_ok(request.session.get("login_csrf"), form.get("csrf")) and same_origin(request)):
        with state.store.connection() as conn:
            seq = state.store.record(conn, actor="(unknown identity)", role="none", action="sign_in",
                                     outcome="refused:csrf")
        return refuse(request, "This sign-in form has expired or did not come from this portal: open it again.",
                      audit_seq=seq)
    if state.rate_limit.blocked(client):
        with state.store.connection() as conn:
            state.store.record(conn, actor="(unknown)", role="none", action="sign_in", outcome="refused:rate_limited")
        return refuse(request, "Too many sign-in attempts from here: wait a few minutes.", status=429)
    with state.store.connection() as conn:
        ident, outcome = identities.check_password(conn, str(form.get("username", "")), str(form.get("password", "")))
        if outcome == "ok" and not identities.roles_of(conn, ident):
            outcome = "no_roles"
        if outcome != "ok":
            # The name typed is not recorded unless it is a known identity (it may be a password typed in the
            # wrong box); a known one is, so that an attack on an account shows in the trail.
            seq = state.store.record(conn, actor=ident or "(unknown identity)", role="none", action="sign_in",
                                     outcome=f"refused:{outcome}")
    if outcome != "ok":
        state.rate_limit.failed(client)
        message = ("Your account holds no role: ask the administrator." if outcome == "no_roles" else FAILED)
        return refuse(request, message, status=401, audit_seq=seq)
    return _begin(request, ident, "password")


async def logout(request: Request) -> Response:
    who = person(request)
    if isinstance(who, Response):
        return who
    form = await request.form()
    if not csrf_ok(who.session.csrf, form.get("csrf")):  # a forged sign-out is refused, not pretended
        return refuse(request, "This sign-out did not come from this portal: use the Sign out button.",
                      person=who)
    state = request.app.state
    state.sessions.end(who.session.sid)
    with state.store.connection() as conn:
        state.store.record(conn, actor=who.identity, role="none", action="sign_out", outcome="done",
                           session=who.session.ref)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def oidc_start(request: Request) -> Response:
    oauth = request.app.state.oauth
    if oauth is None:
        return refuse(request, "No identity provider is configured here.", status=404)
    redirect = f"{request.app.state.base_url(request)}/auth/callback"
    return await oauth.authorize_redirect(request, redirect, nonce=secrets.token_urlsafe(24))


async def oidc_callback(request: Request) -> Response:
    state = request.app.state
    if state.oauth is None:
        return refuse(request, "No identity provider is configured here.", status=404)
    try:
        token = await state.oauth.authorize_access_token(request)
    except Exception as exc:  # noqa: BLE001  an OAuth error, an ID token that fails its checks, an unreachable issuer
        why = getattr(exc, "error", None) or type(exc).__name__
        with state.store.connection() as conn:
            seq = state.store.record(conn, actor="(unknown identity)", role="none", action="sign_in",
                                     outcome=f"refused:oidc_{why}")
        return refuse(request, "The identity provider did not sign you in.", status=401, audit_seq=seq)
    claims = token.get("userinfo") or {}
    sub = str(claims.get("sub") or "")
    try:
        ident = identities.normalise(f"oidc:{sub}")
    except identities.IdentityError:
        ident = None
    with state.store.connection() as conn:
        ok = bool(ident) and identities.known(conn, ident) and bool(identities.roles_of(conn, ident))
        if not ok:
            seq = state.store.record(conn, actor=ident or "(unknown identity)", role="none", action="sign_in",
                                     outcome="refused:unknown_identity")
    if not ok:
        return refuse(request, "Your organisation account is not set up for this portal: ask the administrator.",
                      status=403, audit_seq=seq)
    return _begin(request, ident, "oidc")
