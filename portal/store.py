"""The portal's way into the warehouse: one short connection per request, one request at a time.

DuckDB allows one writing process, and the pipeline is the writer that matters, so the portal never
keeps the file open: each request opens it, makes its audited decision, reads what it releases into
memory and closes it, usually within a fraction of a second. When a pipeline step holds the file,
the request waits and retries for a few seconds and then says the service is busy; the pipeline's
steps retry the same way when a portal request holds it (`pipelines/retries.py`).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from assets import keys, warehouse
from assets.access import audit
from assets.access.layer import AccessLayer
from assets.audio.vault import AudioVault
from assets.pii.pseudonymiser import Pseudonymiser
from assets.policy import Policy, load_policy
from assets.settings import Settings

BUSY_WAIT_S = 8.0


class Busy(RuntimeError):
    """The pipeline holds the warehouse longer than a person should wait."""


@dataclass
class Store:
    settings: Settings
    policy: Policy
    pseudonymiser: Pseudonymiser
    pseudonym_key: bytes

    @classmethod
    def open(cls, settings: Settings) -> Store:
        """Load the policy and every secret the portal needs, and bring the warehouse's schema up
        to date, before serving anything: a missing key is an error at start, not mid-request."""
        key = keys.PSEUDONYM.load()
        keys.load_audit_signing_key()
        AudioVault.from_keys()  # a missing audio key is an error at start
        store = cls(settings, load_policy(settings.policy), Pseudonymiser(key), key)
        with store.connection() as conn:
            warehouse.ensure_schema(conn)
        threading.Thread(target=store._warm, daemon=True).start()
        return store

    def _warm(self) -> None:
        """Load the pseudonymiser's models now rather than on the first person's request."""
        self.pseudonymiser.redact("warming up the recognisers")

    _lock = threading.Lock()

    @contextmanager
    def connection(self):
        deadline = time.monotonic() + BUSY_WAIT_S
        with self._lock:
            while True:
                try:
                    conn = warehouse.connect(self.settings.warehouse_path)
                    break
                except duckdb.IOException as exc:
                    if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                        raise Busy("the call store is busy with the pipeline; try again in a minute") from exc
                    time.sleep(0.25)
            try:
                yield conn
            finally:
                conn.close()

    def layer(self, conn) -> AccessLayer:
        # The audio key is read for each request, so a key rotation needs no restart.
        return AccessLayer(conn, self.policy, self.pseudonymiser, self.pseudonym_key, AudioVault.from_keys())

    def record(self, conn, *, actor: str, role: str, action: str, outcome: str, session: str | None = None,
               details: dict | None = None) -> int:
        """A portal event that is not an access decision (sign-in, sign-out, a refused request)."""
        import json

        request = json.dumps({**(details or {}), "session": session}, sort_keys=True)
        return audit.append(conn, audit.chain_key(self.pseudonym_key), actor=actor, role=role, action=action,
                            outcome=outcome, purpose="portal", request=request)
