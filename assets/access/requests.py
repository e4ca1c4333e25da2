"""What a person asks the access layer for: the request (who, which role, what, why), criteria for
finding calls for a rights request, and the refusal they get back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

MIN_REASON_WORDS = 3


@dataclass(frozen=True)
class AccessRequest:
    user: str
    role: str
    action: str
    call_id: str
    purpose: str
    reason: str
    # The policy's request fields, "if known" (GP policy procedure b).
    call_time: str | None = None
    staff_member: str | None = None
    external_number: str | None = None
    parties: str | None = None
    nature: str | None = None
    session: str | None = None  # the portal session's reference, for the audit record


@dataclass(frozen=True)
class CallQuery:
    """Criteria for finding calls to serve a rights request (GP policy procedure i)."""
    date_from: date | None = None
    date_to: date | None = None
    staff_member: str | None = None
    external_number: str | None = None
    complaint_id: str | None = None
    person_name: str | None = None


class AccessRefused(PermissionError):
    def __init__(self, code: str, message: str, audit_seq: int):
        super().__init__(f"refused ({code}): {message} [audit record {audit_seq}]")
        self.code, self.audit_seq = code, audit_seq


def says_something(reason: str | None) -> bool:
    """A reason of at least MIN_REASON_WORDS words: "x" or "just looking" is browsing."""
    return len(re.findall(r"[A-Za-z]{2,}", reason or "")) >= MIN_REASON_WORDS
