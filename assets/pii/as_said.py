"""Identifiers as callers say them, beyond `conversational`: house numbers in words, other
people's ages, references that start with letters, dates of birth, names spelled in lower case.

- "forty two ashcombe close", "number four a, mill lane": a street after a number said in words;
- "my mum's eighty-two now", "he is seventy", "Edna Pickering, 82,": a relative's or a third
  party's age is coarsened like the caller's own (`conversational.generalise`);
- "RXH4410392", "PALS 20431", "hospital number k l nine eight two two one four": a reference is
  one or more letters then five digits or more, written or said (and the organisation's own
  patterns, `CALLCANON_REFERENCE_PATTERNS`);
- a date of birth keeps only an age band at the call date (other dates keep their month);
- "b, a, r, r, o, w": a surname spelled in lower case, as a speech recogniser writes it;
- "call me on Niro M &M and Niro Niro Niro, 9 Niro Niro, 2, 4, 4": a call-back number as the
  recogniser garbled it ("zero seven seven zero..."), misheard digits and all.
"""

from __future__ import annotations

import re
from datetime import date

from assets.pii.conversational import _ACRONYMS as conversational_acronyms
from assets.pii.conversational import (
    _AGE_NUMBER,
    _MONTH,
    _NOT_AN_AGE,
    _STREET,
    _TEENS,
    _TENS_NUMBER,
    _UNITS,
    MONTHS,
    NUMERIC_DATE,
    Span,
    age_value,
)
from assets.pii.spoken import NUMBER_RUN, spoken_to_digits

_UNIT, _TEEN = "|".join(_UNITS), "|".join(_TEENS)
_NUMBER_WORDS = rf"(?:(?:{_UNIT})\s+hundred(?:\s+and)?\s+)?(?:{_TENS_NUMBER}|{_TEEN}|{_UNIT})"
WORD_ADDRESS = re.compile(
    rf"(?i)\b(?:number\s+)?{_NUMBER_WORDS}(?:[\s\-]+[a-h]\b)?,?\s+(?:[a-z'\-]+\s+){{1,2}}{_STREET}\b")

_KIN = (r"(?:mum|mother|mam|dad|father|nan|nana|nanna|gran|granny|grandma|grandad|grandpa|grandmother|"
        r"grandfather|husband|wife|partner|son|daughter|brother|sister|aunt|auntie|uncle|niece|nephew|"
        r"friend|neighbour|patient|baby|child|he|she|they|who)")
THIRD_PARTY_AGE = re.compile(
    rf"(?i)\b{_KIN}(?:['’]s|\s+is|\s+was|\s+were|['’]re|\s+turned|\s+turns|\s+will\s+be|['’]ll\s+be)"
    rf"\s+(?:only\s+|just\s+|nearly\s+|almost\s+|about\s+|over\s+|now\s+|coming\s+up\s+|going\s+on\s+)?"
    rf"({_AGE_NUMBER})\b{_NOT_AN_AGE}(?!\s*(?:o['’]?clock|am|pm|\.\d|:\d|st|nd|rd|th)\b)")
# "is 15", "I'm only 19", "Age 88", "aged ninety": an age said of anyone, whatever the subject.
SAID_AGE = re.compile(
    rf"(?i)\b(?:is|was|i['’]m|i\s+am|age|aged|turned|turning)\s+(?:only\s+|just\s+|nearly\s+|almost\s+|about\s+|"
    rf"now\s+|over\s+)?(\d{{1,3}}|{_TENS_NUMBER}|{_TEEN})\b{_NOT_AN_AGE}"
    rf"(?![\s\-]*(?:o['’]?clock|am|pm|st|nd|rd|th|%|percent|[:.]\d|on|out|in\s+the|of\s+the|pounds?|p)\b)")
# Notes: "Edna Pickering, 82," / "Mr Okafor (79)" / "syndrome, 51;".
NOTED_AGE = re.compile(r"(?<=[^\W\d_])(?:,\s*|\s*\()(\d{1,3})(?=\s*[,;).]|\s*$|\s*y(?:ea)?rs?\b|\s*y/?o\b)")

# Capitals, then a space, dash or slash or nothing, then the digits ("PALS 20431", "H-8810273");
# lower case only glued to its digits ("rxh4410392"), so "is 07700 900123" stays a phone number.
WRITTEN_REFERENCE = re.compile(r"\b(?!(?:I|A)\s)[A-Z]{1,4}[\s\-/]?\d{5,}\b|\b[a-z]{1,4}\d{5,}\b")
_SAID_LETTERS = re.compile(r"(?i)(?<![\w'’])((?:[a-z][\s,.\-]+){1,4})$")

_YEAR = (rf"(?:1[89]\d\d|20[0-2]\d|(?:nineteen|eighteen)[\s\-]+(?:oh[\s\-]+(?:{'|'.join(_UNITS)})|{_TENS_NUMBER}|"
         rf"{'|'.join(_TEENS)})|two\s+thousand(?:\s+and)?(?:\s+(?:{_TENS_NUMBER}|{'|'.join(_TEENS)}|"
         rf"{'|'.join(_UNITS)}))?)")
_ORDINAL_WORDS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
                  "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth thirtieth")
_ORDINAL = rf"(?:(?:twenty|thirty)[\s\-])?(?:{'|'.join(_ORDINAL_WORDS.split())})"
# The pieces a date of birth is said in; after a cue they are taken as far as they run, however
# ordered or filled ("date of birth's the, um, February, 1964", "second of the eleventh nineteen
# sixty", "born — 1940. February", "nineteen, er, sixty four": bare number words are pieces too).
_DOB_PIECE = re.compile(
    rf"(?i)\b(?:\d{{1,2}}[/.\-]\d{{1,2}}[/.\-](?:\d{{4}}|\d{{2}})|{_YEAR}|{_MONTH}|{_ORDINAL}|{_TENS_NUMBER}|{_TEEN}|"
    rf"{_UNIT}|thousand|hundred|"
    rf"\d{{1,2}}(?:st|nd|rd|th)|\d{{1,2}}(?=\s+(?:of\s+)?{_MONTH}))(?![\w/])")
_DOB_GAP = re.compile(
    r"(?i)^[\s,.\-—–:;?]*(?:(?:of|the|um|er|erm|uh|is|was|it's|in|on|and|oh|i\s+have)[\s,.\-—–:;?]*)*$")
_DOB_CUE = re.compile(r"(?i)\b(?:date\s+of\s+birth|d\.?\s?o\.?\s?b\b\.?|born|birthday)(?:['’]s)?")
# Letter runs that are no name: the capital acronyms `conversational` knows, in lower case, and "a and e".
_ACRONYMS = {a.lower() for a in conversational_acronyms} | {"dna", "aande"}


# Welsh streets put the street word first: "Ffordd y Nant", "Heol yr Eglwys", "Lôn Las".
WELSH_STREET = re.compile(r"(?i)\b(?:ffordd|heol|stryd|lôn|lon|rhodfa|cilgant|maes|bryn)\s+(?:y\s+|yr\s+)?[^\W\d_]{3,}")


def word_addresses(text: str) -> list[Span]:
    return [Span("LOCATION", m.start(), m.end()) for p in (WORD_ADDRESS, WELSH_STREET) for m in p.finditer(text)]


def third_party_ages(text: str) -> list[Span]:
    out = []
    for pattern in (THIRD_PARTY_AGE, SAID_AGE, NOTED_AGE):
        for m in pattern.finditer(text):
            value = age_value(m.group(1))
            if value is not None and 1 <= value <= 120:
                out.append(Span("AGE", m.start(1), m.end(1)))
    return out


def references(text: str, extra: tuple[re.Pattern, ...] = ()) -> list[Span]:
    out = [Span("REFERENCE", m.start(), m.end()) for p in (WRITTEN_REFERENCE, *extra) for m in p.finditer(text)]
    for m in NUMBER_RUN.finditer(text):  # letters said before a long number: "k l nine eight two ..."
        digits, _ = spoken_to_digits(m.group())
        before = _SAID_LETTERS.search(text[max(0, m.start() - 16):m.start()])
        if len(digits) >= 5 and before and before.group(1).strip(" ,.-").lower() not in ("a", "i"):
            out.append(Span("REFERENCE", m.start() - len(before.group(1)), m.end()))
    return out


def dates_of_birth(text: str) -> list[Span]:
    out = []
    for cue in _DOB_CUE.finditer(text):
        start = end = None
        for piece in _DOB_PIECE.finditer(text, cue.end(), min(len(text), cue.end() + 80)):
            gap = text[end if end is not None else cue.end():piece.start()]
            if not _DOB_GAP.match(gap):
                break
            start, end = start if start is not None else piece.start(), piece.end()
        if start is not None:
            out.append(Span("DATE_OF_BIRTH", start, end))
    return out


def spelled_lower(text: str) -> list[Span]:
    """Four letters or more said one by one ("g i double l" is four), not an acronym."""
    from assets.pii.mentions import SPELLED, letters_of

    out = []
    for m in SPELLED.finditer(text):
        letters = letters_of(m.group())
        if len(letters) >= 4 and letters not in _ACRONYMS and not m.group().isupper():
            out.append(Span("PERSON", m.start(), m.end()))
    return out


_NAME_CUE = re.compile(
    r"(?i)\b(?:my\s+|her\s+|his\s+|our\s+|the\s+)?(?:son|daughter|husband|wife|partner|mum|mother|dad|father|"
    r"brother|sister|nan|gran|granddaughter|grandson|grandma|grandad|niece|nephew|aunt|auntie|uncle|cousin|"
    r"friend|neighbour|carer|dr|doctor|nurse|sister|mr|mrs|ms|miss|professor|consultant|midwife|"
    r"(?:name\s+(?:is|was|'s))|called)[\s,]+(?:(?:er|um|erm|uh)[\s,]+)*([^\W\d_][^\W\d_'’\-]+)")


def cued_names(text: str) -> list[Span]:
    """A word after a relative, a title or "name was": a name when it is capitalised mid-sentence
    or, in lower case, a word outside the case-blind model's vocabulary ("my husband stanislaw",
    "doctor mensah", "her name was er olubunmi"); "my husband said" is left alone."""
    from assets.pii.rampart import common_words

    common = common_words()
    out = []
    pos = 0
    while m := _NAME_CUE.search(text, pos):
        pos = m.start(1)  # the word may itself be a cue: "doctor doctor mensah"
        word = m.group(1)
        rare = word.lower() not in common and len(word) >= 3
        if rare or (word[0].isupper() and not word.isupper() and word.lower() not in _NOT_NAMES):
            out.append(Span("PERSON", m.start(1), m.end(1)))
    return out


_NOT_NAMES = {"and", "is", "was", "has", "had", "said", "says", "who", "the", "they", "she", "he", "i", "it", "we",
              "but", "so", "then", "went", "came", "told", "rang", "called", "can", "could", "would", "will", "did",
              "does", "in", "on", "at", "from", "of", "to", "with", "for", "about", "after", "as", "because", "never",
              "always", "just", "also", "still", "now", "yes", "no", "not", "there", "here", "that", "this", "gp"}


# A number given to be called back on. tiny.en hears espeak's and many callers' "zero" as "Niro"
# or "M &M": the digits it did hear are then short runs between "names", each too short to be an
# identifier, which the canon's residual scan rightly reads as one long number once the names are
# tokens (`assets.canon.leak_scan`). After the cue, everything up to the last digit before the
# sentence ends or the next thing asked for is one number.
_PHONE_CUE = re.compile(r"(?i)\b(?:(?:call|ring|reach|contact|text)\s+me\s+(?:back\s+)?on|"
                        r"(?:phone|mobile|telephone|contact|landline)\s+number\s+(?:is|was|'s)|"
                        r"my\s+number\s+(?:is|'s))[\s,:]*")
_PHONE_END = re.compile(r"(?i)[.?!;](?:\s|$)|\b(?:my|and|the)\s+(?:post\s*code|address|date|name|email|nhs)\b")
PHONE_WINDOW = 90  # "zero seven seven zero zero nine zero zero two four four" is 55 characters


def cued_phone_numbers(text: str) -> list[Span]:
    out = []
    for cue in _PHONE_CUE.finditer(text):
        window = text[cue.end():cue.end() + PHONE_WINDOW]
        if stop := _PHONE_END.search(window):
            window = window[:stop.start()]
        runs = list(NUMBER_RUN.finditer(window))
        if runs:
            out.append(Span("PHONE_NUMBER", cue.end(), cue.end() + runs[-1].end()))
    return out


RULES = (word_addresses, third_party_ages, dates_of_birth, spelled_lower, cued_names, cued_phone_numbers)


def year_of(value: str, on: date) -> int | None:
    """The year a said or written date of birth names, or None."""
    m = re.search(r"\b(1[89]\d\d|20[0-2]\d)\b", value)
    if m:
        return int(m.group(1))
    m = NUMERIC_DATE.search(value)
    if m:
        yy = int(m.group(3)) % 100
        return 2000 + yy if 2000 + yy <= on.year else 1900 + yy
    low = value.lower()
    m = re.search(r"(nineteen|eighteen)[\s\-]+(?:oh[\s\-]+)?([a-z][a-z\s\-]*)", low)
    if m:
        rest = age_value(m.group(2))
        return (1900 if m.group(1) == "nineteen" else 1800) + (rest or 0) if rest is not None else None
    m = re.search(r"two\s+thousand(?:\s+and)?\s*([a-z\s\-]*)", low)
    if m:
        return 2000 + (age_value(m.group(1)) or 0)
    return None


def age_band_at(value: str, on: date | None) -> str:
    """A date of birth as the age band it gives at the call date ("[age 70-79]"); "[date of birth]"
    when the year is not said or the call date is unknown."""
    year = year_of(value, on or date.today())
    if year is None or on is None:
        return "[date of birth]"
    month = next((i + 1 for i, name in enumerate(MONTHS) if re.search(rf"(?i)\b{name[:3]}", value)), None)
    if month is None and (m := NUMERIC_DATE.search(value)):
        month = int(m.group(2))
    age = on.year - year - (1 if month and month > on.month else 0)
    if age < 0 or age > 120:
        return "[date of birth]"
    if age >= 100:
        return "[age 100+]"
    return f"[age {age // 10 * 10}-{age // 10 * 10 + 9}]"

