"""Casework text sealed at rest: transcripts, segments and words are stored AES-256-GCM sealed,
cell by cell, so the warehouse file holds no transcript in clear; only the stages that need the
words (canon, audio redaction) and the access layer, after its audited decision, open them.

Under the audio key, through HKDF with a context of its own: the text is the same casework
personal data as the recording it was heard from, read by the same stages and the same access
decisions, so it has the same custodian, backup and rotation (`callcanon keys rotate-audio`
reseals both); a second key would be a second secret to lose without separating any reader.

A sealed cell is `ct1.<key id>.<base64(nonce, ciphertext)>`. The call id and the cell's place
(`transcript`, `segment/3`, `word/3/7`) are authenticated with it, so a cell copied to another
call or row fails its check. The key id (first 8 hex of a hash of the derived key) says which key
sealed a cell, so a rotation can stop anywhere and resume. A cell without the prefix is text from
before sealing (callcanon < 0.12): it reads as it is, and `callcanon seal-store` seals it.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "ct1."


class TextSealBroken(ValueError):
    """A sealed cell that fails its check: altered, moved to another call or row, or sealed under
    a key this process does not hold."""


def _derive(key: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"callcanon casework text v1").derive(key)


def key_id(key: bytes) -> str:
    """Which audio key sealed a cell, without saying anything about the key."""
    return hashlib.sha256(b"callcanon text key id\n" + _derive(key)).hexdigest()[:8]


class TextSeal:
    def __init__(self, key: bytes, *older: bytes):
        """`key` seals; it and `older` (a rotation in progress) open."""
        self.key_id = key_id(key)
        self._aead = {key_id(k): AESGCM(_derive(k)) for k in (*older, key)}

    def seal(self, text: str | None, call_id: str, where: str) -> str | None:
        if text is None:
            return None
        nonce = os.urandom(12)
        sealed = self._aead[self.key_id].encrypt(nonce, text.encode(), _aad(call_id, where))
        return f"{PREFIX}{self.key_id}.{base64.b64encode(nonce + sealed).decode()}"

    def open(self, value: str | None, call_id: str, where: str) -> str | None:
        if value is None or not value.startswith(PREFIX):
            return value  # text from before sealing
        try:
            kid, body = value[len(PREFIX):].split(".", 1)
            raw = base64.b64decode(body, validate=True)
            return self._aead[kid].decrypt(raw[:12], raw[12:], _aad(call_id, where)).decode()
        except KeyError:
            raise TextSealBroken("casework text sealed under an audio key this process does not hold") from None
        except (InvalidTag, ValueError):
            raise TextSealBroken("sealed casework text fails its check: altered, or moved from another "
                                 "call or row") from None

    @property
    def current_prefix(self) -> str:
        """What every cell sealed under the sealing key starts with."""
        return f"{PREFIX}{self.key_id}."


def _aad(call_id: str, where: str) -> bytes:
    return f"{call_id}\x00{where}".encode()


def segment_place(seg_idx: int) -> str:
    return f"segment/{seg_idx}"


def word_place(seg_idx: int, word_idx: int) -> str:
    return f"word/{seg_idx}/{word_idx}"


TRANSCRIPT = "transcript"
