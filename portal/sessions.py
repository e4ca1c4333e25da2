"""Server-side sessions, CSRF tokens and the sign-in rate limit, kept in the portal's memory.

The browser holds only a random session id inside Starlette's signed session cookie; who the
session belongs to, when it started and when it was last used live here, so an administrator's
revocation, the idle and absolute limits and a sign-out take effect on the next request, and a
restarted portal signs everyone out (nothing about a session is written to disk). Roles are not
kept in the session: every request asks the warehouse for the identity's live grants.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Session:
    sid: str
    identity: str
    display: str
    created: float
    last_seen: float
    csrf: str
    how: str                                   # "password" | "oidc"
    tickets: dict[str, list] = field(default_factory=dict)  # listen tickets: id -> [expires, audio, fetches left]

    @property
    def ref(self) -> str:
        """How the audit trail names the session: a hash, so the record cannot be replayed as a cookie."""
        return hashlib.sha256(self.sid.encode()).hexdigest()[:16]


class SessionStore:
    def __init__(self, idle_s: float, absolute_s: float, clock: Callable[[], float] = time.monotonic):
        self.idle_s, self.absolute_s, self.clock = idle_s, absolute_s, clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, identity: str, display: str, how: str) -> Session:
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), identity, display, now, now, secrets.token_urlsafe(32), how)
        with self._lock:
            # Sessions nobody came back to go now, with any audio their listen tickets held.
            for sid in [s for s, v in self._sessions.items()
                        if now - v.created > self.absolute_s or now - v.last_seen > self.idle_s]:
                del self._sessions[sid]
            self._sessions[session.sid] = session
        return session

    def get(self, sid: str | None) -> tuple[Session | None, str]:
        """(the live session, "ok"), or (None, why): "none", "unknown", "idle" or "expired"."""
        if not sid:
            return None, "none"
        now = self.clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None, "unknown"
            if now - session.created > self.absolute_s:
                del self._sessions[sid]
                return None, "expired"
            if now - session.last_seen > self.idle_s:
                del self._sessions[sid]
                return None, "idle"
            session.last_seen = now
            return session, "ok"

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)

    def end_all(self, identity: str) -> None:
        with self._lock:
            for sid in [s for s, v in self._sessions.items() if v.identity == identity]:
                del self._sessions[sid]


def csrf_ok(expected: str | None, given) -> bool:
    """Constant-time, and any value a form can carry (text in any script, a file) is just wrong."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


class RateLimit:
    """At most `attempts` failed sign-ins per client address in `window_s` (OWASP ASVS 2.2.1), on
    top of the per-account lockout that `assets.access.identities` keeps. Only failures count, so
    an office signing in through one proxy address is not shut out by its own successes."""

    def __init__(self, attempts: int = 30, window_s: float = 300, clock: Callable[[], float] = time.monotonic):
        self.attempts, self.window_s, self.clock = attempts, window_s, clock
        self._failed: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str) -> deque:
        seen = self._failed.setdefault(client, deque())
        while seen and self.clock() - seen[0] > self.window_s:
            seen.popleft()
        return seen

    def blocked(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client)) >= self.attempts

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(self.clock())
