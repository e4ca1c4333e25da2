"""People and the roles an administrator granted them: the only answer to "who is asking?".

Roles are never taken from what a person types: the access layer asks `holds` whether the signed-in
identity has a live grant of the role it acts in. Identities are `local:<name>` (a portal password,
the embedded default for a small practice), `oidc:<subject>` (the organisation's identity provider:
Entra ID, NHS CIS2) or `os:<account>` (the administrator's CLI on the data host, named by the
operating system). Names are compared after NFKC normalisation, trimming and case-folding, so
"Mallory " cannot approve what mallory asked for (an OIDC subject keeps its case: it is the
provider's opaque, case-sensitive id).

Local passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106), checked against NIST
SP 800-63B's rules (length, not the user name, not a common password) rather than composition
rules; repeated failures lock the account for a while, and an unknown name costs the same hash as
a known one so that timing does not say which names exist.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assets import warehouse

KINDS = ("local", "oidc", "os")
MIN_PASSWORD, MAX_PASSWORD = 12, 128
MAX_FAILURES = 5                      # failed sign-ins in a row before the account locks
LOCKOUT = timedelta(minutes=15)
COMMON_PASSWORDS = frozenset({
    "password1234", "passwordpassword", "123456789012", "qwertyuiopas", "letmeinletmein", "welcome12345",
    "administrator", "iloveyou1234", "changeme1234", "password123!", "qwerty123456", "abc123456789",
    "trustno1trustno1", "football1234", "monkey123456", "1q2w3e4r5t6y", "p@ssw0rd1234", "password12345",
})

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("callcanon: a hash checked for names that do not exist")


class IdentityError(ValueError):
    """A bad identity, password or grant: the message says what to change."""


def normalise(identity: str) -> str:
    """`kind:name` with the name NFKC-normalised, trimmed and case-folded; a bare name is local."""
    text = unicodedata.normalize("NFKC", identity or "").strip()
    kind, sep, name = text.partition(":")
    if not sep or kind.casefold() not in KINDS:
        kind, name = "local", text
    kind = kind.casefold()
    # Names people type are compared without case; an identity provider's subject is case-sensitive
    # (OpenID Connect Core §2), so two subjects differing in case stay two people.
    name = name.strip() if kind == "oidc" else name.strip().casefold()
    if not name or any(c.isspace() or unicodedata.category(c).startswith("C") for c in name):
        raise IdentityError(f"'{identity}' is not a usable identity (a name without spaces or control characters)")
    return f"{kind}:{name}"


def password_problem(identity: str, password: str) -> str | None:
    """Why a new password will not do, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"a password may have at most {MAX_PASSWORD} characters"
    folded = password.casefold()
    if identity.split(":", 1)[1] in folded:
        return "a password may not contain the user name"
    if folded in COMMON_PASSWORDS or len(set(folded)) < 4:
        return "that password is too easy to guess"
    return None


@dataclass(frozen=True)
class Grant:
    identity: str
    role: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime | None


def add(conn, identity: str, *, by: str, display_name: str | None = None, password: str | None = None,
        staff_id: str | None = None) -> str:
    ident = normalise(identity)
    if conn.execute("SELECT 1 FROM governance.identities WHERE identity = ?", [ident]).fetchone():
        raise IdentityError(f"{ident} already exists")
    if ident.startswith("local:") and password is None:
        raise IdentityError("a local account needs a password")
    if password is not None and not ident.startswith("local:"):
        raise IdentityError("only local accounts have a password here (the identity provider checks the others)")
    if password is not None and (problem := password_problem(ident, password)):
        raise IdentityError(problem)
    now = warehouse.utcnow()
    warehouse.insert_row(conn, "governance.identities", identity=ident, display_name=display_name,
                         staff_id=staff_id.strip() if staff_id else None,
                         password_hash=_hasher.hash(password) if password else None,
                         password_changed_at=now if password else None, created_at=now, created_by=by)
    return ident


def set_password(conn, identity: str, password: str) -> str:
    ident = _existing(conn, identity)
    if not ident.startswith("local:"):
        raise IdentityError("only local accounts have a password here")
    if problem := password_problem(ident, password):
        raise IdentityError(problem)
    conn.execute("UPDATE governance.identities SET password_hash = ?, password_changed_at = ?, failed_logins = 0, "
                 "locked_until = NULL WHERE identity = ?", [_hasher.hash(password), warehouse.utcnow(), ident])
    return ident


def unlock(conn, identity: str) -> str:
    ident = _existing(conn, identity)
    conn.execute("UPDATE governance.identities SET failed_logins = 0, locked_until = NULL WHERE identity = ?", [ident])
    return ident


def disable(conn, identity: str) -> str:
    ident = _existing(conn, identity)
    conn.execute("UPDATE governance.identities SET disabled_at = ? WHERE identity = ?", [warehouse.utcnow(), ident])
    return ident


def _existing(conn, identity: str) -> str:
    ident = normalise(identity)
    if not conn.execute("SELECT 1 FROM governance.identities WHERE identity = ?", [ident]).fetchone():
        raise IdentityError(f"no identity {ident} (add it with `callcanon users add`)")
    return ident


def check_password(conn, identity: str, password: str) -> tuple[str | None, str]:
    """(identity, "ok") for a right password; otherwise (identity or None, why): "unknown",
    "wrong", "locked" or "disabled". A wrong password counts towards the lockout."""
    try:
        ident = normalise(identity)
    except IdentityError:
        ident = None
    if ident is None or not ident.startswith("local:"):
        _burn(password)
        return None, "unknown"
    row = conn.execute("SELECT password_hash, failed_logins, locked_until, disabled_at FROM governance.identities "
                       "WHERE identity = ?", [ident]).fetchone()
    if row is None or row[0] is None:
        _burn(password)
        return None, "unknown"
    now = warehouse.utcnow()
    if row[3] is not None or (row[2] is not None and row[2] > now):
        _burn(password)  # the same hash's time as any other answer: timing says nothing more
        return ident, "disabled" if row[3] is not None else "locked"
    try:
        _hasher.verify(row[0], password)
    except (VerificationError, InvalidHashError):
        failures = (0 if row[2] is not None else row[1]) + 1  # a lock that ran out starts the count again
        locked = now + LOCKOUT if failures >= MAX_FAILURES else None
        conn.execute("UPDATE governance.identities SET failed_logins = ?, locked_until = ? WHERE identity = ?",
                     [failures, locked, ident])
        return ident, "locked" if locked else "wrong"
    conn.execute("UPDATE governance.identities SET failed_logins = 0, locked_until = NULL WHERE identity = ?", [ident])
    return ident, "ok"


def _burn(password: str) -> None:
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass


def staff_id(conn, identity: str) -> str | None:
    """The staff id an identity has in the call records (for roles scoped to their own calls)."""
    row = conn.execute("SELECT staff_id FROM governance.identities WHERE identity = ?", [identity]).fetchone()
    return row[0] if row else None


def display_name(conn, identity: str) -> str:
    row = conn.execute("SELECT display_name FROM governance.identities WHERE identity = ?", [identity]).fetchone()
    return (row[0] if row else None) or identity


def known(conn, identity: str) -> bool:
    """An enabled identity an administrator added."""
    return bool(conn.execute("SELECT count(*) FROM governance.identities WHERE identity = ? AND disabled_at IS NULL",
                             [identity]).fetchone()[0])


def grant(conn, identity: str, role: str, *, by: str, roles: list[str], until: datetime | None = None) -> str:
    ident = _existing(conn, identity)
    if role not in roles:
        raise IdentityError(f"no role '{role}' in the policy (roles: {', '.join(roles)})")
    if until is not None and until <= warehouse.utcnow():
        raise IdentityError("a grant's end must be in the future")
    warehouse.insert_row(conn, "governance.role_grants", identity=ident, role=role, granted_by=by,
                         granted_at=warehouse.utcnow(), expires_at=until)
    return ident


def revoke(conn, identity: str, role: str, *, by: str) -> int:
    ident = normalise(identity)
    return len(conn.execute("UPDATE governance.role_grants SET revoked_at = ?, revoked_by = ? WHERE identity = ? "
                            "AND role = ? AND revoked_at IS NULL RETURNING grant_id",
                            [warehouse.utcnow(), by, ident, role]).fetchall())


_LIVE = ("revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND identity IN "
         "(SELECT identity FROM governance.identities WHERE disabled_at IS NULL)")


def roles_of(conn, identity: str) -> list[str]:
    """The roles granted to an identity now (none once revoked, expired or disabled)."""
    rows = conn.execute(f"SELECT DISTINCT role FROM governance.role_grants WHERE identity = ? AND {_LIVE} "
                        "ORDER BY role", [identity, warehouse.utcnow()]).fetchall()
    return [r[0] for r in rows]


def holds(conn, identity: str, role: str) -> bool:
    try:
        ident = normalise(identity)
    except IdentityError:
        return False
    return role in roles_of(conn, ident)


def listing(conn) -> list[tuple]:
    """(identity, display name, state, live roles with their end) for `callcanon users list`."""
    now = warehouse.utcnow()
    out = []
    for ident, name, locked, disabled in conn.execute(
            "SELECT identity, display_name, locked_until, disabled_at FROM governance.identities ORDER BY identity"
    ).fetchall():
        state = "disabled" if disabled else "locked" if locked and locked > now else "active"
        grants = conn.execute(f"SELECT role, expires_at FROM governance.role_grants WHERE identity = ? AND {_LIVE} "
                              "ORDER BY role", [ident, now]).fetchall()
        out.append((ident, name or "", state, [f"{r}" + (f" until {e:%Y-%m-%d %H:%M}" if e else "")
                                               for r, e in grants]))
    return out
