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
                    r"thyroiditis|encephalopathy|neuroma|arteritis")
EPONYMS = ("Parkinson's Alzheimer's Crohn's Huntington's Asperger's Raynaud's Addison's Cushing's Graves' "
           "Hodgkin's Down's Tourette's Meniere's Ménière's Bell's Paget's Hashimoto's Sjogren's Sjögren's "
           "Guillain-Barre Guillain-Barré Kawasaki Lyme Wilson's Marfan's Perthes' Osgood-Schlatter Dupuytren's "
           "Hirschsprung's Kaposi's Barrett's Behcet's Behçet's Creutzfeldt-Jakob Legionnaires' Munchausen's "
           "Stevens-Johnson Wernicke's Korsakoff's Ehlers-Danlos Klinefelter's Turner's Edwards' Patau's "
           "Achilles Caesarean Heimlich Pilates Braxton Hicks Apgar Glasgow Lewy Alport Tay-Sachs Prader-Willi Rett "
           "Gilbert's Fabry Gaucher Pompe Batten Sjögren Dravet Angelman Williams' Duchenne Becker's Hirschsprung "
           "Kawasaki's Reiter's Still's Takayasu's Whipple's Wolff-Parkinson-White Zollinger-Ellison").split()
CHARITIES = ("Macmillan", "Marie Curie", "Sue Ryder", "Admiral nurse", "Admiral nurses", "Florence Nightingale",
             "Maggie's", "Dementia UK", "Age UK", "Samaritans", "Headway", "Mencap", "Barnardo's",
             "St John Ambulance", "Carers UK", "Parkinson's UK", "Alzheimer's Society", "Marie Curie",
             "Cancer Research UK", "Breast Cancer Now", "Diabetes UK", "Healthwatch",
             "Teenage Cancer Trust", "CLIC Sargent", "Young Lives vs Cancer", "Rennie Grove")
_HOSPICE = (r"(?i:\b(?:St\.?|Saint)\s+[a-z]+(?:['’]s)?\s+(?:Hospice|Hospital|Ward|Unit|Surgery|Practice|Medical|"
           r"Health\s+Centre|Centre)\b)")
_SERVICE = r"(?:NHS\s+)?(?:111|999|one\s+one\s+one|nine\s+nine\s+nine)\b"
_WARD = (r"\b(?:ward|bay|bed|room|theatre|clinic|unit|level|floor|wing)\s+(?:[a-z]?\d{1,3}[a-z]?|[a-z]+)\b|"
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
    eponyms = "|".join(re.escape(e).replace("'", "['’]?") for e in EPONYMS)
    charities = "|".join(re.escape(c).replace(r"\ ", r"\s+") for c in CHARITIES)
    hospitals = "|".join(re.escape(h).replace(r"\ ", r"\s+").replace("'", "['’]?")
                         for h in sorted(hospital_names(), key=len, reverse=True))
    return re.compile(
        rf"{_HOSPITAL_SHAPES}|{_SERVICES}|"
        + (rf"(?i:\b(?:the\s+)?(?:{hospitals})(?!\w))|" if hospitals else "") +
        rf"(?i:\b(?:{eponyms})(?!\w))|"
        rf"(?i:\b(?:{charities})(?:\s+(?:nurses?|hospices?|centres?|support|team|line|service))?\b)|"
        rf"{_HOSPICE}|(?i:{_SERVICE})|(?i:{_WARD})")


_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{4,}")
_EPONYM_SHAPE = re.compile(rf"(?i)\b[a-z][a-z\-]+['’]s?\s+(?:{_CONDITION_WORDS})\b")


def protected(text: str, shapes: bool = True) -> list[tuple[int, int]]:
    """Spans no name or place may be found in. `shapes`: also "<word>'s disease" for eponyms not
    listed; off for a name already found in the call ("maureen's disease" is hers)."""
    spans = [m.span() for m in _pattern().finditer(text)]
    if shapes:
        spans += [m.span() for m in _EPONYM_SHAPE.finditer(text)]
    drugs = drug_names()
    spans += [m.span() for m in _WORD.finditer(text) if m.group().lower() in drugs]
    return spans


def drop_protected(text: str, entities: list, kinds=("PERSON", "LOCATION"), shapes: bool = True) -> list:
    """`entities` without the names and places that fall inside a protected span."""
    spans = protected(text, shapes)
    if not spans:
        return entities
    return [e for e in entities
            if e.type not in kinds or not any(a <= e.start < b or a < e.end <= b for a, b in spans)]
