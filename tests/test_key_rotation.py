"""Audio key rotation (issue 22): `callcanon keys rotate-audio` reseals every stored recording and
every casework text cell under a new key, killed with SIGKILL part-way twice and run again; at
every point everything still opens, and at the end everything opens under the new key only, the
old key is kept apart, and the rotation is in governance and the audit trail. Real processes,
real files, real AES-GCM."""

from __future__ import annotations

import shutil
import signal
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import child_env, grant_this_account, run_cli_killed_at

from assets import keys, reseal, warehouse
from assets.audio.vault import AudioVault, SealBroken
from assets.key_rotation import key_ages
from assets.sealed_text import TextSeal, TextSealBroken
from assets.synthetic.warehouse_rows import SynthCall, add_calls

DAY = date(2026, 3, 2)
CALLS = 120


@pytest.fixture
def store(tmp_path, monkeypatch):
    key_file = tmp_path / "keys" / "audio.key"
    keys.AUDIO.init(key_file)
    monkeypatch.delenv("CALLCANON_AUDIO_KEY", raising=False)
    monkeypatch.setenv("CALLCANON_AUDIO_KEY_FILE", str(key_file))
    db = tmp_path / "data" / "warehouse.duckdb"
    db.parent.mkdir()
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        add_calls(conn, tmp_path / "data", [SynthCall(f"call-{n:04d}", DAY) for n in range(CALLS)],
                  vault=AudioVault(keys.load_audio_key()))
    grant_this_account(db, "information_rights")
    env = {k: v for k, v in child_env(tmp_path / "data", CALLCANON_WAREHOUSE=str(db),
                                      CALLCANON_AUDIO_KEY_FILE=str(key_file)).items()
           if k != "CALLCANON_AUDIO_KEY"}
    return db, key_file, env


def _rotate(env: dict, kill_at: str | None = None) -> tuple[int, str]:
    return run_cli_killed_at(["keys", "rotate-audio", "--reason", "annual key rotation (ticket 77)"], env, kill_at)


def _everything_opens(db: Path, vault: AudioVault) -> tuple[int, int]:
    """Open every stored file and text cell with `vault`; (files, cells) opened."""
    with warehouse.connect(db, read_only=True) as conn:
        files = reseal.stored_files(conn)
        for call_id, path in files:
            assert vault.open(Path(path), call_id).read().startswith(b"RIFFaudio of " + call_id.encode())
        cells = 0
        for table, column, key_columns, place in reseal.TEXT_CELLS:
            for row in conn.execute(f"SELECT {', '.join(key_columns)}, {column} FROM {table}").fetchall():
                assert vault.text.open(row[-1], row[0], place(row))
                cells += 1
    return len(files), cells


def test_a_rotation_killed_twice_converges_and_leaves_only_the_new_key(store):
    db, key_file, env = store
    old = keys.load_audio_key()
    code, out = _rotate(env, kill_at="audio files: 50/")
    assert code == -signal.SIGKILL, out
    upcoming = keys.next_path(keys.AUDIO)
    assert upcoming.exists() and key_file.read_text() and keys.load_audio_key() == old
    # Half done: every file and cell still opens, under whichever key it has.
    assert _everything_opens(db, AudioVault.from_keys()) == (2 * CALLS, 3 * CALLS)
    # Killed again once the transcripts are resealed (segments, words and the final pass still to do).
    code, out = _rotate(env, kill_at="casework.transcripts:")
    assert code == -signal.SIGKILL and "resuming the rotation" in out, out
    # As if killed after keeping the old key apart but before the swap.
    stamp = datetime.fromtimestamp(upcoming.stat().st_mtime, UTC).strftime("%Y%m%dT%H%M%SZ")
    shutil.copy(key_file, key_file.with_name(f"audio.key.retired-{stamp}"))
    code, out = _rotate(env)
    assert code == 0, out
    new = keys.load_audio_key()
    assert new != old and not upcoming.exists()
    [retired] = key_file.parent.glob("audio.key.retired-*")
    assert keys.read_private(retired, "audio").strip() == old.hex()
    # Everything under the new key alone; the old key opens nothing any more.
    assert _everything_opens(db, AudioVault(new)) == (2 * CALLS, 3 * CALLS)
    with warehouse.connect(db, read_only=True) as conn:
        call_id, path = reseal.stored_files(conn)[0]
        cell = conn.execute("SELECT call_id, text FROM casework.transcripts LIMIT 1").fetchone()
        assert reseal.text_left(conn, TextSeal(new)) == 0
        rotations = conn.execute("SELECT key_name, files, cells FROM governance.key_rotations").fetchall()
        trail = conn.execute("SELECT action, role FROM governance.audit WHERE action = 'rotate_audio_key'").fetchall()
        ages = key_ages(conn)
    with pytest.raises(SealBroken):
        AudioVault(old).open(Path(path), call_id)
    with pytest.raises(TextSealBroken):
        TextSeal(old).open(cell[1], cell[0], "transcript")
    # One rotation on record (the runs that were killed never got that far), audited once.
    assert [r[0] for r in rotations] == ["audio"] and trail == [("rotate_audio_key", "information_rights")]
    assert "rotated" in ages["audio"] and "never rotated" not in ages["audio"]


def test_a_key_given_by_environment_variable_is_not_rotated(store):
    db, key_file, env = store
    env = {**env, "CALLCANON_AUDIO_KEY": keys.load_audio_key().hex()}
    code, out = _rotate(env)
    assert code == 1 and "give it as a file" in out
    assert not keys.next_path(keys.AUDIO).exists()


def test_an_account_without_a_governance_role_starts_no_rotation(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pipelines.cli import main

    key_file = tmp_path / "keys" / "pseudonym.key"
    keys.PSEUDONYM.init(key_file)
    monkeypatch.delenv("CALLCANON_PSEUDONYM_KEY", raising=False)
    for var, value in (("CALLCANON_KEY_FILE", key_file), ("CALLCANON_DATA", tmp_path),
                       ("CALLCANON_WAREHOUSE", tmp_path / "warehouse.duckdb")):
        monkeypatch.setenv(var, str(value))
    refused = CliRunner().invoke(main, ["keys", "rotate-pseudonym", "--reason", "not mine to rotate"])
    assert refused.exit_code == 1 and "governance roles" in refused.output, refused.output
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["pseudonym.key"]  # nothing written
