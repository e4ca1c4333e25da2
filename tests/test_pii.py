"""The pseudonymiser on written and spoken identifiers (the broader evaluation is a benchmark)."""

from __future__ import annotations

import pytest

from assets.pii import Pseudonymiser
from assets.spoken_numbers import spoken_to_digits


@pytest.fixture(scope="module")
def pseudonymiser():
    return Pseudonymiser(bytes.fromhex("00" * 16 + "ff" * 16))


@pytest.mark.parametrize("text, must_go", [
    ("My name is Sarah Jones.", ["Sarah", "Jones"]),
    ("I saw Dr Patel yesterday.", ["Patel"]),
    ("My NHS number is 943 476 5919.", ["943", "5919"]),
    ("It's nine four three, four seven six, five nine one nine.", ["nine four three", "five nine one nine"]),
    ("Ring me on oh seven seven double oh, nine double oh, one two three.", ["seven seven", "one two three"]),
    ("Call +44 7911 123456 any time.", ["7911", "123456"]),
    ("Email jane.doe@example.co.uk please.", ["jane.doe"]),
    ("My postcode is LS6 2AB.", ["LS6", "2AB"]),
    ("It is about complaint C-123456.", ["123456"]),
])
def test_identifiers_are_replaced(pseudonymiser, text, must_go):
    out = pseudonymiser.redact(text).text
    for fragment in must_go:
        assert fragment not in out, out


def test_tokens_are_keyed_stable_and_form_independent(pseudonymiser):
    written = pseudonymiser.redact("My number is 07700 900123.").text
    spoken = pseudonymiser.redact("My number is oh seven seven oh oh, nine oh oh, one two three.").text
    assert written.split()[-1].rstrip(".") == spoken.split()[-1].rstrip(".")
    other_key = Pseudonymiser(bytes(32)).redact("My number is 07700 900123.").text
    assert other_key != written


def test_what_people_call_about_is_kept(pseudonymiser):
    text = "I waited nine hours in A&E for pain relief and the discharge letter never came."
    assert pseudonymiser.redact(text).text == text


def test_spoken_numbers_become_digits():
    assert spoken_to_digits("oh seven seven double oh nine") == ("077009", 6)
    assert spoken_to_digits("treble five, 12") == ("55512", 3)


def test_a_speakers_turns_are_cut_from_the_redacted_whole(pseudonymiser):
    """The theme model reads the caller's turns alone; they must carry the same tokens as the
    whole transcript, even where a name was split across two turns."""
    from assets.canon import caller_spans

    segments = [("staff", "Can I take your name?"), ("caller", "It is Sarah"), ("caller", "Jones, and I was"),
                ("staff", "Thank you."), ("caller", "left without pain relief.")]
    text = " ".join(t for _, t in segments)
    red = pseudonymiser.redact(text)
    caller = pseudonymiser.redact_spans(text, red.entities, caller_spans(text, segments))
    assert "Sarah" not in caller and "Jones" not in caller
    assert pseudonymiser.token("PERSON", "Sarah Jones") in caller
    assert "pain relief" in caller and "take your name" not in caller and "Thank you" not in caller
    assert caller_spans(text, [("unknown", text)]) is None  # speakers unknown: no caller text
    assert caller_spans(text + " more", segments) is None  # segments do not make up the text
