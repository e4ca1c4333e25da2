"""A name found once is gone everywhere in the call.

Detectors see a name where its context gives it away ("my name is Maureen Pickering") and miss
the same name elsewhere ("maureen's tablets", "that's P, I, C, K, E, R, I, N, G"). So once any
detector finds a name, street or place in a call, every other mention of its words in the same
text, in any case, possessive or spelled letter by letter, is an identifier too, and every mention
takes the token of the fullest mention found ("maureen" -> the token of "Maureen Pickering").
"""

from __future__ import annotations

import re
from dataclasses import replace

from assets.pii import keep

KINDS = ("PERSON", "LOCATION")
# Words a name or place may contain that say nothing alone ("new", "upon", "st").
_GENERIC = {"the", "and", "of", "upon", "on", "in", "by", "le", "de", "la", "van", "von", "st", "saint", "new",
            "old", "great", "little", "upper", "lower", "north", "south", "east", "west", "road", "street",
            "lane", "close", "avenue", "drive", "way", "court", "place", "mr", "mrs", "ms", "miss", "dr", "doctor",
            "nurse", "sister", "my", "is", "it", "name", "her", "his", "mum", "dad", "flat", "number", "house",
            "sea", "park", "green", "hill", "end", "bay", "city", "town", "village", "ward", "him", "you",
            "that", "this", "was", "are", "not", "she", "he", "we", "they", "with", "from", "for", "at", "to",
            # Number words: a misheard phrase taken for a place ("one on the end") would make
            # every "one" in the call a leak, and no number word identifies anyone alone.
            "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
            "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "first", "second", "third"}
_WORD = re.compile(r"[^\W\d_][\w'’\-]*")


def _words(value: str) -> list[str]:
    return [w.lower().removesuffix("'s").removesuffix("’s").strip("'’-") for w in _WORD.findall(value)]


def significant_words(value: str) -> list[str]:
    """The words of a name or place that identify: three letters or more, not generic, not a
    drug name or other word analysts keep."""
    words = _words(value)
    words += [part for w in words if "-" in w for part in w.split("-")]  # "Mary-Jane": "mary" too
    return [w for w in dict.fromkeys(words) if len(w) >= 3 and w not in _GENERIC and not w.isdigit()
            and w not in keep.drug_names() and not keep.protected(w)]


def canonical_values(text: str, entities: list) -> dict[str, tuple[str, str]]:
    """word -> (kind, fullest mention it belongs to), from the names and places found."""
    owners: dict[str, tuple[str, str]] = {}
    for e in sorted((e for e in entities if e.type in KINDS), key=lambda e: -(e.end - e.start)):
        value = text[e.start:e.end]
        for w in significant_words(value):
            owners.setdefault(w, (e.type, value))
    return owners


def _word_names() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) | _ENGLISH_NAMES


# First names that are everyday English words.
_ENGLISH_NAMES = frozenset("mark bill grace rose faith hope joy dawn summer frank jack pat sue art rob guy ray bob "
                           "holly ivy lily daisy amber ruby pearl iris violet jasmine heather hazel crystal "
                           "sunny autumn april june august victor earl major dean chase hunter mason carter "
                           "penny candy sandy rusty don drew gene".split())
_MENTION = re.compile(r"(?<![<\w])[^\W\d_][\w'’\-]*")
# Letters said one by one, "double l" included: "p, i, c, k", "g i double l", "B-A-R-R-O-W".
_UNIT = r"(?:(?:double|treble)\s+)?[^\W\d_]"
SPELLED = re.compile(rf"(?i)(?<![\w<'’]){_UNIT}(?:[\s,.\-]{{1,3}}{_UNIT}){{2,}}(?![\w>'’])")


def letters_of(spelled: str) -> str:
    """ "g i double l" -> "gill"."""
    out, repeat = [], 1
    for piece in re.findall(r"(?i)double|treble|[^\W\d_]", spelled):
        low = piece.lower()
        if low in ("double", "treble"):
            repeat = 2 if low == "double" else 3
        else:
            out.append(low * repeat)
            repeat = 1
    return "".join(out)


_NEXT_WORD = re.compile(r"[ \t]+([^\W\d_][^\W\d_'’\-]{2,})")


def with_surnames(text: str, entities: list) -> list:
    """A found name followed by a rare word takes it as the surname ("it's amir er amir
    chaudhry": spaCy and the model saw "amir", not "chaudhry"). Rare: outside the case-blind
    model's vocabulary, which holds English words and frequent names."""
    from assets.pii.rampart import common_words

    common, out = common_words(), []
    for e in entities:
        m = _NEXT_WORD.match(text, e.end) if e.type == "PERSON" else None
        if m and m.group(1).lower() not in common and not keep.protected(m.group(1)) \
                and m.group(1).lower() not in keep.drug_names():
            e = replace(e, end=m.end(1))
        out.append(e)
    return out


def every_mention(text: str, entities: list, make) -> list:
    """`entities` plus every other mention of their names' words, each carrying (through `make`,
    the caller's entity constructor) the fullest mention as the value its token is made from."""
    entities = with_surnames(text, entities)
    owners = canonical_values(text, entities)
    if not owners:
        return entities
    # A name that is also a word ("May", "Will") is only taken in lower case where the text has no
    # capitals at all (a speech recogniser's): "you may need to wait" is no mention of May.
    cased, common = text != text.lower(), _word_names()
    found = list(entities)
    for m in _MENTION.finditer(text):
        key = (_words(m.group()) or [""])[0]
        owner = owners.get(key)
        if owner and cased and m.group()[0].islower() and key in common:
            continue
        if owner:
            end = m.end() - (2 if re.search(r"['’]s$", m.group()) else 0)
            found.append(make(owner[0], m.start(), end, owner[1]))
    for m in SPELLED.finditer(text):
        owner = owners.get(letters_of(m.group()))
        if owner:
            found.append(make(owner[0], m.start(), m.end(), owner[1]))
    # Detected mentions of a fuller name take its value too ("Maureen" -> "Maureen Pickering").
    out = []
    for e in found:
        if e.type in KINDS and getattr(e, "value", None) is None:
            said = text[e.start:e.end]
            spelled = re.fullmatch(r"(?i)(?:double|treble|[^\W\d_](?![^\W\d_])|[\s,.\-])+", said)
            letters = letters_of(said) if spelled else ""  # "O, K, O, N" -> "okon"
            ws = [letters] if letters in owners else [w for w in _words(said) if w in owners]
            values = {owners[w][1] for w in ws}
            if len(values) == 1:
                e = replace(e, value=values.pop())
        out.append(e)
    return keep.drop_protected(text, out, shapes=False)
