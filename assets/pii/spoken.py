"""Numbers as people say them and as tiny.en writes them down.

Shared by the pseudonymiser (a long number is an identifier however it is said) and the
transcription guards (a run of digits is not a repetition loop).
"""

from __future__ import annotations

import re

DIGIT_WORDS = {"zero": "0", "oh": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
               "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_NUM = r"(?:\+?\d(?:[\d./\-]*\d)?|zero|oh|nought|one|two|three|four|five|six|seven|eight|nine|double|triple|treble)"
_SEP = r"[\s,.\-]+"
# tiny.en often writes a spoken "oh" as "or"; inside a run of digits it is one.
NUMBER_RUN = re.compile(rf"(?i)\b{_NUM}(?:{_SEP}(?:or{_SEP})*{_NUM})*\b")


def spoken_to_digits(run: str) -> tuple[str, int]:
    """'oh seven seven double oh nine' -> ('077009', 6 tokens). Written digits pass through,
    so the spoken and written forms of one number give the same digits (and the same token)."""
    digits, repeat, tokens = [], 1, 0
    for tok in re.findall(rf"\b(?:{_NUM}|or)\b", run, flags=re.IGNORECASE):
        word = tok.lower()
        word = "oh" if word == "or" else word
        tokens += 1
        if word == "double":
            repeat = 2
        elif word in ("triple", "treble"):
            repeat = 3
        else:
            digits.append((DIGIT_WORDS.get(word) or re.sub(r"\D", "", word)) * repeat)
            repeat = 1
    return "".join(digits), tokens
