"""The pseudonym key: held apart from the data it protects.

Pseudonyms are HMACs, so whoever holds the key can re-link a token to a person by guessing
candidates; the key must therefore live outside the warehouse and outside the repository.
Order of precedence: `CALLCANON_PSEUDONYM_KEY` (hex), then the file named by
`CALLCANON_KEY_FILE`, then `~/.config/callcanon/pseudonym.key`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ENV_KEY = "CALLCANON_PSEUDONYM_KEY"
ENV_KEY_FILE = "CALLCANON_KEY_FILE"
MIN_KEY_BYTES = 16


class PseudonymKeyError(RuntimeError):
    """Raised when no usable pseudonym key is configured."""


def default_key_file() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return base / "callcanon" / "pseudonym.key"


def key_file_path() -> Path:
    return Path(os.environ.get(ENV_KEY_FILE, default_key_file())).expanduser()


def _decode(hex_text: str, origin: str) -> bytes:
    try:
        key = bytes.fromhex(hex_text.strip())
    except ValueError as exc:
        raise PseudonymKeyError(f"pseudonym key from {origin} is not hex") from exc
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(f"pseudonym key from {origin} is shorter than {MIN_KEY_BYTES} bytes")
    return key


def load_key() -> bytes:
    if os.environ.get(ENV_KEY):
        return _decode(os.environ[ENV_KEY], ENV_KEY)
    path = key_file_path()
    if not path.exists():
        raise PseudonymKeyError(
            f"no pseudonym key: set {ENV_KEY}, or {ENV_KEY_FILE}, or create {path} "
            "with `callcanon init-key`"
        )
    return _decode(path.read_text(), str(path))


def init_key(path: Path | None = None) -> tuple[Path, bool]:
    """Create a random key file (mode 0600) if none exists; returns (path, created)."""
    path = path or key_file_path()
    if path.exists():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path, True
