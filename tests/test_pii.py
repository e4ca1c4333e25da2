"""The pseudonymiser on written and spoken identifiers (the broader evaluation is a benchmark)."""

from __future__ import annotations

import pytest

from assets.pii.pseudonymiser import Pseudonymiser
from assets.pii.spoken import spoken_to_digits


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
    # Said, not written (issue 4): postcodes letter by letter, emails in words, spelled and
    # lower-case names, addresses without capitals.
    ("postcode is L S six two A B", ["L S six", "two A B"]),
    ("it's sarah dot jones at gmail dot com", ["sarah", "jones"]),
    ("The surname is Taylor, that's T A Y L O R.", ["Taylor", "T A Y L O R"]),
    ("yeah it's priya patel speaking", ["priya", "patel"]),
    ("she lives at number 12, mill lane", ["mill lane"]),
    ("I was born on the 12th of March 1970.", ["12th"]),
    ("my national insurance is J K double four one two three six A", ["J K", "four one two"]),
    ("it's A B twelve thirty four fifty six C", ["A B", "twelve thirty four"]),
    ("my case number is C one two three four five six", ["one two three four five six"]),
    ("it's B fifteen two T H for the postcode", ["B fifteen", "two T H"]),
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
    for text in ("I waited nine hours in A&E for pain relief and the discharge letter never came.",
                 "The G P said the N H S waiting list was long, so I went to A and E at 3 on the ward."):
        assert pseudonymiser.redact(text).text == text


def test_said_and_written_forms_give_one_token(pseudonymiser):
    for said, written in (("L S six two A B", "LS6 2AB"), ("sarah dot jones at gmail dot com", "sarah.jones@gmail.com"),
                          ("T A Y L O R", "Taylor"), ("J K double four one two three six A", "JK 44 12 36 A")):
        assert pseudonymiser.redact(f"that is {said}").text.split()[-1] == \
            pseudonymiser.redact(f"that is {written}").text.split()[-1], said


@pytest.mark.parametrize("text, kept", [
    ("We met on the 12th of March 1970.", "We met on March 1970."),  # other dates keep month and year
    ("Seen 04/07/2025 in clinic.", "Seen July 2025 in clinic."),
    # a date of birth keeps only an age band at the call date, none without one (issue 18)
    ("I was born on the 12th of March 1970.", "I was born on [date of birth]."),
    ("my mum is 83 years old", "my mum is 80-89 years old"),  # ages keep their decade
    ("aged 47 and still waiting", "aged 40-49 and still waiting"),
    ("yeah he's eighty seven now", "yeah he's 80-89 now"),  # said in words too
    ("she is ninety-two years old", "she is 90-99 years old"),
    ("she's twenty minutes late", "she's twenty minutes late"),  # not every number is an age
    # Places keep their NHS region (the ombudsman policy's granularity); organisations stay whole.
    ("I moved here from Wakefield last year.", "I moved here from North East and Yorkshire last year."),
    ("we live in stockport now", "we live in North West now"),
    ("They sent me to Leeds General Infirmary.", "They sent me to Leeds General Infirmary."),
])
def test_dates_ages_and_places_are_coarsened_not_tokenised(pseudonymiser, text, kept):
    assert pseudonymiser.redact(text).text == kept


def test_spoken_numbers_become_digits():
    assert spoken_to_digits("oh seven seven double oh nine") == ("077009", 6)
    assert spoken_to_digits("treble five, 12") == ("55512", 3)


def test_a_speakers_turns_are_cut_from_the_redacted_whole(pseudonymiser):
    """The theme model reads the caller's turns alone; they must carry the same tokens as the
    whole transcript, even where a name was split across two turns."""
    from assets.canon.pseudonymise import caller_spans

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


def test_the_complaint_reference_format_is_configurable(monkeypatch):
    text = "my case is REF-QXZT thanks"  # no digits: only the configured pattern can catch it
    assert "QXZT" in Pseudonymiser(bytes(32)).redact(text).text
    monkeypatch.setenv("CALLCANON_COMPLAINT_REF", r"\bREF-[A-Z]{4}\b")
    assert "QXZT" not in Pseudonymiser(bytes(32)).redact(text).text
    monkeypatch.setenv("CALLCANON_COMPLAINT_REF", "[unclosed")
    with pytest.raises(ValueError, match="CALLCANON_COMPLAINT_REF"):
        Pseudonymiser(bytes(32)).find("anything")


def test_a_place_outside_the_gazetteer_is_a_token_not_a_region(pseudonymiser):
    """A village says more about a caller than a city does: it is tokenised, never kept."""
    from assets.pii import places
    assert places.region("Stoke-on-Trent") == places.region("stoke on trent") == "Midlands"
    assert places.region("Little Snoring") is None
    out = pseudonymiser.redact("She lives in Little Snoring, near Norwich.").text
    assert "Snoring" not in out and "<LOCATION_" in out and "East of England" in out
