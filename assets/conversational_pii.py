"""Identifiers as people say them on the phone, which Presidio's stock recognisers do not see:
postcodes letter by letter ("L S six two A B"), emails in words ("jane dot doe at gmail dot com"),
names spelled out ("T H O M P S O N") or introduced in lower case ("it's sarah jones speaking"),
and dates of birth in words ("the 12th of March"). Plain Python over regular expressions, so each
rule is testable alone; `assets.pii` wraps them as Presidio recognisers.

Granularity (the ombudsman policy's balance of usefulness and re-identification risk): a date
keeps its month and year and loses its day; an age keeps its decade (`80-89`). These are not
tokens: nothing needs to re-link them, and "March" or "80-89" is what an analyst can use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assets.spoken_numbers import DIGIT_WORDS

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
             "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth thirtieth").split()
_DAY = (r"(?:\d{1,2}(?:st|nd|rd|th)?|(?:twenty|thirty)[\s-](?:" + "|".join(_ORDINALS[:9]) + r")|"
        + "|".join(_ORDINALS) + ")")
_MONTH = "(" + "|".join(MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b\.?"
# "the 12th of March", "12 March", "March the 12th", "March 12"
DAY_MONTH = re.compile(rf"(?i)\b(?:(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}|{_MONTH}\s+(?:the\s+)?{_DAY}\b)")
NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\b")
AGE = re.compile(r"(?i)\b(?:aged\s+(\d{1,3})\b|(\d{1,3})(?=\s*(?:years?|yrs?)[\s-]*old\b|-year-old\b))")

_POSTCODE_SHAPE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$")
_PC_TOKEN = r"\b(?:" + "|".join(DIGIT_WORDS) + r"|[A-Za-z]{1,2}\d{0,2}[A-Za-z]?|\d{1,2}[A-Za-z]{0,2})\b"
_PC_RUN = re.compile(rf"(?i){_PC_TOKEN}(?:[\s.,\-]+{_PC_TOKEN}){{1,8}}")

_TLD_WORDS = {"com", "uk", "org", "net", "gov", "nhs", "ac", "co", "io", "info", "me", "biz", "scot", "wales"}
_SPOKEN_SEP = r"(?:\s+(?:dot|underscore|dash|hyphen)\s+|[._\-])"
SPOKEN_EMAIL = re.compile(
    rf"(?i)\b([a-z0-9]+(?:{_SPOKEN_SEP}[a-z0-9]+)*)\s+at\s+([a-z0-9\-]+(?:(?:\s+dot\s+|\.)[a-z0-9\-]+)+)\b")

_ACRONYMS = {"NHS", "GP", "GPS", "AE", "ICU", "ENT", "PALS", "CQC", "OK", "TV", "IT", "UK", "USA", "BBC", "MP", "ID",
             "PHSO", "CT", "MRI", "ECG", "A", "I"}
SPELLED = re.compile(r"\b(?:[A-Z][\s.,\-]{1,3}){2,}[A-Z]\b")
_SPELL_CUE = re.compile(r"(?i)(?:that's|that is|spelled|spelt|spelling|it's|name|surname)[\s,:]*$")

_STOP = {"a", "an", "the", "and", "or", "but", "on", "in", "at", "to", "for", "of", "not", "just", "about", "calling",
         "ringing", "phoning", "here", "speaking", "really", "very", "so", "sorry", "okay", "ok", "yes", "no", "um",
         "uh", "er", "still", "also", "actually", "down", "there", "wrong", "fine", "good", "me", "my", "your",
         "her", "his", "their", "our", "it", "is", "was", "been", "be", "that", "this", "with", "from", "because",
         "regarding", "trying", "going", "only", "all", "back", "again", "now", "well", "like", "quite"}
LOWER_INTRO = re.compile(
    r"(?i)\b(?:my\s+name\s+is|my\s+name's|name's|(?:sur|first\s+|last\s+|family\s+)name\s+is|"
    r"(?:it's|it\s+is|this\s+is)(?=\s+[a-z]+(?:\s+[a-z]+)?\s+(?:speaking|here|calling)\b))"
    r"\s+([a-z][a-z'\-]+)(?:\s+([a-z][a-z'\-]+))?")


_STREET = (r"(?:road|rd|street|st|avenue|ave|lane|drive|close|way|crescent|grove|place|terrace|gardens|court|row|"
           r"square|walk|mews|rise|hill|vale|view)")
# "12 Mill Lane", "number 12, mill lane", "lives on station road": the house number or a living
# cue anchors it, so "the waiting room" or "A&E on the high street side" are left alone.
STREET_ADDRESS = re.compile(
    rf"(?i)\b(?:(?:number\s+)?\d{{1,4}}[a-z]?,?\s+|(?<=\blive on\s)|(?<=\blives on\s)|(?<=\blived on\s))"
    rf"(?:[a-z'\-]+\s+){{1,2}}{_STREET}\b")


@dataclass(frozen=True)
class Span:
    type: str
    start: int
    end: int


def spoken_postcodes(text: str) -> list[Span]:
    """Any window of a letter/digit run that spells a full UK postcode once digit words become
    digits: no cue needed, since the shape alone (letters, digit, ..., digit, two letters) is rare."""
    found = []
    for m in _PC_RUN.finditer(text):
        toks = list(re.finditer(_PC_TOKEN, m.group(), re.IGNORECASE))
        best = None
        for i in range(len(toks)):
            chars = ""
            for j in range(i, min(len(toks), i + 8)):
                word = toks[j].group().lower()
                chars += DIGIT_WORDS.get(word, word).upper()
                if len(chars) > 7:
                    break
                if _POSTCODE_SHAPE.match(chars) and (best is None or j - i > best[1] - best[0]):
                    best = (i, j)
        if best:
            found.append(Span("UK_POSTCODE", m.start() + toks[best[0]].start(), m.start() + toks[best[1]].end()))
    return found


def spoken_emails(text: str) -> list[Span]:
    found = []
    for m in SPOKEN_EMAIL.finditer(text):
        last_label = re.split(r"\s+dot\s+|\.", m.group(2).lower())[-1]
        if last_label in _TLD_WORDS:
            found.append(Span("EMAIL_ADDRESS", m.start(), m.end()))
    return found


def spelled_names(text: str) -> list[Span]:
    """Letter runs: four letters or more, or three after a cue ("that's", "spelled"), and never a
    known acronym (N H S, G P)."""
    found = []
    for m in SPELLED.finditer(text):
        letters = re.sub(r"[^A-Z]", "", m.group())
        if letters in _ACRONYMS:
            continue
        if len(letters) >= 4 or _SPELL_CUE.search(text[max(0, m.start() - 20):m.start()]):
            found.append(Span("PERSON", m.start(), m.end()))
    return found


def lowercase_introductions(text: str) -> list[Span]:
    """Names after "my name is" / "surname is" / "it's ... speaking" in any case (tiny.en writes
    names in lower case as often as not); stop words end the name."""
    found = []
    for m in LOWER_INTRO.finditer(text):
        if m.group(1).lower() in _STOP:
            continue
        end = m.end(2) if m.group(2) and m.group(2).lower() not in _STOP else m.end(1)
        found.append(Span("PERSON", m.start(1), end))
    return found


def street_addresses(text: str) -> list[Span]:
    return [Span("LOCATION", m.start(), m.end()) for m in STREET_ADDRESS.finditer(text)]


def dates(text: str) -> list[Span]:
    return [Span("DATE", m.start(), m.end()) for m in DAY_MONTH.finditer(text)] + [
        Span("DATE", m.start(), m.end()) for m in NUMERIC_DATE.finditer(text)
        if 1 <= int(m.group(1)) <= 31 and 1 <= int(m.group(2)) <= 12]


def ages(text: str) -> list[Span]:
    out = []
    for m in AGE.finditer(text):
        g = 1 if m.group(1) else 2
        if int(m.group(g)) <= 120:
            out.append(Span("AGE", m.start(g), m.end(g)))
    return out


def generalise(entity_type: str, value: str) -> str | None:
    """The coarser value a DATE or AGE keeps in the canon; None for types that become tokens."""
    if entity_type == "AGE":
        digits = re.sub(r"\D", "", value)
        if not digits:
            return "[age]"
        decade = int(digits) // 10 * 10
        return f"{decade}-{decade + 9}"
    if entity_type == "DATE":
        m = NUMERIC_DATE.search(value)
        if m:
            year = m.group(3) if len(m.group(3)) == 4 else None
            month = MONTHS[int(m.group(2)) - 1].capitalize()
            return f"{month} {year}" if year else month
        m = DAY_MONTH.search(value)
        month = (m.group(1) or m.group(2)) if m else None
        if month:
            full = next((x for x in MONTHS if x.startswith(month.lower().rstrip("."))), month)
            return full.capitalize()
        return "[date]"
    return None
