"""Audio sealed at rest: whatever is done to a sealed file short of re-sealing it with the key —
a flipped byte, chunks swapped, the end cut off at a chunk boundary, another call's file in its
place — is refused; and a store from before sealing is sealed in place without losing a file."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from assets import ingest, warehouse
from assets.audio.decoding import AudioProblem
from assets.audio.vault import _HEADER, CHUNK, TAG, AudioVault
from assets.synthetic.warehouse_rows import SynthCall, add_calls

VAULT = AudioVault(os.urandom(32))


@pytest.fixture
def sealed(tmp_path):
    data = os.urandom(3 * CHUNK + 1000)
    return VAULT.seal_bytes(data, tmp_path / "a.wav.sealed", "call-a"), data


def _chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    body = blob[_HEADER.size:]
    return blob[:_HEADER.size], [body[i:i + CHUNK + TAG] for i in range(0, len(body), CHUNK + TAG)]


def test_the_sealed_file_reads_back_whole_and_holds_no_plaintext(sealed):
    path, data = sealed
    assert VAULT.open(path, "call-a").getvalue() == data
    blob = path.read_bytes()
    assert data[:64] not in blob and data[CHUNK:CHUNK + 64] not in blob


@pytest.mark.parametrize("tamper", ["flip", "swap", "truncate", "drop_middle", "other_call", "other_key"])
def test_any_change_to_a_sealed_file_is_refused(sealed, tamper, tmp_path):
    path, _ = sealed
    header, chunks = _chunks(path.read_bytes())
    call_id, vault = "call-a", VAULT
    if tamper == "flip":
        blob = bytearray(path.read_bytes())
        blob[-100] ^= 0x01
        path.write_bytes(bytes(blob))
    elif tamper == "swap":
        path.write_bytes(header + chunks[1] + chunks[0] + b"".join(chunks[2:]))
    elif tamper == "truncate":  # whole chunks only: a length check would not catch it, the last-chunk flag does
        path.write_bytes(header + b"".join(chunks[:2]))
    elif tamper == "drop_middle":
        path.write_bytes(header + chunks[0] + b"".join(chunks[2:]))
    elif tamper == "other_call":
        call_id = "call-b"
    else:
        vault = AudioVault(os.urandom(32))
    with pytest.raises(AudioProblem) as err:
        vault.open(path, call_id)
    assert err.value.reason == "seal_broken"
    out = tmp_path / "copy.wav"
    with pytest.raises(AudioProblem):
        vault.unseal_to(path, call_id, out)
    assert not out.exists()  # no half-written plaintext is left behind


def test_a_store_from_before_sealing_is_sealed_in_place(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        add_calls(conn, tmp_path, [SynthCall(f"c{n}", date(2026, 3, 2)) for n in range(3)])  # plain files
        plain = {p: p.read_bytes() for p in tmp_path.rglob("*.wav")}
        assert len(plain) == 6
        assert ingest.seal_store(conn, VAULT) == 6
        assert ingest.seal_store(conn, VAULT) == 0  # re-running finds nothing left to do
        paths = conn.execute("SELECT call_id, audio_path FROM casework.calls UNION ALL "
                             "SELECT call_id, path FROM casework.redacted_audio").fetchall()
    assert not list(tmp_path.rglob("*.wav"))
    for call_id, path in paths:
        assert path.endswith(".wav.sealed")
        assert VAULT.open(Path(path), call_id).getvalue() == plain[Path(path[: -len(".sealed")])]
