"""The canon stage: pseudonymised transcripts, minus whatever a request or retention keeps out."""

from __future__ import annotations

import re

from assets import warehouse
from assets.pii.pseudonymiser import TOKEN, Pseudonymiser
from assets.sealed_text import TRANSCRIPT, TextSeal, segment_place, word_place
from assets.themes.statements import UNSURE
from assets.warehouse import marts_queue

# A word the recogniser gave less than this probability is masked in what the theme stage
# reads: a misheard word ("salmon" for "some"), chosen by the recogniser and so confident-
# sounding in text, must not name a theme. On 8 kHz calls tiny.en gives a fifth of correctly
# heard words under 0.5 and its mishearings mostly under 0.2 (measured, docs/themes.md).
UNSURE_BELOW = 0.25


def segment_spans(text: str, segments: list[tuple[str, str]]) -> list[tuple[int, int]] | None:
    """Where each segment lies in the transcript text (the segments joined by spaces), or None
    when the segments do not make up the text."""
    if not segments or " ".join(t for _, t in segments) != text:
        return None
    spans, pos = [], 0
    for _, seg_text in segments:
        spans.append((pos, pos + len(seg_text)))
        pos += len(seg_text) + 1
    return spans


def caller_spans(text: str, segments: list[tuple[str, str]]) -> list[tuple[int, int]] | None:
    """Where the caller's turns lie in the transcript text, or None when the speakers are
    unknown or the segments do not make up the text."""
    spans = segment_spans(text, segments)
    found = [s for s, (speaker, _) in zip(spans or [], segments) if speaker == "caller"]
    return found or None


def unsure_spans(text: str, seg_spans: list[tuple[int, int]], words: dict[int, list[tuple[str, float]]],
                 order: list[int]) -> list[tuple[int, int]]:
    """Where the words the recogniser was unsure of lie in the text: each segment's words are
    found in its text in order (a word not found is skipped)."""
    out = []
    for (a, b), seg_idx in zip(seg_spans, order):
        pos = a
        for word, probability in words.get(seg_idx, []):
            w = word.strip()
            found = re.compile(rf"(?<!\w){re.escape(w)}(?!\w)").search(text, pos, b) if w else None
            if not found:
                continue
            at, pos = found.start(), found.end()
            if probability is not None and probability < UNSURE_BELOW and any(c.isalpha() for c in w):
                out.append((at, pos))
    return out


def theme_statements(pseudonymiser: Pseudonymiser, text: str, entities, segments, words, on) -> list[str]:
    """What the theme stage reads: each caller turn (each segment when speakers are unknown;
    the whole text when segments are missing), pseudonymised from the whole call's entities,
    unsure words masked. Masking only removes words, so nothing found identifying comes back."""
    seg_spans = segment_spans(text, [(sp, t) for _, sp, t in segments])
    if seg_spans is None:
        return pseudonymiser.redact_each(text, entities, [(0, len(text))], on)
    unsure = [(a, b) for a, b in unsure_spans(text, seg_spans, words, [i for i, _, _ in segments])
              if not any(e.start < b and e.end > a for e in entities)]
    masked = list(text)
    for a, b in unsure:
        masked[a:b] = "\x00" * (b - a)
    # The caller's turns; every segment where none is the caller's (speakers unknown, or one
    # voice heard), and the theme stage strips what it can of the staff's script.
    callers = [s for s, (_, sp, _) in zip(seg_spans, segments) if sp == "caller"]
    parts = pseudonymiser.redact_each("".join(masked), entities, callers or seg_spans, on)
    return [re.sub("\x00+", UNSURE, p) for p in parts]


def pseudonymise_date(conn, call_date, pseudonymiser: Pseudonymiser, seal: TextSeal,
                      names_found: dict[str, set[str]] | None = None, held: set[str] = frozenset()) -> tuple[int, int]:
    """Write the canon rows for one call date, leaving out restricted calls and those consent
    holds (`held`, from `consent.record_date`), and removing whatever canon and theme rows they
    already had. Casework text is opened from its seal (`seal`, the audio key's) in memory only.
    Returns (calls written, calls withheld). `names_found`, when
    given, receives each call's names, streets and places as its detectors found them: in memory
    only, for the leak scan to look for anywhere in the row (`leak_scan.record_date`).

    Every call's tokens go to `casework.call_pseudonyms`, withheld calls' too, so that a later
    request about a person finds all their calls. Calls whose canon retention already removed
    are not put back."""
    rows = conn.execute(
        f"""SELECT t.call_id, t.call_date, c.direction, c.team, c.service_area, t.text,
                  c.complaint_id, c.external_number
           FROM casework.transcripts t JOIN casework.calls c USING (call_id)
           WHERE t.call_date = ? AND t.call_id NOT IN ({warehouse.retired_sql('canon')})
           ORDER BY t.call_id""",
        [call_date],
    ).fetchall()
    rows = [(*r[:5], seal.open(r[5], r[0], TRANSCRIPT), *r[6:]) for r in rows]
    restricted = {(k, r) for k, r in conn.execute("SELECT kind, ref FROM governance.restrictions").fetchall()}
    people = {r for k, r in restricted if k == "person"}
    out, tokens, withheld = [], [], 0
    redactions = pseudonymiser.redact_many([r[5] for r in rows], on=[r[1] for r in rows]) if rows else []
    segments: dict[str, list[tuple[int, str, str]]] = {}
    for call_id, seg_idx, speaker, seg_text in conn.execute(
            "SELECT call_id, seg_idx, speaker, text FROM casework.segments WHERE call_date = ? "
            "ORDER BY call_id, seg_idx", [call_date]).fetchall():
        seg_text = seal.open(seg_text, call_id, segment_place(seg_idx))
        segments.setdefault(call_id, []).append((seg_idx, speaker, seg_text))
    words: dict[str, dict[int, list[tuple[str, float]]]] = {}
    for call_id, seg_idx, word_idx, word, probability in conn.execute(
            "SELECT call_id, seg_idx, word_idx, word, probability FROM casework.words WHERE call_id IN "
            "(SELECT call_id FROM casework.segments WHERE call_date = ?) ORDER BY call_id, seg_idx, word_idx",
            [call_date]).fetchall():
        word = seal.open(word, call_id, word_place(seg_idx, word_idx))
        words.setdefault(call_id, {}).setdefault(seg_idx, []).append((word, probability))
    for (call_id, d, direction, team, area, text, complaint, number), red in zip(rows, redactions):
        if names_found is not None:
            names_found[call_id] = {e.value or text[e.start:e.end] for e in red.entities
                                    if e.type in ("PERSON", "LOCATION")}
        found = set(TOKEN.findall(red.text))
        number_token = pseudonymiser.token("PHONE_NUMBER", number) if number else None
        if number_token:
            found.add(number_token)
        tokens.extend(dict(call_id=call_id, token=t) for t in sorted(found))
        if (call_id in held or ("call", call_id) in restricted or ("complaint", complaint) in restricted
                or ("number", number_token) in restricted
                or any(p in red.text for p in people)):
            withheld += 1
            continue
        segs = segments.get(call_id, [])
        spans = caller_spans(text, [(sp, t) for _, sp, t in segs])
        caller = pseudonymiser.redact_spans(text, red.entities, spans, d) if spans else None
        out.append(dict(call_id=call_id, call_date=d, direction=direction, team=team, service_area=area,
                        text=red.text, entities_replaced=len(red.entities), pseudonymised_at=warehouse.utcnow(),
                        caller_text=caller, statements=theme_statements(
                            pseudonymiser, text, red.entities, segs, words.get(call_id, {}), d)))
    ids = [r[0] for r in rows]
    kept_out = sorted(set(ids) - {r["call_id"] for r in out})
    with warehouse.transaction(conn):
        marts_queue.mark_calls(conn, ids)  # dates the rows had (a re-run may move a call)
        for table in ("canon.leak_scan", "themes.call_themes", "themes.candidates"):
            conn.execute(f"DELETE FROM {table} WHERE call_id IN (SELECT unnest(?))", [kept_out])
        warehouse.replace_rows(conn, "canon.transcripts", "call_id", ids, out, atomic=False)
        marts_queue.mark_days(conn, [r["call_date"] for r in out])
        warehouse.replace_rows(conn, "casework.call_pseudonyms", "call_id", ids, tokens, atomic=False)
    return len(out), withheld


def identifiers_replaced(conn, call_date) -> int:
    return int(conn.execute("SELECT coalesce(sum(entities_replaced), 0) FROM canon.transcripts WHERE call_date = ?",
                            [call_date]).fetchone()[0])
