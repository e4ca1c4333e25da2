"""Who a rights request or legal hold is about, and which calls that reaches.

Requests name a call, a complaint, a phone number or a person's pseudonym token. Numbers are
held by governance as their pseudonym token (so the request tables are not personal data), and
people are found through `casework.call_pseudonyms`, the index of which tokens each call's
transcript produced: it covers calls kept out of the canon by a restriction too.
"""

from __future__ import annotations

import hashlib

from assets.pii.pseudonymiser import TOKEN, Pseudonymiser

SUBJECT_KINDS = ("call", "complaint", "number", "person")


def call_ref(call_id: str) -> str:
    """How logs, certificates and the audit trail name a call: a hash of its id, so none of
    them becomes personal data that an erasure would have to rewrite."""
    return hashlib.sha256(call_id.encode()).hexdigest()[:16]


def subject_ref(pseudonymiser: Pseudonymiser, kind: str, value: str) -> str:
    """What governance tables hold: ids as they are, numbers as their pseudonym token."""
    if kind not in SUBJECT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SUBJECT_KINDS)}")
    if kind == "person" and not TOKEN.fullmatch(value):
        raise ValueError("a person is named by their pseudonym token, e.g. <PERSON_1a2b3c4d>")
    return pseudonymiser.token("PHONE_NUMBER", value) if kind == "number" else value


def matching_calls(conn, pseudonymiser: Pseudonymiser, kind: str, ref: str) -> list[str]:
    """Call ids a subject reference reaches (`ref` as `subject_ref` makes it)."""
    if kind == "call":
        sql, params = "SELECT call_id FROM casework.calls WHERE call_id = ?", [ref]
    elif kind == "complaint":
        sql, params = "SELECT call_id FROM casework.calls WHERE complaint_id = ?", [ref]
    elif kind == "person":
        sql, params = ("SELECT call_id FROM casework.call_pseudonyms WHERE token = ? UNION "
                       "SELECT call_id FROM canon.transcripts WHERE contains(text, ?)"), [ref, ref]
    else:
        numbers = conn.execute(
            "SELECT call_id, external_number FROM casework.calls WHERE external_number IS NOT NULL").fetchall()
        return sorted(c for c, n in numbers if pseudonymiser.token("PHONE_NUMBER", n) == ref)
    return sorted(r[0] for r in conn.execute(sql, params).fetchall())
