"""The three secrets, each held apart from the data it protects.

- The **pseudonym key**: pseudonyms are HMACs, so whoever holds it can re-link a token to a
  person by guessing candidates. It also keys the audit chain's HMACs.
- The **audio key**: AES-256-GCM over the audio store (`assets.audio.vault`). Separate from the
  pseudonym key so each can live where its risk asks (the audio key can sit with the people who
  may listen, the pseudonym key with the pipeline) and one leaking does not give away the other.
- The **audit signing key**: an Ed25519 seed signing the audit chain's heads
  (`assets.access.audit_heads`), so whoever holds the pseudonym key still cannot re-key the
  chain unseen.

All live outside the warehouse and outside the repository. Order of precedence for each: its
env var (hex), then the file named by its `_FILE` env var, then `~/.config/callcanon/<name>.key`.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assets.settings import PREFIX, Settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

MIN_KEY_BYTES = 16


class SecretError(RuntimeError):
    """Raised when a secret is not configured or unusable."""


PseudonymKeyError = SecretError  # the name callers have always caught


def config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "callcanon"


@dataclass(frozen=True)
class Secret:
    name: str
    field: str       # the `Settings` field holding the key itself (hex)
    file_field: str  # the `Settings` field naming a key file
    size: int = 32  # bytes
    prefer_next: bool = False  # during a rotation the new key is the one to use (pseudonyms)

    @property
    def env(self) -> str:
        return PREFIX + self.field.upper()

    @property
    def env_file(self) -> str:
        return PREFIX + self.file_field.upper()

    def file_path(self, settings: Settings | None = None) -> Path:
        named = getattr(settings or Settings.from_env(), self.file_field)
        return Path(named or config_dir() / f"{self.name}.key").expanduser()

    def _decode(self, hex_text: str, origin: str) -> bytes:
        try:
            key = bytes.fromhex(hex_text.strip())
        except ValueError as exc:
            raise SecretError(f"{self.name} key from {origin} is not hex") from exc
        if len(key) < MIN_KEY_BYTES:
            raise SecretError(f"{self.name} key from {origin} is shorter than {MIN_KEY_BYTES} bytes")
        return key

    def load(self) -> bytes:
        """The key to use now: for the pseudonym key, during a rotation, the new one (`.next`)."""
        if self.prefer_next:
            upcoming = next_path(self)
            if upcoming.exists() and not self._from_env():
                return self.load_file(upcoming)
        return self.load_current()

    def load_file(self, path: Path) -> bytes:
        return self._decode(read_private(path, self.name), str(path))

    def _from_env(self) -> bool:
        value = getattr(Settings.from_env(), self.field)
        return value is not None and bool(value.get_secret_value())

    def load_current(self) -> bytes:
        settings = Settings.from_env()
        value = getattr(settings, self.field)
        if value is not None and value.get_secret_value():
            return self._decode(value.get_secret_value(), self.env)
        path = self.file_path(settings)
        if not path.exists():
            raise SecretError(f"no {self.name} key: set {self.env}, or {self.env_file}, or create {path} "
                            "with `callcanon init-key`")
        return self.load_file(path)

    def init(self, path: Path | None = None) -> tuple[Path, bool]:
        """Create a random key file (mode 0600) if none exists; returns (path, created)."""
        path = path or self.file_path()
        if path.exists():
            return path, False
        write_private(path, secrets.token_hex(self.size) + "\n")
        return path, True


def write_private(path: Path, text: str) -> None:
    """A new owner-only file, whole or not at all: written beside, fsynced, renamed into place
    (never over an existing file), the folder fsynced. A key must not be half-written when data
    is sealed under it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)  # fails if the file exists: an existing key is never replaced here
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """A rename or a new name in `folder` on disk."""
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_private(path: Path, name: str) -> str:
    """A key file's text, if only its owner can read or write it (as ssh insists): a key others
    could read is a key others may hold, so it is refused with the command that fixes it."""
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_CLOEXEC)) as fh:  # the mode of what is read
        mode = os.fstat(fh.fileno()).st_mode
        if mode & 0o077:
            raise SecretError(f"{name} key file {path} is readable or writable by others (mode {mode & 0o777:o}): "
                              f"refused; run `chmod 600 {path}` and keep it that way")
        return fh.read()


PSEUDONYM = Secret("pseudonym", "pseudonym_key", "key_file", prefer_next=True)
# AES-256 wants exactly 32 bytes; `assets.audio.vault` derives them from whatever length is given.
AUDIO = Secret("audio", "audio_key", "audio_key_file")
# Ed25519 signs with a 32-byte seed (the variable holds its hex).
AUDIT_SIGNING = Secret("audit_signing", "audit_signing_key", "audit_signing_key_file")
ALL = (PSEUDONYM, AUDIO, AUDIT_SIGNING)
# Not made by `init-key`: written at the first pseudonym-key rotation (`save_chain_key`).
AUDIT_CHAIN = Secret("audit_chain", "audit_chain_key", "audit_chain_key_file")

ENV_KEY, ENV_KEY_FILE = PSEUDONYM.env, PSEUDONYM.env_file


def load_key() -> bytes:
    return PSEUDONYM.load()


def init_key(path: Path | None = None) -> tuple[Path, bool]:
    return PSEUDONYM.init(path)


def load_audio_key() -> bytes:
    return AUDIO.load()


def load_audit_signing_key() -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = AUDIT_SIGNING.load()
    if len(seed) != 32:
        raise SecretError(f"{AUDIT_SIGNING.name} key must be 32 bytes (an Ed25519 seed), not {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def init_all() -> list[tuple[Secret, Path, bool]]:
    return [(s, *s.init()) for s in ALL]


def load_oidc_client_secret() -> str:
    """The portal's OpenID Connect client secret: CALLCANON_OIDC_CLIENT_SECRET, or the file named by
    CALLCANON_OIDC_CLIENT_SECRET_FILE (owner-readable only, like every key here). Never in the repo."""
    from assets.settings import Settings

    settings = Settings.from_env()
    if settings.oidc_client_secret is not None:
        return settings.oidc_client_secret.get_secret_value()
    if settings.oidc_client_secret_file is not None:
        return read_private(settings.oidc_client_secret_file, "OIDC client secret").strip()
    raise SecretError("an OIDC issuer is set but no client secret: set CALLCANON_OIDC_CLIENT_SECRET_FILE to a file "
                      "only this account can read (or CALLCANON_OIDC_CLIENT_SECRET)")


# --- rotation ----------------------------------------------------------------------------------
# A rotation writes the new key beside the current one as `<name>.key.next` (owner-only), reseals
# under it, then keeps the old key as `<name>.key.retired-<UTC time>` and renames the new one over
# the current: each step is one rename or one new file, so a rotation killed anywhere resumes.

def next_path(secret: Secret) -> Path:
    path = secret.file_path()
    return path.with_name(path.name + ".next")


def _rotatable(secret: Secret) -> Path:
    if secret._from_env():
        raise SecretError(f"the {secret.name} key comes from {secret.env}: a rotation writes key files, so give it "
                          f"as a file ({secret.env_file}) to rotate it")
    return secret.file_path()


def load_audio_keys() -> list[bytes]:
    """[the key to seal with, the keys to open with besides]: during a rotation the new key seals
    and both open, so what any process writes meanwhile is under the new key already."""
    current = AUDIO.load()
    upcoming = next_path(AUDIO)
    if upcoming.exists():
        return [AUDIO.load_file(upcoming), current]
    return [current]


def chain_key_path() -> Path:
    """Where the audit chain's key is kept: its own setting, or beside the pseudonym key file, so
    every process that finds the pseudonym key finds it too."""
    named = Settings.from_env().audit_chain_key_file
    return Path(named).expanduser() if named else PSEUDONYM.file_path().with_name("audit_chain.key")


def saved_chain_key() -> bytes | None:
    """The audit chain's key, if a pseudonym-key rotation saved it (`assets.access.audit.chain_key`)."""
    if AUDIT_CHAIN._from_env():
        return AUDIT_CHAIN.load_current()
    path = chain_key_path()
    return AUDIT_CHAIN.load_file(path) if path.exists() else None


def save_chain_key(chain_key: bytes) -> Path:
    """Keep the audit chain's key as a key file of its own, once: records already in the chain
    were hashed with it, so a pseudonym-key rotation must not change it."""
    path = chain_key_path()
    if not path.exists():
        write_private(path, chain_key.hex() + "\n")
    return path


def begin_rotation(secret: Secret) -> tuple[bytes, bool]:
    """The new key (made now, or the one an interrupted rotation made), and whether it is new."""
    _rotatable(secret)
    path, created = secret.init(next_path(secret))
    return secret.load_file(path), created


def finish_rotation(secret: Secret, stamp: str) -> Path:
    """Keep the old key apart (to read backups made under it until they expire; destroy it then),
    and put the new one in its place. Returns where the old key now is."""
    path, upcoming = _rotatable(secret), next_path(secret)
    retired = path.with_name(f"{path.name}.retired-{stamp}")
    if upcoming.exists():
        if not retired.exists():
            write_private(retired, read_private(path, secret.name))  # whole, or not there at all
        os.replace(upcoming, path)
        _fsync_dir(path.parent)
    return retired
