from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from assets import keys
from assets.policy import PolicyError, load_policy


def test_shipped_profiles_encode_the_two_seed_policies():
    ombudsman = load_policy("ombudsman")
    unlinked, linked = ombudsman.retention.unlinked, ombudsman.retention.linked
    assert (unlinked.anchor, unlinked.days.audio, unlinked.days.redacted_audio) == ("call", 30, 30)
    assert {unlinked.days.transcript, unlinked.days.segments, unlinked.days.canon,
            unlinked.days.theme_assignments, unlinked.days.marts} == {730}
    assert linked.anchor == "case_last_activity" and set(linked.days.model_dump().values()) == {2192}
    assert ombudsman.callers_may_stop_recording is False
    gp = load_policy("gp_practice")
    assert gp.callers_may_stop_recording is True
    assert (ombudsman.consent.no_notice_inbound.action, ombudsman.consent.stopped_on_request.action) == (
        "hold_for_review", "policy_exception")
    assert (gp.consent.no_notice_outbound.action, gp.consent.stopped_on_request.action) == (
        "use", "keep_out_of_analytics")
    assert "training" not in gp.consent.stopped_on_request.only_for
    for rule in (gp.retention.linked, gp.retention.unlinked):
        assert rule.anchor == "call" and set(rule.days.model_dump().values()) == {1096}


DAYS = "{audio: 30, redacted_audio: 30, transcript: 730, segments: 730, canon: 730, theme_assignments: 730, marts: 730}"


ACCESS = ("access:\n  roles:\n    officer: {may: [listen], purposes: [quality], authorises: [police]}\n"
          "  download_purposes: [subject_access]\n  needs_approval: [police]\n")


CONSENT = ("consent:\n  no_notice_inbound: hold_for_review\n  no_notice_outbound: hold_for_review\n"
           "  notice_unknown: use\n  stopped_on_request: policy_exception\n")


def write_policy(tmp_path, linked: str = DAYS, unlinked_key: str = "unlinked", unlinked: str = DAYS,
                 access: str = ACCESS, consent: str = CONSENT, audit: str = "audit: {keep_days: 2192}\n",
                 may_stop: str = "false"):
    path = tmp_path / "custom.yaml"
    path.write_text(f"name: x\ncallers_may_stop_recording: {may_stop}\nretention:\n"
                    f"  linked: {{anchor: case_last_activity, days: {linked}}}\n"
                    f"  {unlinked_key}: {{anchor: call, days: {unlinked}}}\n" + access + consent + audit)
    return str(path)


def test_a_custom_policy_file_loads(tmp_path):
    assert load_policy(write_policy(tmp_path)).retention.unlinked.days.canon == 730


@pytest.mark.parametrize("change, message", [
    (dict(unlinked_key="unlinkd"), "unlinked"),                                   # a typo in a key
    (dict(unlinked=DAYS.replace("canon: 730, ", "")), "canon"),                   # a class left out
    (dict(linked=DAYS.replace("audio: 30,", "audio: -1,", 1)), "greater than 0"),  # a nonsense period
    (dict(linked=DAYS.replace("marts: 730", "marts: 900")), "marts must equal theme_assignments"),
    (dict(linked=DAYS.replace("theme_assignments: 730, marts: 730", "theme_assignments: 900, marts: 900")),
     "longer than canon"),                                                    # themes outliving their source
    (dict(access=ACCESS.replace("authorises: [police]", "authorises: []")), "no role authorises 'police'"),
    (dict(access=ACCESS.replace("may: [listen]", "may: [lisen]")), "listen"),     # an unknown action
    # consent: a case left undefined, an unknown action, a rule the policy contradicts
    (dict(consent=CONSENT.replace("  notice_unknown: use\n", "")), "notice_unknown"),
    (dict(consent=CONSENT.replace("notice_unknown: use", "notice_unknown: ignore")), "hold_for_review"),
    (dict(consent=CONSENT.replace("stopped_on_request: policy_exception", "stopped_on_request: use")),
     "callers may not stop recording"),
    (dict(may_stop="true"), "no exception"),
    (dict(consent=CONSENT.replace("notice_unknown: use", "notice_unknown: {action: use, only_for: [pr]}")),
     "only_for names pr"),
    (dict(consent=""), "consent"),
    (dict(audit="audit: {keep_days: 365}\n"), "the record of a use would go before the data"),
])
def test_an_invalid_policy_file_is_a_clear_error(tmp_path, change, message):
    with pytest.raises(PolicyError, match=message):
        load_policy(write_policy(tmp_path, **change))


def test_an_unknown_profile_lists_the_shipped_ones():
    with pytest.raises(PolicyError, match="shipped profiles: gp_practice, ombudsman"):
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


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_could_read_or_write_is_refused_like_ssh_does(mode, tmp_path, monkeypatch):
    """Issue 17: a 0644 key file was loaded without a word."""
    monkeypatch.delenv(keys.ENV_KEY, raising=False)
    path = tmp_path / "pseudonym.key"
    monkeypatch.setenv(keys.ENV_KEY_FILE, str(path))
    keys.init_key()
    path.chmod(mode)
    with pytest.raises(keys.SecretError, match=f"chmod 600 {path}"):
        keys.load_key()
    path.chmod(0o400)  # read-only for its owner is fine
    assert len(keys.load_key()) == 32


def test_suppression_is_the_policys_and_no_environment_variable_lowers_it(monkeypatch):
    """Issue 17: `CALLCANON_SUPPRESS_BELOW=1 callcanon search` printed exact counts."""
    from assets.settings import Settings
    from assets.themes.search import suppress_below

    monkeypatch.setenv("CALLCANON_SUPPRESS_BELOW", "1")
    assert suppress_below() == 8
    Settings.from_env().export_for_dbt()  # what dbt is given is the policy's, whatever was set
    assert os.environ["CALLCANON_SUPPRESS_BELOW"] == "8"


def test_a_policy_cannot_publish_counts_smaller_than_the_nhs_floor(tmp_path):
    policy = yaml.safe_load((Path(__file__).parent.parent / "assets/policies/ombudsman.yaml").read_text())
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({**policy, "suppress_below": 3}))
    with pytest.raises(PolicyError, match="suppress_below"):
        load_policy(str(tmp_path / "p.yaml"))
    (tmp_path / "q.yaml").write_text(yaml.safe_dump({**policy, "suppress_below": 11}))
    assert load_policy(str(tmp_path / "q.yaml")).suppress_below == 11
