"""What a caller said, one statement at a time, with nothing left that says where or who.

A call mentions several things, so themes are found over statements (the caller's sentences
where speakers are known, every sentence otherwise), not whole calls. Callers name the
department in nearly every call ("I want to complain about A and E"); left in, that is what an
embedding model groups by, and a theme that splits by department says nothing about what went
wrong. So department, service, hospital and staff-specialty words, pseudonym tokens and words
the recogniser was unsure of (masked in the canon) are taken out, and a sentence left with
fewer than two words of its own (a greeting, "can I have your NHS number", "I'm calling about
casualty") is not a statement at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assets.pii.pseudonymiser import TOKEN

# What the canon puts where the recogniser was unsure of a word (`assets.canon.pseudonymise`).
UNSURE = "[?]"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

# Where, not what: departments, services and specialties as callers name them. Matched as whole
# words in any case; multi-word phrases first.
_PLACES = (
    r"accident and emergency|a and e|a&e|emergency department|emergency room|casualty|urgent care|"
    r"walk[- ]in cent(?:re|er)|minor injuries|maternity|labou?r ward|delivery suite|birth(?:ing)? cent(?:re|er)|"
    r"antenatal|ante-natal|postnatal|post-natal|neonatal|oncology|oncologists?|"
    r"chemo(?:therapy)? (?:unit|ward|suite|day unit)|"
    r"cancer (?:unit|ward|centre|center|services?|team|clinic|day unit)|radiotherapy|haematology|"
    r"gp surgery|gp practice|gp|gps|general practice|(?:the|local|doctor'?s'?) surgery|"
    r"health cent(?:re|er)|medical cent(?:re|er)|"
    r"elderly care|care of the elderly|geriatrics?|older people'?s|frailty|"
    r"orthopaedics?|orthopedics?|orthopaedic|fracture clinic|trauma and orthopaedics|"
    r"cardiology|cardiologists?|cardiac|heart unit|coronary care|"
    r"mental health|psychiatric|psychiatry|psychiatrists?|crisis team|"
    r"paediatrics?|pediatrics?|children'?s ward|intensive care|icu|itu|high dependency|"
    r"outpatients?|out-patients?|inpatients?|day surgery|"
    r"midwi(?:fe|ves|fery)|"
    r"hospital|ward|unit|department|clinic|practice|centre|center|trust|pals|team"
)
_PLACE = re.compile(rf"(?i)\b(?:{_PLACES})\b")

# How a caller opens ("I'm phoning to make a complaint about", "it's regarding"): why they are
# on the phone, not what went wrong, and close in meaning to a theme about complaints.
_OPENING = re.compile(
    r"(?i)\b(?:i'?m|i am|i was|we'?re|we are)?\s*(?:just\s+)?(?:calling|phoning|ringing|ring|call|phone)\b"
    r"(?:\s+(?:up|you|today|back))*(?:\s+(?:because of|about|regarding|concerning|on behalf of|in relation to"
    r"|to (?:make|raise|log|lodge|put in) an? (?:formal )?(?:complaint|concern)(?: about| regarding)?"
    r"|to complain(?: about)?))?"
    r"|\bi(?:'d| would| want| wanted| need| wish)(?: like)?(?: to)? (?:make|raise|log|lodge|file|put in|complain)\b"
    r"(?: an?)?(?: formal)?(?: official)?(?: complaint| concern)?(?: about| regarding| concerning)?\b"
    r"|\b(?:it'?s|it is|this is)\s+(?:about|regarding|concerning|in relation to)\b"
    r"|\bon behalf of\b"
    # "I'm a carer for my neighbour", "I'm his full-time carer": who is calling, not what went wrong.
    r"|\b(?:i'?m|i am)\s+(?:a|the|his|her|their|[a-z]+'s)\s+(?:[a-z-]+\s+)?carer(?:\s+for)?\b"
    # "... about the way I was treated (at the ward)." ending the sentence: that there is a
    # complaint, not what it is. "The way I was treated was disgusting" goes on, and stays.
    r"|\b(?:about |out )?(?:the )?way (?:i|he|she|we|they|my (?!complaint|concerns?)\w+) "
    r"(?:was|were|has been|have been|had been) (?:treated|looked after)"
    r"(?=(?:\s+(?:in|at|on|by|under|from)\b(?:\s+[^\s.!?]+){0,3})?\s*[.!?]?\s*$)"
    # The line's own script, when the staff's turns cannot be told apart.
    r"|\bcomplaints? (?:line|service)\b|\bhow (?:can|may) i help(?: you)?\b|\b(?:can|could) i speak to\b")

# The call's own furniture (greetings, saying you are calling or complaining, your name and
# number) and who the call is about: neither says what went wrong.
CALL_WORDS = frozenset("""
    hello hi good morning afternoon evening thank thanks yes yeah sorry hear goodbye bye okay ok
    number phone nhs postcode post code line recorded
    call calling ring ringing phoning caseworker pass today tell like just said told
    know name want wanted wanting wish make making ahead please right really actually basically um
    uh er sure fine great lovely bit thing things got get getting going went happened happen
    happens regarding concerning behalf raise concern experience start
    mum mom mother dad father husband wife son daughter partner brother sister grandmother
    grandfather grandma granddad nan nanny nephew niece aunt uncle baby child children family
    friend relative neighbour neighbor
    i'm i've i'd i'll you're you've you'd we're we've they're it's that's there's what's don't
    didn't doesn't can't couldn't won't wouldn't wasn't weren't isn't hasn't haven't
""".split())


# A sentence needs this many words of its own to be a statement ("the receptionist was rude"
# has two; "I'm not happy" none).
MIN_WORDS = 2


@dataclass(frozen=True)
class Statement:
    """One sentence a caller said: its place in the call, the words an embedding reads, and the
    words a label may use (confident, letters only, not furniture)."""
    index: int
    text: str
    words: tuple[str, ...]


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | CALL_WORDS


def clean(sentence: str) -> str:
    """The sentence without pseudonym tokens, unsure words, or department and service names."""
    from assets.pii import keep

    text = TOKEN.sub(" ", sentence).replace(UNSURE, " ")
    for a, b in reversed(keep.hospitals_in(text)):
        text = text[:a] + " " + text[b:]
    text = _OPENING.sub(" ", _PLACE.sub(" ", text))
    return re.sub(r"\s+", " ", text).strip(" ,;:-")


def content_words(text: str) -> tuple[str, ...]:
    stop = _stop_words()
    return tuple(w for w in re.findall(r"[a-z][a-z']+", text.lower()) if w.strip("'") not in stop
                 and len(w) > 2 and not w.endswith("'s") and w not in stop)


def statements(parts: list[str], min_words: int = MIN_WORDS) -> list[Statement]:
    """The statements in a call's caller turns (or its segments, when speakers are unknown):
    each sentence with at least `min_words` words of its own once the furniture is gone."""
    out: list[Statement] = []
    n = 0
    for part in parts:
        for sentence in _SENTENCE_END.split(part.strip()):
            text = clean(sentence)
            words = content_words(text)
            if len(words) >= min_words:
                out.append(Statement(n, text, words))
            n += 1
    return out
