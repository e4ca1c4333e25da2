"""Identifiers as people say them on the phone, which Presidio's stock recognisers do not see:
postcodes letter by letter ("L S six two A B"), emails in words ("jane dot doe at gmail dot com"),
names spelled out ("T H O M P S O N") or introduced in lower case ("it's sarah jones speaking"),
NI numbers said aloud ("J K double four ..."), dates of birth and ages in words. Plain Python over regular
expressions, so each
rule is testable alone; `assets.pii` wraps them as Presidio recognisers.

Granularity (the ombudsman policy's balance of usefulness and re-identification risk): a date
keeps its month and year and loses its day; an age keeps its decade (`80-89`); a known place its
NHS region (`assets.pii.places`). These are not tokens: nothing needs to re-link them, and "March",
"80-89" or "North West" is what an analyst can use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assets.pii import places
from assets.pii.spoken import DIGIT_WORDS, REPEAT_WORDS

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
             "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth thirtieth").split()
_DAY = (r"(?:\d{1,2}(?:st|nd|rd|th)?|(?:twenty|thirty)[\s-](?:" + "|".join(_ORDINALS[:9]) + r")|"
        + "|".join(_ORDINALS) + ")")
_MONTH = "(" + "|".join(MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b\.?"
# "the 12th of March", "12 March", "March the 12th", "March 12"
DAY_MONTH = re.compile(rf"(?i)\b(?:(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}|{_MONTH}\s+(?:the\s+)?{_DAY}\b)")
NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\b")
_U = "(?:" + "|".join(_UNITS) + ")"
_TENS_NUMBER = r"(?:" + "|".join(_TENS) + r")(?:[\s\-]+" + _U + r")?"  # "eighty", "eighty-seven"
_AGE_NUMBER = (r"(?:\d{1,3}|(?:a|one)\s+hundred(?:\s+and\s+" + _U + r")?|" + _TENS_NUMBER + "|"
               + "|".join(_TEENS) + "|" + "|".join(_UNITS) + ")")
_NOT_AN_AGE = (r"(?![\s\-]+(?:minutes?|mins?|hours?|days?|weeks?|months?|pounds?|quid|pence|percent|per|miles?|"
               r"times|mg|ml|calls?|people|of)\b)")
# "aged 87", "87 years old", "an eighty-seven-year-old", "she's ninety two", "turned seventy"
AGE = re.compile(
    rf"(?i)\b(?:aged\s+({_AGE_NUMBER})\b|({_AGE_NUMBER})(?=[\s\-]*(?:years?|yrs?)[\s\-]*old\b)|"
    rf"(?:(?:she|he|i|mum|dad|who)(?:'s|'m|\s+is|\s+am|\s+was)|turned|turning)\s+({_TENS_NUMBER})\b{_NOT_AN_AGE})")

_POSTCODE_SHAPE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$")
_NINO_SHAPE = re.compile(r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")
# One said or written piece of a code: a digit word, "double", a letter or two, a short number.
# People say a postcode district or an NI number's digits as numbers too ("B fifteen",
# "twelve thirty four fifty six"): "thirty four" is one piece, 34.
_PAIR_WORDS = _TENS_NUMBER + "|" + "|".join(_TEENS)
_CODE_TOKEN = (r"\b(?:" + _PAIR_WORDS + "|" + "|".join([*REPEAT_WORDS, *DIGIT_WORDS])
               + r"|[A-Za-z]{1,2}\d{0,2}[A-Za-z]?|\d{1,6}[A-Za-z]{0,2})\b")
_CODE_RUN = re.compile(rf"(?i){_CODE_TOKEN}(?:[\s.,\-]+{_CODE_TOKEN}){{1,14}}")

_TLD_WORDS = {"com", "uk", "org", "net", "gov", "nhs", "ac", "co", "io", "info", "me", "biz", "scot", "wales",
              "ie", "pl", "de", "fr", "es", "it", "nl", "pt", "ro", "lt", "in", "pk", "ng", "eu", "cymru", "london"}
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
           r"square|walk|mews|rise|hill|vale|view|maltings|yard|parade|wharf|fold|croft|meadows?|heights|park|green|"
           r"gate|end|bank|brow|chase|nook|ffordd|stryd|heol)")
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


def _said_codes(text: str, shape: re.Pattern, max_chars: int, entity: str) -> list[Span]:
    """Windows of a letter/digit run that spell a whole code of `shape` once digit words are
    digits and "double four" is 44: no cue needed, since the shapes are rare in speech."""
    found = []
    for m in _CODE_RUN.finditer(text):
        toks = list(re.finditer(_CODE_TOKEN, m.group(), re.IGNORECASE))
        best = None
        words = [t.group().lower() for t in toks]
        for i in range(len(words)):
            chars = ""
            for j, piece in enumerate(_expand(words[i:]), i):
                if not piece:  # "double": it shapes the next piece
                    continue
                chars += piece
                if len(chars) > max_chars:
                    break
                if shape.match(chars) and (best is None or j - i > best[1] - best[0]):
                    best = (i, j)
        if best:
            found.append(Span(entity, m.start() + toks[best[0]].start(), m.start() + toks[best[1]].end()))
    return found


def code_chars(said: str) -> str:
    """The characters a said or written code stands for: "L S six two A B" -> "LS62AB",
    "J K double four..." -> "JK44...", so every form of one code gives one token."""
    return "".join(_expand([m.group().lower() for m in re.finditer(_CODE_TOKEN, said, re.IGNORECASE)]))


def _expand(words: list[str]) -> list[str]:
    """Each word's characters, in order: "double"/"treble" give none and repeat the next piece."""
    pieces, repeat = [], 1
    for word in words:
        if word in REPEAT_WORDS:
            pieces.append("")
            repeat = REPEAT_WORDS[word]
        else:
            pieces.append(_code_piece(word) * repeat)
            repeat = 1
    return pieces


def _code_piece(word: str) -> str:
    if word in DIGIT_WORDS:
        return DIGIT_WORDS[word]
    if re.match(r"[a-z]+[\s\-]", word) or word in _TENS or word in _TEENS:
        return str(age_value(word))
    return word.upper()


def spoken_postcodes(text: str) -> list[Span]:
    return _said_codes(text, _POSTCODE_SHAPE, 7, "UK_POSTCODE")


def spoken_ninos(text: str) -> list[Span]:
    """ "J K double four one two three six A": the letters say as much as the digits."""
    return _said_codes(text, _NINO_SHAPE, 9, "UK_NINO")


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


def age_value(said: str) -> int | None:
    """87 from "87", "eighty-seven" or "eighty seven"; 100 from "a hundred"."""
    words = re.findall(r"[a-z]+|\d+", said.lower())
    if words and words[0].isdigit():
        return int(words[0])
    total = 0
    for w in words:
        if w == "hundred":
            total = 100
        elif w in _TENS:
            total += 20 + 10 * _TENS.index(w)
        elif w in _TEENS:
            total += 10 + _TEENS.index(w)
        elif w in _UNITS:
            total += 1 + _UNITS.index(w)
    return total or None


def ages(text: str) -> list[Span]:
    out = []
    for m in AGE.finditer(text):
        g = next(i for i in (1, 2, 3) if m.group(i))
        value = age_value(m.group(g))
        if value is not None and value <= 120:
            out.append(Span("AGE", m.start(g), m.end(g)))
    return out


def named_places(text: str) -> list[Span]:
    return [Span("LOCATION", a, b) for a, b in places.known_places(text)]


def generalise(entity_type: str, value: str) -> str | None:
    """The coarser value a DATE or AGE keeps in the canon; None for types that become tokens."""
    if entity_type == "AGE":
        age = age_value(value)
        if age is None:
            return "[age]"
        if age >= 100:  # "100-109" would read as a long number to the residual scan
            return "100+"
        decade = age // 10 * 10
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
    if entity_type == "LOCATION":
        return places.region(value)  # a known town or county: its region; anything else a token
    return None
