"""Governance actions and analysts' phrase searches, in the same audit trail as every access.

Erasure, legal holds, case activity, restriction and retention sweeps change what is kept about
people, so each is recorded with who ran it and why. Who ran it is the operating-system account
of the process (never a name the person typed about themselves); the reason is the request's
reference, pseudonymised like every reason. A phrase search reads the canon only, but a phrase
can be aimed at one person's words, so it is recorded too (the phrase pseudonymised).
"""

from __future__ import annotations

import json
import os
import pwd

from assets.access import audit
from assets.pii.pseudonymiser import Pseudonymiser

GOVERNANCE_ROLE = "operator"  # whoever can run the callcanon CLI on the pipeline's host
ANALYST_ROLE = "analyst"


ADMINISTRATOR_ROLE = "administrator"  # `callcanon users`: the data host's administrator


def actor() -> str:
    """The account this process runs as, from the operating system."""
    return pwd.getpwuid(os.geteuid()).pw_name


def os_identity() -> str:
    """The CLI's identity: the operating-system account, as `callcanon users` names it."""
    return f"os:{actor().casefold()}"


def record_action(conn, key: bytes, pseudonymiser: Pseudonymiser, *, action: str, reason: str | None,
                  object: str | None = None, subject: str | None = None, details: dict | None = None,
                  outcome: str = "done", role: str = GOVERNANCE_ROLE, who: str | None = None) -> int:
    """One governance command, after it ran (`object`/`subject` as call refs or tokens only)."""
    return audit.append(conn, key, actor=who or os_identity(), role=role, action=action, outcome=outcome,
                        object=object, subject=subject, purpose="governance",
                        reason=pseudonymiser.redact(reason or "").text,
                        request=json.dumps(details or {}, sort_keys=True, default=str))


def record_search(conn, key: bytes, pseudonymiser: Pseudonymiser, *, phrase: str, by: str, outcome: str) -> int:
    return audit.append(conn, key, actor=os_identity(), role=ANALYST_ROLE, action="phrase_search", outcome=outcome,
                        purpose="analysis", reason=None,
                        request=json.dumps({"phrase": pseudonymiser.redact(phrase).text, "by": by}, sort_keys=True))
