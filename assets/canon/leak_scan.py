"""An independent second look at the canon, stricter than the pseudonymiser that wrote it.

It shares no detector with `assets.pii` beyond the spoken-number parser: plain patterns with
lower bars (five digits, not six), and the identifiers the casework store already knows about
each call (its external number, its complaint reference), which must never appear in that
call's canon row in any form, and every name, street and place the call's detectors found
anywhere in it (a name tokenised in one turn and left in clear in another is a leak). A
finding blocks themes and marts; findings hold counts and types only, never the text found.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from assets import warehouse
from assets.pii.pseudonymiser import TOKEN
from assets.pii.spoken import NUMBER_RUN, spoken_to_digits

PATTERNS = {
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    "postcode": re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"),
    "ni_number": re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b"),
    "introduced_name": re.compile(
        r"\b(?:[Mm]y name is|[Mm]y name's|[Tt]his is|I am|I'm)\s+[A-Z][a-z]+\s+[A-Z][a-z]+\b"),
}
MIN_DIGITS = 5


@dataclass
class Finding:
    call_id: str
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(self.kinds.values())


def scan_text(text: str, known_numbers: list[str] = ()) -> dict[str, int]:
    """Counts by kind of anything identifying left in a pseudonymised text."""
    plain = TOKEN.sub(" ", text)
    kinds: dict[str, int] = {}
    runs = [spoken_to_digits(m.group())[0] for m in NUMBER_RUN.finditer(plain)]
    if n := sum(len(d) >= MIN_DIGITS for d in runs):
        kinds["long_number"] = n
    all_digits = "".join(runs)
    for known in known_numbers:
        digits = re.sub(r"\D", "", known or "")
        # Any six consecutive digits of a number the call is known to involve.
        if len(digits) >= 6 and any(digits[i:i + 6] in all_digits for i in range(len(digits) - 5)):
            kinds["known_number"] = kinds.get("known_number", 0) + 1
    for kind, pattern in PATTERNS.items():
        if n := len(pattern.findall(plain)):
            kinds[kind] = n
    return kinds


def names_left(text: str, names: set[str]) -> int:
    """How many words of the detected `names` remain, whole and in any case, outside tokens,
    outside what analysts keep ("Leeds General Infirmary", "St Mary's Hospital") and other than a
    region's name (a place kept as its region: "London"). Only words of three letters or more that
    are not words analysts need (`mentions`' rule)."""
    from assets.pii import keep, mentions, places

    plain = TOKEN.sub(" ", text)
    for a, b in sorted(keep.protected(plain), reverse=True):
        plain = plain[:a] + " " + plain[b:]
    regions = {w.lower() for region in set(places.regions().values()) for w in region.split()}
    words = {w for n in names for w in mentions.significant_words(n)} - regions
    return sum(1 for w in words if re.search(rf"(?i)(?<!\w){re.escape(w)}(?!\w)", plain))


def scan_date(conn, call_date, names: dict[str, set[str]] | None = None) -> list[Finding]:
    rows = conn.execute(
        # Every column analysts' tools and the theme stage read; the caller's turns and the
        # statements are cut from the same redacted text, and scanned in their own right all the same.
        """SELECT k.call_id, k.text || coalesce(' ' || k.caller_text, '')
                  || coalesce(' ' || array_to_string(k.statements, ' '), ''), c.external_number, c.complaint_id
           FROM canon.transcripts k JOIN casework.calls c USING (call_id)
           WHERE k.call_date = ? ORDER BY k.call_id""",
        [call_date],
    ).fetchall()
    findings = []
    for call_id, text, number, complaint in rows:
        known = [number] + ([complaint] if complaint else [])
        kinds = scan_text(text, known)
        if complaint and complaint.lower() in text.lower():
            kinds["complaint_ref"] = 1
        if names and (n := names_left(text, names.get(call_id, set()))):
            kinds["detected_name"] = n
        findings.append(Finding(call_id, kinds))
    return findings


def record_date(conn, call_date, names: dict[str, set[str]] | None = None) -> list[Finding]:
    """Scan a call date's canon and keep the result (counts by kind, never text) in
    `canon.leak_scan`, replacing that date's earlier scan. `names`: per call, what its detectors
    found (from `pseudonymise_date`, in memory only)."""
    findings = scan_date(conn, call_date, names)
    warehouse.replace_rows(conn, "canon.leak_scan", "call_date", [call_date],
                           [dict(call_id=f.call_id, call_date=call_date, findings=f.count, kinds=json.dumps(f.kinds),
                                 scanned_at=warehouse.utcnow()) for f in findings])
    return findings


def findings_summary(conn) -> tuple[int, dict[str, int]]:
    """(calls with any finding, findings by kind) over the whole canon: what the blocking check reports."""
    kinds: dict[str, int] = {}
    rows = conn.execute("SELECT kinds FROM canon.leak_scan WHERE findings > 0").fetchall()
    for (k,) in rows:
        for kind, n in json.loads(k).items():
            kinds[kind] = kinds.get(kind, 0) + n
    return len(rows), kinds
