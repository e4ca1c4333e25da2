"""Erasure certificates: what a retention run or an erasure request deleted, why and when, with
counts and hashed call references, sealed by a digest so a later edit shows."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from assets import warehouse


@dataclass
class Certificate:
    certificate_id: str
    kind: str
    policy: str
    reason: str
    scope: str | None
    as_of: date | None
    counts: dict[str, int] = field(default_factory=dict)
    bytes_deleted: int = 0
    call_refs: list[str] = field(default_factory=list)
    suspended_by_hold: int = 0
    digest: str = ""


def new_certificate_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def issue_certificate(conn, certificate_id: str, kind: str, policy: str, reason: str, scope: str | None,
                      as_of: date | None, suspended_by_hold: int = 0) -> Certificate:
    """Sum up what the log says this run deleted, seal it with a digest, and file it."""
    rows = conn.execute(
        "SELECT data_class, call_ref, coalesce(bytes_deleted, 0) FROM governance.retention_log "
        "WHERE certificate_id = ?", [certificate_id]).fetchall()
    cert = Certificate(
        certificate_id, kind, policy, reason, scope, as_of,
        counts=dict(sorted(Counter(r[0] for r in rows).items())),
        bytes_deleted=sum(r[2] for r in rows),
        call_refs=sorted({r[1] for r in rows}),
        suspended_by_hold=suspended_by_hold,
    )
    cert.digest = certificate_digest(cert)
    warehouse.insert_row(
        conn, "governance.erasure_certificates", replace=True, certificate_id=cert.certificate_id, kind=kind,
        issued_at=warehouse.utcnow(), policy=policy, reason=reason, scope=scope, as_of=as_of,
        counts=json.dumps(cert.counts), bytes_deleted=cert.bytes_deleted, call_refs=cert.call_refs,
        suspended_by_hold=suspended_by_hold, digest=cert.digest)
    return cert


def certificate_digest(cert: Certificate) -> str:
    body = {k: v for k, v in cert.__dict__.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def broken_certificates(conn) -> list[str]:
    """Certificates whose stored contents no longer match their digest (edited since issue)."""
    broken = []
    for row in conn.execute(
            "SELECT certificate_id, kind, policy, reason, scope, as_of, counts, bytes_deleted, call_refs, "
            "suspended_by_hold, digest FROM governance.erasure_certificates ORDER BY certificate_id").fetchall():
        cert = Certificate(*row[:6], counts=json.loads(row[6]), bytes_deleted=row[7], call_refs=list(row[8]),
                           suspended_by_hold=row[9])
        if certificate_digest(cert) != row[10]:
            broken.append(row[0])
    return broken
