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
    r"\s+(?:General|Royal|University|Universities|Teaching|Hospitals?|Infirmary|NHS|Trust|Community|"
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
