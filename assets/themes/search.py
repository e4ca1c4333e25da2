"""Phrase search over the canon: how many calls mention "pain relief", per day or ISO week.

Analysts get counts, never calls: the same small-count suppression as the marts applies, and a
phrase that names a pseudonym token is refused, because counting one person's calls over time is
a profile of an individual (ombudsman policy §7), not a trend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from assets.pii.pseudonymiser import TOKEN
from assets.policy import load_policy
from assets.settings import Settings

PERIODS = ("day", "week")


def suppress_below() -> int:
    """The threshold the marts (dbt is given the same number) and search apply: counts 1 to N-1
    are published as suppressed, as NHS statistics do. It is the policy profile's, never lower
    than NHS_SUPPRESS_BELOW, and no environment variable changes it."""
    return load_policy(Settings.from_env().policy).suppress_below


@dataclass(frozen=True)
class PhraseCount:
    period: date      # the day, or the Monday of the ISO week
    calls: int | None  # None: suppressed (1 to threshold-1 calls)
    suppressed: bool


def _pattern(phrase: str) -> str:
    words = phrase.lower().split()
    if not words:
        raise ValueError("give a word or phrase to search for")
    if TOKEN.search(phrase) or "<" in phrase:
        raise ValueError("searching for a pseudonym token would follow one person over time; "
                         "search for words people say about the service")
    # Whole words, any run of spaces or punctuation between them.
    return r"\b" + r"[\s,.;:!?'-]+".join(re.escape(w) for w in words) + r"\b"


def phrase_counts(conn, phrase: str, by: str = "day", threshold: int | None = None,
                  since: date | None = None) -> list[PhraseCount]:
    """Calls (not mentions) whose canon text contains the phrase, per period from the first call
    date in the canon (or `since`) to the last, zero periods included so a chart shows the gaps.

    Reads `canon.transcripts` alone, so it runs on the analytics copy as well as the warehouse:
    a call whose canon retention or a restriction removed has no canon row left to match.
    Six years of calls is tens of gigabytes of text to match, so interactive use gives `since`."""
    if by not in PERIODS:
        raise ValueError(f"by must be one of {', '.join(PERIODS)}")
    threshold = max(threshold or 0, suppress_below())  # a caller may suppress more, never less
    if since and by == "week":
        since -= timedelta(days=since.weekday())  # whole weeks: a part week would be undercounted
    bucket = "call_date" if by == "day" else "CAST(date_trunc('week', call_date) AS DATE)"
    step = "1 day" if by == "day" else "7 days"
    rows = conn.execute(
        f"""
        WITH canon AS (
            SELECT {bucket} AS period, regexp_matches(lower(text), ?) AS hit FROM canon.transcripts
            WHERE call_date >= ?),
        periods AS (
            SELECT CAST(unnest(generate_series(min(period), max(period), INTERVAL {step})) AS DATE) AS period
            FROM canon)
        SELECT p.period, count(c.period) FILTER (WHERE c.hit) AS calls
        FROM periods p LEFT JOIN canon c USING (period) GROUP BY p.period ORDER BY p.period
        """, [_pattern(phrase), since or date.min]).fetchall()
    return [PhraseCount(period, None if 0 < n < threshold else n, 0 < n < threshold) for period, n in rows]
