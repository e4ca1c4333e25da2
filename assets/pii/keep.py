"""What analysts need that looks like a name: never tokenised.

A detector that finds names in any case also finds them where they are not people: "Parkinson's
disease", "a Macmillan nurse", "Gabapentin made her dizzy" (a capitalised drug at the start of a
sentence reads as a name). A name or place found inside one of these spans is dropped; numbers and
every other kind are untouched.

Sources, all public knowledge:
- eponymous conditions: `<Name>'s` before a condition word, and the eponyms people say alone
  (NHS A-Z condition names);
- drug names: the single-word names in the `drug-named-entity-recognition` package's dictionary
  (MIT, Fast Data Science; built from NHS, MeSH and Wikipedia drug lists), five letters or more;
- charities and services named after people or numbers: Macmillan, Marie Curie, Sue Ryder,
  Admiral nurses (Dementia UK), Florence Nightingale, Maggie's centres, hospices named for
  saints, NHS 111 and 999.
"""

from __future__ import annotations

import bz2
import importlib.util
import pickle
import re
from functools import lru_cache
from pathlib import Path

# Only words that follow an eponym, never a person ("mum's operation" must not protect "mum").
_CONDITION_WORDS = (r"disease|syndrome|palsy|lymphoma|sarcoma|phenomenon|ataxia|chorea|dystrophy|contracture|"
                    r"thyroiditis|encephalopathy|neuroma|arteritis|dementia|body|score|scale|tendon|section|"
                    r"manoeuvre|maneuver|contractions|sign|test|coma|fever|ulcer|oesophagus|esophagus|"
                    r"lymphoma|anomaly|cyst|tumou?r|sarcoid|neuralgia")
# Eponyms said alone ("she has crohn's"): only names that are not also common surnames, so
# "Alan Turner's wife" is no condition. Every other eponym needs its condition word after it
# ("Turner's syndrome", "Lyme disease", "Glasgow coma scale", "Braxton Hicks contractions").
EPONYMS = ("Parkinson's Alzheimer's Crohn's Huntington's Asperger's Raynaud's Hodgkin's Tourette's Meniere's "
           "Ménière's Hashimoto's Sjogren's Sjögren's Dupuytren's Hirschsprung's Kaposi's Behcet's Behçet's "
           "Korsakoff's Munchausen's Guillain-Barre Guillain-Barré Osgood-Schlatter Creutzfeldt-Jakob "
           "Stevens-Johnson Ehlers-Danlos Tay-Sachs Prader-Willi Wolff-Parkinson-White Zollinger-Ellison").split()
EPONYM_NAMES = ("Addison Cushing Graves Down Bell Paget Kawasaki Lyme Wilson Marfan Perthes Barrett Wernicke "
                "Klinefelter Turner Edwards Patau Achilles Caesarean Heimlich Apgar Glasgow Lewy Alport Rett "
                "Gilbert Fabry Gaucher Pompe Batten Dravet Angelman Williams Duchenne Becker Reiter Still "
                "Takayasu Whipple Legionnaires Braxton Hicks").split()
# Charities and services named after people: with the word that makes them a service
# ("a Macmillan nurse", "the Marie Curie hospice"), never the bare name ("I'm Sarah Macmillan").
CHARITIES = ("Macmillan", "Marie Curie", "Sue Ryder", "Admiral", "Florence Nightingale", "Maggie's", "Rennie Grove",
             "St John Ambulance")
_CHARITY_SERVICE = (r"(?:nurses?|nursing|hospices?|centres?|support|team|line|service|services|charity|"
                    r"cancer\s+support|specialist|ambulance|fund|care)")
ORGANISATIONS = ("Dementia UK", "Age UK", "Samaritans", "Headway", "Mencap", "Barnardo's", "Carers UK",
                 "Parkinson's UK", "Alzheimer's Society", "Cancer Research UK", "Breast Cancer Now", "Diabetes UK",
                 "Healthwatch", "Teenage Cancer Trust", "CLIC Sargent", "Young Lives vs Cancer")
_HOSPICE = (r"(?i:\b(?:St\.?|Saint)\s+[a-z]+(?:['’]s)?\s+(?:Hospice|Hospital|Ward|Unit|Surgery|Practice|Medical|"
           r"Health\s+Centre|Centre)\b)")
_SERVICE = r"(?:NHS\s+)?(?:111|999|one\s+one\s+one|nine\s+nine\s+nine)\b"
_NUMBER_WORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty)")
_WARD = (r"\b(?:ward|bay|bed|room|theatre|clinic|unit|level|floor|wing)\s+"
         rf"(?:[a-z]?\d{{1,3}}[a-z]?|[a-z]\b|{_NUMBER_WORD}(?:[\s\-]{_NUMBER_WORD})?)\b|"
         r"\b(?:oncology|maternity|surgical|medical|children['’]?s|cardiac|coronary|stroke|elderly|geriatric|"
         r"orthopaedic|labour|postnatal|post-natal|antenatal|acute|respiratory|renal|day|assessment|admissions|"
         r"psychiatric|dementia|haematology|neonatal|paediatric|intensive|rehab|rehabilitation|discharge|"
         r"observation|trauma|burns|eye|ear|gynae|gynaecology|urology|frailty|covid|isolation)\s+"
         r"(?:ward|unit|wing|bay)\b")
# Services and teams people name by their initials.
_SERVICES = r"(?i:\b(?:PALS|CAMHS|ICB|CCG|CQC|PHSO|NICU|SCBU|ITU|HDU|MAU|AMU|CDU|EPAU|A&E|A and E|GP|GPs)\b)"
# Hospitals named for a place or a person, without the word "Hospital": "the Royal Oldham",
# "Chesterfield Royal", "Furness General", "Ysbyty Gwynedd", and the list in data/uk_hospitals.txt.
_HOSPITAL_SHAPES = (r"\b(?:the\s+)?Royal\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?|\b[A-Z][a-z]+\s+(?:Royal|General)\b|"
                    r"\bYsbyty\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?")
HOSPITALS = Path(__file__).parent / "data" / "uk_hospitals.txt"


@lru_cache(maxsize=1)
def drug_names() -> frozenset[str]:
    """Single-word drug names from the installed dictionary, lower case; empty when the package
    is absent (then only the rules above protect)."""
    spec = importlib.util.find_spec("drug_named_entity_recognition")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    path = Path(next(iter(spec.submodule_search_locations))) / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(path, "rb") as f:
        variants = pickle.load(f)["drug_variant_to_canonical"]  # noqa: S301 - a file inside a pinned wheel
    return frozenset(v for v in variants if v.isalpha() and len(v) >= 5 and v.isascii())


def hospital_names() -> list[str]:
    """The list's names, less one-word names that are also common words or frequent names
    ("Christie"): those would shield a caller's surname."""
    if not HOSPITALS.is_file():
        return []
    from assets.pii.rampart import common_words

    common = common_words()
    names = [n.strip() for n in HOSPITALS.read_text(encoding="utf-8").splitlines()
             if n.strip() and not n.lstrip().startswith("#")]
    return [n for n in names if " " in n or n.lower().replace("'s", "").replace("’s", "") not in common]


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    eponyms = "|".join(re.escape(e).replace("'", "['’]") for e in EPONYMS)
    named = "|".join(re.escape(e) for e in EPONYM_NAMES)
    charities = "|".join(re.escape(c).replace(r"\ ", r"\s+").replace("'", "['’]") for c in CHARITIES)
    organisations = "|".join(re.escape(c).replace(r"\ ", r"\s+").replace("'", "['’]") for c in ORGANISATIONS)
    return re.compile(
        rf"{_HOSPITAL_SHAPES}|{_SERVICES}|" +
        rf"(?i:\b(?:{eponyms})(?!\w))|"
        rf"(?i:\b(?:{named})(?:['’]s?|s['’])?(?:\s+[a-z]+)?\s+(?:{_CONDITION_WORDS})\b)|"
        rf"(?i:\b(?:{charities})\s+{_CHARITY_SERVICE}\b)|\b(?:{organisations})\b|"
        rf"{_HOSPICE}|(?i:{_SERVICE})|(?i:{_WARD})")


_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{4,}")
_EPONYM_SHAPE = re.compile(rf"(?i)\b[a-z][a-z\-]+['’]s?\s+(?:{_CONDITION_WORDS})\b")


@lru_cache(maxsize=1)
def _hospital_keys() -> frozenset[str]:
    return frozenset(_key(h) for h in hospital_names())


def _key(name: str) -> str:
    """A place's key (`places._key`) without apostrophes: "Addenbrookes" is "Addenbrooke's"."""
    from assets.pii.places import _key as place_key

    return re.sub(r"['’]", "", place_key(name))


_LIVING = re.compile(r"(?i)\b(?:live|lives|lived|living)\s+in\s+(?:the\s+)?$|\bmoved\s+to\s+(?:the\s+)?$")


def hospitals_in(text: str) -> list[tuple[int, int]]:
    """Listed hospital, board and trust names, any case, up to six words; not after "I live in"
    or "moved to", where a hospital's name is the caller's district ("we live in Wythenshawe")."""
    from assets.pii.places import phrase_spans

    return phrase_spans(text, _hospital_keys(), _key, 6,
                        lambda a, b, name: not _LIVING.search(text[max(0, a - 24):a]))


def protected(text: str, shapes: bool = True) -> list[tuple[int, int]]:
    """Spans no name or place may be found in. `shapes`: also "<word>'s disease" for eponyms not
    listed; off for a name already found in the call ("maureen's disease" is hers)."""
    spans = list(_listed(text))
    if shapes:
        spans += [m.span() for m in _EPONYM_SHAPE.finditer(text)]
    return spans


@lru_cache(maxsize=8)
def _listed(text: str) -> tuple[tuple[int, int], ...]:
    """The listed phrases' spans: kept for the few texts just asked about, since a call's text is
    checked once as detected and again after its names are found everywhere (`mentions`)."""
    drugs = drug_names()
    return tuple([m.span() for m in _pattern().finditer(text)] + hospitals_in(text)
                 + [m.span() for m in _WORD.finditer(text) if m.group().lower() in drugs])


def drop_protected(text: str, entities: list, kinds=("PERSON", "LOCATION"), shapes: bool = True) -> list:
    """`entities` without the names and places that protected spans cover, bar joining words ("ward
    seven at St Luke's"); one with a word of its own outside them is a name beside a kept phrase
    ("the room Maureen Pickering came in") and stays."""
    if not any(e.type in kinds for e in entities):
        return entities
    spans = protected(text, shapes)
    if not spans:
        return entities
    from assets.pii.rampart import common_words

    joiners, common, drugs = _joiners(), common_words(), drug_names()

    def covered(e) -> bool:
        if not any(a < e.end and e.start < b for a, b in spans):
            return False
        chars = list(text[e.start:e.end])
        for a, b in spans:
            for i in range(max(a, e.start), min(b, e.end)):
                chars[i - e.start] = " "
        # What is left besides the kept phrase: joining words, or everyday lower-case words the
        # detector swept in ("got parkinson's"); a capitalised or rare word is a name of its own.
        return not [w for w in re.findall(r"[^\W\d_]{3,}", "".join(chars)) if w.lower() not in joiners
                    and not (w.islower() and w in common and w not in drugs)]

    return [e for e in entities if e.type not in kinds or not covered(e)]


def _joiners() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) | {"near", "dad", "mum", "mother", "father", "son", "daughter", "wife", "husband",
                                    "aunt", "uncle", "nan", "gran", "patient", "caller", "ward", "mrs", "miss",
                                    "uhb", "nhs", "trust", "board", "health", "hospital", "hospice", "university",
                                    "teaching", "foundation", "infirmary", "centre", "clinic", "unit"}
