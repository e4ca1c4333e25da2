from __future__ import annotations

import stat

import pytest

from assets import keys
from assets.policy import PolicyError, load_policy


def test_shipped_profiles_encode_the_two_seed_policies():
    ombudsman = load_policy("ombudsman")
    assert ombudsman.retention.unlinked.audio_days == 30
    assert ombudsman.retention.unlinked.transcript_days == 730
    assert ombudsman.retention.linked.anchor == "case_last_activity"
    assert ombudsman.callers_may_stop_recording is False
    gp = load_policy("gp_practice")
    assert gp.callers_may_stop_recording is True
    assert gp.retention.unlinked.audio_days == gp.retention.linked.audio_days == 1096


def test_an_invalid_policy_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "typo.yaml"
    bad.write_text("name: x\ncallers_may_stop_recording: false\nretention:\n  linked: {anchor: call, "
                   "audio_days: 10, transcript_days: 10}\n  unlinkd: {anchor: call, audio_days: 1, "
                   "transcript_days: 1}\n")
    with pytest.raises(PolicyError, match="unlinked"):
        load_policy(str(bad))
    with pytest.raises(PolicyError, match="shipped profiles"):
        load_policy("no_such_profile")


def test_key_file_is_created_private_and_never_overwritten(tmp_path, monkeypatch):
    monkeypatch.delenv(keys.ENV_KEY, raising=False)
    path = tmp_path / "k" / "pseudonym.key"
    monkeypatch.setenv(keys.ENV_KEY_FILE, str(path))
    assert keys.init_key() == (path, True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = keys.load_key()
    assert keys.init_key() == (path, False) and keys.load_key() == first and len(first) == 32


def test_a_short_key_is_refused(monkeypatch):
    monkeypatch.setenv(keys.ENV_KEY, "abcd")
    with pytest.raises(keys.PseudonymKeyError, match="shorter"):
        keys.load_key()
