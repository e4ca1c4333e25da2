"""`callcanon portal`: the one door to personal data for people (Starlette, Jinja2, uvicorn).

Why Starlette rather than FastAPI or Django: the portal is a handful of server-rendered forms, not
a JSON API (FastAPI's request models and OpenAPI would go unused) and needs no ORM or admin
(Django's would sit beside the warehouse, which the pipeline owns). Starlette is what FastAPI is
built on, it is already installed with Dagster's webserver, and Authlib has a client for it.

Security headers follow OWASP ASVS level 2: a Content-Security-Policy with no inline script (the
portal has no JavaScript at all), no framing, no caching of pages, no referrer to other sites
(same-origin: with no-referrer a browser sends `Origin: null` on our own forms, which the CSRF
check must refuse); the session cookie is HttpOnly, SameSite=Lax (the identity provider's
redirect back is a top-level GET) and Secure unless `CALLCANON_PORTAL_SECURE_COOKIES=false`.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from assets.settings import Settings
from portal import auth, calls, governance
from portal.sessions import RateLimit, SessionStore
from portal.store import Busy, Store
from portal.web import SESSION_COOKIE, refuse

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class SecurityHeaders:
    """Pure ASGI, so streamed downloads pass straight through."""

    def __init__(self, app, hsts: bool):
        self.app, self.hsts = app, hsts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                           or scope["path"].startswith("/static/")]
                headers += [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"),
                            (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
                            (b"cross-origin-opener-policy", b"same-origin"),
                            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]
                if not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, send_with_headers)


async def healthz(request: Request) -> PlainTextResponse:
    """Up, and nothing else: no version, no counts, no names."""
    return PlainTextResponse("ok")


async def busy(request: Request, exc: Busy):
    return refuse(request, str(exc), status=503)


def _oauth(settings: Settings):
    if not settings.oidc_issuer:
        return None
    from authlib.integrations.starlette_client import OAuth

    from assets import keys

    if not settings.oidc_client_id:
        raise keys.SecretError("CALLCANON_OIDC_ISSUER is set but CALLCANON_OIDC_CLIENT_ID is not")
    oauth = OAuth()
    oauth.register("idp", client_id=settings.oidc_client_id, client_secret=keys.load_oidc_client_secret(),
                   server_metadata_url=f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration",
                   client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"})
    return oauth.create_client("idp")


def create_app(settings: Settings | None = None, store: Store | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    routes = [
        Route("/healthz", healthz),
        Route("/", calls.home),
        Route("/login", auth.login_page, methods=["GET"]),
        Route("/login", auth.login_submit, methods=["POST"]),
        Route("/login/oidc", auth.oidc_start),
        Route("/auth/callback", auth.oidc_callback),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/calls", calls.calls_page, methods=["GET"]),
        Route("/calls/search", calls.search, methods=["POST"]),
        Route("/call", calls.open_call, methods=["POST"]),
        Route("/audio/{ticket}", calls.audio),
        Route("/sar", calls.subject_access, methods=["POST"]),
        Route("/approvals", governance.approvals_page, methods=["GET"]),
        Route("/approvals/ask", calls.ask_approval, methods=["POST"]),
        Route("/approvals/decide", governance.decide, methods=["POST"]),
        Route("/audit", governance.audit_page),
        Route("/holds", governance.holds_page),
        Mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders, hsts=settings.portal_secure_cookies),
        # The cookie carries only a random session id (and Authlib's sign-in state), signed with a key
        # made at start: a restart signs everyone out, and nothing needs keeping.
        Middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32), session_cookie=SESSION_COOKIE,
                   max_age=None, same_site="lax", https_only=settings.portal_secure_cookies),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={Busy: busy})
    app.state.settings = settings
    app.state.store = store or Store.open(settings)
    app.state.sessions = SessionStore(settings.portal_idle_minutes * 60, settings.portal_absolute_hours * 3600)
    app.state.rate_limit = RateLimit()
    app.state.oauth = _oauth(settings)
    app.state.local_accounts = (settings.portal_local_accounts if settings.portal_local_accounts is not None
                                else not settings.oidc_issuer)
    app.state.base_url = lambda request: (settings.portal_url or str(request.base_url)).rstrip("/")
    return app
