"""Audio at rest is sealed with AES-256-GCM; plaintext exists only in memory, inside a stage
that needs the sound (transcription, audio redaction) or an audited access (`assets.access`).

Why chunked: a 90-minute call is tens of megabytes, and one GCM message would have to be held
whole to be checked. The file is a short header and 1 MiB chunks, each sealed alone with a nonce
of (random prefix, chunk number, last-chunk flag) — the STREAM construction — so chunks cannot
be reordered, dropped or cut off the end without the check failing. The header and the call id
are authenticated with every chunk, so one call's audio cannot be swapped in for another's.

The key comes from `assets.keys` (outside the warehouse and the repo); the AES key is derived
from it with HKDF, so a key file of any sufficient length works.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from assets import locations
from assets.audio.decoding import AudioProblem
from assets.sealed_text import TextSeal

MAGIC = b"CCSEAL1\n"
SUFFIX = ".sealed"
CHUNK = 1 << 20
TAG = 16
_HEADER = struct.Struct(">8sI7s")  # magic, chunk size, nonce prefix


class SealBroken(AudioProblem):
    """The stored audio is not what was sealed (altered, cut short, another call's, or a
    different key): refused like any unreadable recording, with a reason a person can act on."""


def sealed_name(audio_name: str) -> str:
    return audio_name + SUFFIX


def plain_name(sealed: Path) -> str:
    return sealed.name[: -len(SUFFIX)] if sealed.name.endswith(SUFFIX) else sealed.name


def _aead(key: bytes) -> AESGCM:
    return AESGCM(HKDF(hashes.SHA256(), 32, salt=None, info=b"callcanon audio at rest v1").derive(key))


def _header(fh) -> tuple[bytes, int] | None:
    """A sealed file's header and chunk size, or None when the file is not sealed."""
    header = fh.read(_HEADER.size)
    if len(header) < _HEADER.size or not header.startswith(MAGIC):
        return None
    return header, _HEADER.unpack(header)[1]


class AudioVault:
    def __init__(self, key: bytes, *older: bytes):
        """`key` seals; it and `older` (the key being rotated away from) open."""
        self._aead = _aead(key)
        self._openers = [self._aead, *(_aead(k) for k in older)]
        self.text = TextSeal(key, *older)  # casework text, under the same key (`assets.sealed_text`)

    @classmethod
    def from_keys(cls) -> AudioVault:
        """The vault for this moment: during a key rotation it seals under the new key and opens
        under both (`assets.keys.load_audio_keys`)."""
        from assets import keys

        key, *older = keys.load_audio_keys()
        return cls(key, *older)

    # --- sealing ----------------------------------------------------------------------------

    def seal(self, src: io.BufferedIOBase, dest: Path, call_id: str) -> Path:
        """Seal a stream into `dest` atomically: a crash leaves the old file or none, never half."""
        header = _HEADER.pack(MAGIC, CHUNK, os.urandom(7))
        aad = header + call_id.encode()
        locations.ensure_dir(dest.parent)
        # Each writer its own partial: two runs of one date at once (allowed; one then finds the
        # other's work) once collided on one name, and the slower rename found nothing to move.
        tmp = dest.with_name(f"{dest.name}.{os.getpid()}-{os.urandom(4).hex()}.partial")
        try:
            with tmp.open("wb") as out:
                out.write(header)
                chunk, n = src.read(CHUNK), 0
                while True:
                    following = src.read(CHUNK)
                    out.write(self._aead.encrypt(self._nonce(header, n, not following), chunk, aad))
                    if not following:
                        break
                    chunk, n = following, n + 1
                locations.sync(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk must not also leave half a file behind
            raise
        locations.replace(tmp, dest)
        return dest

    def seal_file(self, src: Path, dest: Path, call_id: str) -> Path:
        with src.open("rb") as fh:
            return self.seal(fh, dest, call_id)

    def seal_bytes(self, data: bytes, dest: Path, call_id: str) -> Path:
        return self.seal(io.BytesIO(data), dest, call_id)

    # --- opening ----------------------------------------------------------------------------

    def open(self, path: Path, call_id: str) -> io.BytesIO:
        """The plaintext, in memory only."""
        out = io.BytesIO()
        self._unseal(path, call_id, out)
        out.seek(0)
        return out

    def unseal_to(self, path: Path, call_id: str, dest: Path) -> Path:
        """A plaintext copy at `dest` (a download or a subject access package); removed again
        if the seal turns out broken part-way."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            with dest.open("wb") as out:
                self._unseal(path, call_id, out)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return dest

    def _unseal(self, path: Path, call_id: str, out) -> None:
        if not path.exists():
            raise AudioProblem("missing_audio", "audio file missing from the store")
        with path.open("rb") as fh:
            found = _header(fh)
            if found is None:
                raise SealBroken("not_sealed", "the stored audio is not sealed (run `callcanon seal-store`)")
            header, chunk_size = found
            aad = header + call_id.encode()
            chunk, n = fh.read(chunk_size + TAG), 0
            aead = None
            while True:
                following = fh.read(chunk_size + TAG)
                nonce = self._nonce(header, n, not following)
                try:
                    if aead is None:  # the first chunk says which key sealed the file
                        aead, plain = self._first_chunk(nonce, chunk, aad)
                    else:
                        plain = aead.decrypt(nonce, chunk, aad)
                    out.write(plain)
                except InvalidTag:
                    raise SealBroken("seal_broken", "the sealed audio fails its check: altered, cut short, "
                                     "another call's file, or sealed under a different audio key") from None
                if not following:
                    return
                chunk, n = following, n + 1

    def _first_chunk(self, nonce: bytes, chunk: bytes, aad: bytes) -> tuple[AESGCM, bytes]:
        """The key that opens the file (tried in order: the sealing key first) and the chunk opened."""
        for aead in self._openers:
            try:
                return aead, aead.decrypt(nonce, chunk, aad)
            except InvalidTag:
                continue
        raise InvalidTag()

    def sealed_by_current(self, path: Path, call_id: str) -> bool:
        """Whether the file's first chunk opens under the sealing key (a rotation skips it)."""
        with path.open("rb") as fh:
            found = _header(fh)
            if found is None:
                return False
            header, chunk_size = found
            chunk = fh.read(chunk_size + TAG)
            last = not fh.read(1)
        try:
            self._aead.decrypt(self._nonce(header, 0, last), chunk, header + call_id.encode())
            return True
        except InvalidTag:
            return False

    @staticmethod
    def _nonce(header: bytes, n: int, last: bool) -> bytes:
        return header[12:19] + struct.pack(">I", n) + (b"\x01" if last else b"\x00")
