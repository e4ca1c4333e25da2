"""Numbers as people say them and as tiny.en writes them down.

Shared by the pseudonymiser (a long number is an identifier however it is said) and the
transcription guards (a run of digits is not a repetition loop).
"""

from __future__ import annotations

import re

DIGIT_WORDS = {"zero": "0", "oh": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
               "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
# "double four" is 44: the one list of words that repeat the next digit or piece.
REPEAT_WORDS = {"double": 2, "treble": 3, "triple": 3}
_NUM = r"(?:\+?\d(?:[\d./\-]*\d)?|" + "|".join([*DIGIT_WORDS, *REPEAT_WORDS]) + ")"
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
        if word in REPEAT_WORDS:
            repeat = REPEAT_WORDS[word]
        else:
            digits.append((DIGIT_WORDS.get(word) or re.sub(r"\D", "", word)) * repeat)
            repeat = 1
    return "".join(digits), tokens


def nhs_check_digit(first_nine: str) -> int | None:
    """The NHS number's modulus-11 check digit for its first nine digits; None where no valid
    number has them (the check would be 10)."""
    check = 11 - sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1))) % 11
    return 0 if check == 11 else None if check == 10 else check


def nhs_checksum_ok(digits: str) -> bool:
    return len(digits) == 10 and nhs_check_digit(digits[:9]) == int(digits[9])
