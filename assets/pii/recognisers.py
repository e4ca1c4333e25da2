"""The recognisers added to Presidio's: numbers however they are said, identifiers announced by a
cue, conversational forms (`conversational`), places from the gazetteer, and an email recogniser
that stays offline. Imported when the analyser is built, so importing the pseudonymiser stays light.
"""

from __future__ import annotations

import re

import tldextract
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from assets.pii import as_said, places
from assets.pii import conversational as conversational_pii
from assets.pii.spoken import NUMBER_RUN, nhs_checksum_ok, spoken_to_digits


def number_kind(raw: str, digits: str) -> str:
    if nhs_checksum_ok(digits) and not raw.lstrip().startswith("+"):
        return "UK_NHS"
    if raw.lstrip().startswith("+44") or (digits.startswith("0") and len(digits) in (10, 11)):
        return "PHONE_NUMBER"
    return "UK_NHS" if len(digits) == 10 else "ID_NUMBER"


class NumberRunRecognizer(EntityRecognizer):
    """A long number (five digits or more, or four said digit by digit) however it is written or said
    ("943 476 5919", "9-4-3...",
    "oh seven seven double oh nine..."): in a call, a long number is an NHS number, a phone
    number or a reference, and even a mis-heard one must not survive."""

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        results = []
        for m in NUMBER_RUN.finditer(text):
            digits, tokens = spoken_to_digits(m.group())
            if not (len(digits) >= 5 or (tokens >= 3 and len(digits) >= 4)):
                continue
            kind = number_kind(m.group(), digits)
            if kind in entities:
                results.append(RecognizerResult(kind, m.start(), m.end(), 0.9))
        return results

class CuedRecognizer(EntityRecognizer):
    """An identifier announced by a cue ("my name is", "postcode is"): only the regex's first
    group is the identifier, so the cue words stay readable in the canon."""

    def __init__(self, entity: str, name: str, cue: str, score: float, not_first=frozenset()):
        self.cue = re.compile(cue)
        self.score = score
        self.not_first = not_first
        super().__init__(supported_entities=[entity], name=name)

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        entity = self.supported_entities[0]
        if entity not in entities:
            return []
        return [
            RecognizerResult(entity, m.start(1), m.end(1), self.score)
            for m in self.cue.finditer(text)
            if m.group(1).split()[0] not in self.not_first
        ]

class ConversationalRecognizer(EntityRecognizer):
    """Spoken postcodes and emails, spelled and lower-case names, dates and ages
    (`assets.pii.conversational`). Scored above the number recogniser, so a date written
    with digits stays a date (kept to its month) rather than becoming a number token."""

    RULES = (conversational_pii.spoken_postcodes, conversational_pii.spoken_ninos, conversational_pii.spoken_emails,
             conversational_pii.spelled_names, conversational_pii.lowercase_introductions,
             conversational_pii.street_addresses, conversational_pii.dates, conversational_pii.ages)

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        return [RecognizerResult(span.type, span.start, span.end, 0.95)
                for rule in self.RULES for span in rule(text) if span.type in entities]

class AsSaidRecognizer(EntityRecognizer):
    """House numbers in words, other people's ages, dates of birth, references that start with
    letters, names spelled in lower case (`assets.pii.as_said`). Scored above the conversational
    rules, so a date of birth is one (an age band), not a date (its month)."""

    def __init__(self, reference_patterns: tuple[str, ...] = ()):
        self.extra = tuple(re.compile(p) for p in reference_patterns)
        super().__init__(supported_entities=["LOCATION", "AGE", "DATE_OF_BIRTH", "PERSON", "REFERENCE",
                                             "PHONE_NUMBER"], name="AsSaidRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        spans = [s for rule in as_said.RULES for s in rule(text)] + as_said.references(text, self.extra)
        # A reference yields to a code of a known shape said the same way (an NI number).
        return [RecognizerResult(s.type, s.start, s.end, 0.9 if s.type == "REFERENCE" else 0.97)
                for s in spans if s.type in entities]


class PlaceRecognizer(EntityRecognizer):
    """Towns and counties from the gazetteer, and other GB towns and villages from GeoNames
    (`assets.pii.places`), which the small spaCy model misses in lower case. Scored below spaCy,
    so a name it reads as a person ("Chester Brown") stays a person."""

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        if "LOCATION" not in entities:
            return []
        return [RecognizerResult("LOCATION", span.start, span.end, 0.6)
                for span in conversational_pii.named_places(text)] + [
                RecognizerResult("LOCATION", a, b, 0.55) for a, b in places.other_places(text)]

class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recogniser asks tldextract, which fetches the public suffix list
    from the internet on first use; this one uses the snapshot tldextract ships."""

    _extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    def validate_result(self, pattern_text: str):
        return self._extract(pattern_text).fqdn != ""


def build(complaint_ref: str, reference_patterns: tuple[str, ...] = ()) -> list[EntityRecognizer]:
    """Every added recogniser; `complaint_ref` is the organisation's case-number regex and
    `reference_patterns` its other reference formats."""
    introduced_name = CuedRecognizer(
        "PERSON", "IntroducedNameRecognizer",
        r"\b(?:[Mm]y name is|[Mm]y name's|[Tt]his is|[Ss]peaking to|[Ii]t's|I'm|I am|[Oo]n behalf of|"
        r"Dr\.?|Doctor|Nurse|Sister|Mr\.?|Mrs\.?|Ms\.?|Miss)\s+"
        r"((?:[A-Z][a-z'\-]+)(?:\s+[A-Z][a-z'\-]+)?)",
        0.8,
        not_first=frozenset({"The", "A", "An", "I", "It", "This", "That", "Calling", "Ringing",
                             "Phoning", "Here", "Just", "Not", "Sorry", "Okay", "Yes", "No", "Very",
                             "So", "Really"}),
    )
    # tiny.en writes a spoken postcode in many shapes ("L.S.6. Two A B"): take the short run of
    # capitals and digits after the cue, whatever its punctuation.
    spoken_postcode = CuedRecognizer(
        "UK_POSTCODE", "SpokenPostcodeRecognizer",
        r"(?i:post\s?cod(?:e|ing))(?:\s+(?:is|in|was|it's))?[\s:,]+([A-Z0-9](?:[A-Z0-9.\- ]{0,10}[A-Z0-9])?)\b",
        0.85,
    )
    # Presidio's UK postcode recogniser scores a bare postcode too low to pass the threshold
    # ("I live at LS6 2AB" survived); a full, capitalised postcode is identifying on its own.
    written_postcode = PatternRecognizer(
        supported_entity="UK_POSTCODE",
        name="WrittenPostcodeRecognizer",
        patterns=[Pattern("full UK postcode", r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b", 0.85)],
        global_regex_flags=re.MULTILINE,
    )
    complaint_ref = PatternRecognizer(
        supported_entity="COMPLAINT_REF",
        name="ComplaintRefRecognizer",
        patterns=[Pattern("complaint reference", complaint_ref, 0.9)],
    )
    return [NumberRunRecognizer(supported_entities=["PHONE_NUMBER", "UK_NHS", "ID_NUMBER"],
                                name="NumberRunRecognizer"),
            introduced_name, spoken_postcode, written_postcode, complaint_ref, OfflineEmailRecognizer(),
            ConversationalRecognizer(supported_entities=["UK_POSTCODE", "UK_NINO", "EMAIL_ADDRESS", "PERSON",
                                                         "LOCATION",
                                                         "DATE", "AGE"],
                                     name="ConversationalRecognizer"),
            PlaceRecognizer(supported_entities=["LOCATION"], name="PlaceRecognizer"),
            AsSaidRecognizer(reference_patterns)]


