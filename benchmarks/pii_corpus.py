"""A labelled corpus of conversational call lines for the pseudonymisation benchmark.

Each line carries the identifiers planted in it, each with "probes": the fragments that must not
survive pseudonymisation (a surname, a digit run however said, a spelled letter run, a street name, a day and month of
birth — month and year alone are the canon's intended granularity). Lines
without identifiers carry the key phrases analysts need, which must survive untouched. Built
from templates so every entity type appears written and spoken, with a fixed seed.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from assets.synthetic.demo_calls import nhs_number

FIRST = ["Sarah", "David", "Emma", "James", "Mary", "Peter", "Helen", "John", "Aisha", "Tomasz", "Priya", "Gareth"]
LAST = ["Jones", "Smith", "Wilson", "Taylor", "Brown", "Walker", "Clarke", "Davies", "Okafor", "Nowak", "Patel", "Hughes"]
STREETS = ["Park Road", "Church Street", "Station Road", "Victoria Avenue", "Mill Lane", "Kings Drive"]
DOMAINS = ["gmail.com", "hotmail.co.uk", "outlook.com", "btinternet.com"]
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TOWNS = ["Leeds", "Bradford", "Wakefield", "Sheffield", "Stockport", "Wigan", "Coventry", "Norwich",
         "Swindon", "Crawley", "Cardiff", "Croydon"]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
KEY_PHRASES = ["pain relief", "discharge letter", "waiting list", "A&E", "maternity unit", "oncology ward",
               "repeat prescription", "the receptionist", "out of hours", "care plan", "the GP surgery",
               "the emergency department", "Leeds General Infirmary", "Sheffield Teaching Hospitals",
               "the Royal Free Hospital"]


@dataclass
class Planted:
    type: str
    probes: list[str]  # fragments that must not appear in the output (case-insensitive)
    spoken: bool


@dataclass
class Line:
    text: str
    planted: list[Planted] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)  # must survive
    style: str = "template"


def say_digits(digits: str, rng: random.Random) -> str:
    words, i = [], 0
    while i < len(digits):
        d = digits[i]
        run = 1
        while i + run < len(digits) and digits[i + run] == d and run < 3:
            run += 1
        word = "oh" if d == "0" and rng.random() < 0.6 else DIGIT_WORDS[int(d)]
        if run >= 2 and rng.random() < 0.7:
            words.append(("double " if run == 2 else "treble ") + word)
            i += run
        else:
            words.append(word)
            i += 1
    return " ".join(words)


def _pair_words(two: str) -> str:
    """Two digits as people say them: thirty four, oh seven, fifteen."""
    teens = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
             "nineteen"]
    n = int(two)
    if two[0] == "0":
        return "oh " + DIGIT_WORDS[n]
    if n < 20:
        return teens[n - 10]
    return TENS[n // 10 - 2] + ("" if n % 10 == 0 else " " + DIGIT_WORDS[n % 10])


def build(seed: int = 5, per_template: int = 16) -> list[Line]:
    rng = random.Random(seed)
    lines: list[Line] = []

    def person():
        return rng.choice(FIRST), rng.choice(LAST)

    for _ in range(per_template):
        f, l = person()
        lines.append(Line(f"Hello, my name is {f} {l} and I'm calling about my mum.", [Planted("PERSON", [f, l], False)]))
        f, l = person()
        lines.append(Line(f"yeah it's {f.lower()} {l.lower()} speaking", [Planted("PERSON", [f, l], True)]))
        f, l = person()
        lines.append(Line(f"The surname is {l}, that's {' '.join(l.upper())}.",
                          [Planted("PERSON", [l, " ".join(l.upper())], True)]))
        _, l = person()
        title = rng.choice(["Dr", "Doctor", "Nurse", "Sister"])
        lines.append(Line(f"I saw {title} {l} on the ward and she said it was fine.", [Planted("PERSON", [l], False)]))
        nhs = nhs_number(rng)
        lines.append(Line(f"My NHS number is {nhs[:3]} {nhs[3:6]} {nhs[6:]}.", [Planted("UK_NHS", [nhs[-6:]], False)]))
        nhs = nhs_number(rng)
        lines.append(Line(f"the NHS number is {say_digits(nhs, rng)}", [Planted("UK_NHS", [nhs[-6:]], True)]))
        phone = f"07700900{rng.randint(100, 999)}"
        lines.append(Line(f"You can reach me on {phone[:5]} {phone[5:]} after six.", [Planted("PHONE_NUMBER", [phone[-6:]], False)]))
        phone = f"07700900{rng.randint(100, 999)}"
        lines.append(Line(f"my mobile is {say_digits(phone, rng)} thanks", [Planted("PHONE_NUMBER", [phone[-6:]], True)]))
        phone = f"7700900{rng.randint(100, 999)}"
        lines.append(Line(f"Call +44 {phone[:4]} {phone[4:]} any time.", [Planted("PHONE_NUMBER", [phone[-6:]], False)]))
        pc = rng.choice(["LS6 2AB", "M14 5RT", "B15 2TH", "NE4 7PQ", "CF10 3AT"])
        lines.append(Line(f"I live at {pc} near the park.", [Planted("UK_POSTCODE", [pc, pc.replace(" ", "")], False)]))
        spoken_pc = " ".join(DIGIT_WORDS[int(c)] if c.isdigit() else c for c in pc.replace(" ", ""))
        said = spoken_pc.split()
        lines.append(Line(f"postcode is {spoken_pc}",
                          [Planted("UK_POSTCODE", [" ".join(said[:-3]), " ".join(said[-3:])], True)]))
        num = rng.randint(2, 98)
        street = rng.choice(STREETS)
        lines.append(Line(f"We're at {num} {street} in the old part of town.", [Planted("ADDRESS", [street], False)]))
        f, l = person()
        dom = rng.choice(DOMAINS)
        lines.append(Line(f"Email me at {f.lower()}.{l.lower()}@{dom} please.", [Planted("EMAIL_ADDRESS", [f"{f.lower()}.{l.lower()}@"], False)]))
        f, l = person()
        spoken_dom = dom.replace(".", " dot ")
        lines.append(Line(f"it's {f.lower()} dot {l.lower()} at {spoken_dom}",
                          [Planted("EMAIL_ADDRESS", [f"{f.lower()} dot {l.lower()}"], True)]))
        d, m, y = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1935, 2005)
        lines.append(Line(f"Date of birth {d:02d}/{m:02d}/{y}.", [Planted("DATE_OF_BIRTH", [f"{d:02d}/{m:02d}"], False)]))
        lines.append(Line(f"I was born on the {d} of {MONTHS[m - 1]} {y}.",
                          [Planted("DATE_OF_BIRTH", [f"{d} of {MONTHS[m - 1]}"], True)]))
        nino = f"{rng.choice('ABCEGHJKLMNPRSTWXYZ')}{rng.choice('ABCEGHJKLMNPRSTWXYZ')}{rng.randint(100000, 999999)}{rng.choice('ABCD')}"
        lines.append(Line(f"National Insurance {nino[:2]} {nino[2:4]} {nino[4:6]} {nino[6:8]} {nino[8]}.",
                          [Planted("UK_NINO", [f"{nino[2:4]} {nino[4:6]} {nino[6:8]}", nino[:2] + " " + nino[2:4]], False)]))
        ref = f"C-{rng.randint(100000, 999999)}"
        lines.append(Line(f"The complaint reference is {ref}.", [Planted("COMPLAINT_REF", [ref[2:]], False)]))
        a, b, digits = rng.choice("ABCEGHJKLMNPRSTWXYZ"), rng.choice("ABCEGHJKLMNPRSTWXYZ"), f"{rng.randint(100000, 999999)}"
        said = (say_digits(digits, rng) if rng.random() < 0.5
                else " ".join(_pair_words(digits[i:i + 2]) for i in range(0, 6, 2)))
        lines.append(Line(f"my national insurance number is {a} {b} {said} {rng.choice('ABCD')}",
                          [Planted("UK_NINO", [digits, f"{a} {b}"], True)]))
        ref = f"{rng.randint(100000, 999999)}"
        lines.append(Line(f"the reference is C {say_digits(ref, rng)}", [Planted("COMPLAINT_REF", [ref], True)]))
        age = rng.randint(21, 99)
        lines.append(Line(f"She is {age} years old and lives alone.", [Planted("AGE", [str(age)], False)]))
        age = rng.randint(21, 99)
        lines.append(Line(f"yeah he's {_pair_words(str(age))} now", [Planted("AGE", [_pair_words(str(age))], True)]))
        town = rng.choice(TOWNS)
        lines.append(Line(f"I moved here from {town} last year.", [Planted("PLACE", [town], False)]))
        town = rng.choice(TOWNS)
        lines.append(Line(f"we live in {town.lower()} now", [Planted("PLACE", [town], True)]))
        phrase_a, phrase_b = rng.sample(KEY_PHRASES, 2)
        lines.append(Line(f"I waited four hours in {phrase_a} and then for {phrase_b}.", [], [phrase_a, phrase_b]))
        phrase_a, phrase_b = rng.sample(KEY_PHRASES, 2)
        lines.append(Line(f"Nobody explained {phrase_a}, and {phrase_b} was never mentioned.", [], [phrase_a, phrase_b]))
    return lines


def build_heldout(seed: int = 13, per_template: int = 6) -> list[Line]:
    """Phrasings written after the recognisers were (so not fitted to them): other cues, other
    spellings, words for numbers the rules were not shown. Reported apart from `build`'s lines."""
    rng = random.Random(seed)
    lines: list[Line] = []
    ordinals = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
                "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
                "eighteenth", "nineteenth", "twentieth"]
    for _ in range(per_template):
        f, l = rng.choice(FIRST), rng.choice(LAST)
        lines.append(Line(f"hi there my name's {f.lower()} {l.lower()}", [Planted("PERSON", [f, l], True)]))
        f, l = rng.choice(FIRST), rng.choice(LAST)
        lines.append(Line(f"It's {l}, spelled {'-'.join(l.upper())}, like it sounds.",
                          [Planted("PERSON", [l, "-".join(l.upper())], True)]))
        f, l = rng.choice(FIRST), rng.choice(LAST)
        lines.append(Line(f"I'm ringing on behalf of {f} {l}, my father.", [Planted("PERSON", [f, l], False)]))
        f, l = rng.choice(FIRST), rng.choice(LAST)
        dom = rng.choice(DOMAINS).replace(".", " dot ")
        lines.append(Line(f"my email is {f.lower()} underscore {l.lower()} at {dom}",
                          [Planted("EMAIL_ADDRESS", [f"{f.lower()} underscore {l.lower()}"], True)]))
        pc = rng.choice(["LS6 2AB", "M14 5RT", "NE4 7PQ"])
        said = " ".join(DIGIT_WORDS[int(c)] if c.isdigit() else c.lower() for c in pc.replace(" ", ""))
        lines.append(Line(f"and the post code, {said}", [Planted("UK_POSTCODE", [said], True)]))
        d, m, y = rng.randint(1, 20), rng.randint(1, 12), rng.randint(1940, 1999)
        lines.append(Line(f"date of birth is the {ordinals[d - 1]} of {MONTHS[m - 1]} {y}",
                          [Planted("DATE_OF_BIRTH", [f"{ordinals[d - 1]} of {MONTHS[m - 1]}"], True)]))
        lines.append(Line(f"DOB {d}.{m}.{y}", [Planted("DATE_OF_BIRTH", [f"{d}.{m}.{y}"], False)]))
        phone = f"07700900{rng.randint(100, 999)}"
        lines.append(Line(f"ring me back on {phone[:5]}-{phone[5:8]}-{phone[8:]}", [Planted("PHONE_NUMBER", [phone[-6:]], False)]))
        num, street = rng.randint(2, 98), rng.choice(STREETS)
        lines.append(Line(f"she lives at number {num}, {street.lower()}", [Planted("ADDRESS", [street.lower()], True)]))
        phrase_a, phrase_b = rng.sample(KEY_PHRASES, 2)
        lines.append(Line(f"they said {phrase_a} would call about {phrase_b}", [], [phrase_a, phrase_b]))
    return lines


def build_unseen(seed: int = 29, per_template: int = 5) -> list[Line]:
    """Written on 2026-11-24 before the recognisers for NI numbers said aloud, ages in words and
    places were, and first scored once those were in: 8.0 % leaked (6 of 75), five postcodes
    said "B fifteen two T H" and one lower-case name with no cue. Number words in codes were
    then added (1.3 %), so this set too is no longer unseen; the README says both."""
    rng = random.Random(seed)
    lines: list[Line] = []
    for _ in range(per_template):
        f, l = rng.choice(FIRST), rng.choice(LAST)
        lines.append(Line(f"Could you note my husband's name, it's {f} {l}.", [Planted("PERSON", [f, l], False)]))
        f, l = rng.choice(FIRST), rng.choice(LAST)
        lines.append(Line(f"the patient was {f.lower()} {l.lower()} and she was on the ward for a week",
                          [Planted("PERSON", [f, l], True)]))
        l = rng.choice(LAST)
        lines.append(Line(f"you spell that {' '.join(l.upper())} yeah", [Planted("PERSON", [" ".join(l.upper())], True)]))
        nhs = nhs_number(rng)
        said = [say_digits(nhs[:3], rng), say_digits(nhs[3:6], rng), say_digits(nhs[6:], rng)]
        lines.append(Line(f"N H S number {said[0]}, {said[1]}, {said[2]}", [Planted("UK_NHS", [nhs[-6:]], True)]))
        land = f"0113{rng.randint(2000000, 4999999)}"
        lines.append(Line(f"home number {say_digits(land[:4], rng)}, {say_digits(land[4:7], rng)}, {say_digits(land[7:], rng)}",
                          [Planted("PHONE_NUMBER", [land[-6:]], True)]))
        mob = f"7700900{rng.randint(100, 999)}"
        lines.append(Line(f"Mobile +44 (0){mob[:4]} {mob[4:]}.", [Planted("PHONE_NUMBER", [mob[-6:]], False)]))
        lines.append(Line("it's B fifteen two T H for the postcode", [Planted("UK_POSTCODE", ["fifteen two T H", "2 T H"], True)]))
        num, street = rng.randint(2, 98), rng.choice(STREETS)
        lines.append(Line(f"I'm at flat 3, {num} {street}.", [Planted("ADDRESS", [street], False)]))
        f, l, n = rng.choice(FIRST).lower(), rng.choice(LAST).lower(), rng.randint(10, 99)
        lines.append(Line(f"email address is {f}{l}{n} at yahoo dot co dot uk",
                          [Planted("EMAIL_ADDRESS", [f"{f}{l}{n}"], True)]))
        d, m = rng.randint(1, 28), rng.randint(1, 12)
        lines.append(Line(f"she was born on {MONTHS[m - 1]} {d}, 1948", [Planted("DATE_OF_BIRTH", [f"{MONTHS[m - 1]} {d}"], False)]))
        a, b = rng.choice("ABCEGHJKLMNPRSTWXYZ"), rng.choice("ABCEGHJKLMNPRSTWXYZ")
        digits = f"{rng.randint(100000, 999999)}"
        lines.append(Line(f"national insurance is {a} {b} {say_digits(digits, rng)} {rng.choice('ABCD')}",
                          [Planted("UK_NINO", [f"{a} {b}", digits], True)]))
        ref = rng.randint(100000, 999999)
        lines.append(Line(f"my case number is C {say_digits(str(ref), rng)}", [Planted("COMPLAINT_REF", [str(ref)], True)]))
        age = rng.randint(21, 99)
        words = TENS[age // 10 - 2] + ("" if age % 10 == 0 else " " + DIGIT_WORDS[age % 10])
        lines.append(Line(f"my dad is {words} years old and very frail", [Planted("AGE", [words], True)]))
        town = rng.choice(TOWNS)
        lines.append(Line(f"we had to drive all the way to {town} for the scan", [Planted("PLACE", [town], False)]))
        lines.append(Line(f"we're in {town.lower()} so it's a long way", [Planted("PLACE", [town], True)]))
        phrase_a, phrase_b = rng.sample(KEY_PHRASES, 2)
        lines.append(Line(f"I rang {phrase_a} twice about {phrase_b}", [], [phrase_a, phrase_b]))
    return lines


FRESH = Path(__file__).parent / "data" / "pii_fresh.jsonl"


def build_fresh() -> list[Line]:
    """The independent held-out set (issue 18): 400+ call lines written by hand by someone who
    had not seen the recognisers, before the rules they test were changed — lower-case ASR-style
    run-on turns, Whisper-style text, verbatim transcripts and call-handler notes, with third
    parties, spelled names, addresses and ages as said. Each line keeps its style in `style`."""
    lines = []
    for raw in FRESH.read_text().splitlines():
        row = json.loads(raw)
        lines.append(Line(row["text"], [Planted(p["type"], p["probes"], p["spoken"]) for p in row["planted"]],
                          row.get("phrases", []), row["style"]))
    return lines
