"""The canon stage: pseudonymised transcripts, minus whatever a request or retention keeps out."""

from __future__ import annotations

from assets import warehouse
from assets.pii.pseudonymiser import TOKEN, Pseudonymiser


def caller_spans(text: str, segments: list[tuple[str, str]]) -> list[tuple[int, int]] | None:
    """Where the caller's turns lie in the transcript text (the segments joined by spaces), or
    None when the speakers are unknown or the segments do not make up the text."""
    if " ".join(t for _, t in segments) != text:
        return None
    spans, pos = [], 0
    for speaker, seg_text in segments:
        if speaker == "caller":
            spans.append((pos, pos + len(seg_text)))
        pos += len(seg_text) + 1
    return spans or None


def pseudonymise_date(conn, call_date, pseudonymiser: Pseudonymiser,
                      names_found: dict[str, set[str]] | None = None) -> tuple[int, int]:
    """Write the canon rows for one call date, leaving out restricted calls (and removing any
    canon row they already had). Returns (calls written, calls withheld). `names_found`, when
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
    restricted = {(k, r) for k, r in conn.execute("SELECT kind, ref FROM governance.restrictions").fetchall()}
    people = {r for k, r in restricted if k == "person"}
    out, tokens, withheld = [], [], 0
    redactions = pseudonymiser.redact_many([r[5] for r in rows], on=[r[1] for r in rows]) if rows else []
    segments: dict[str, list[tuple[str, str]]] = {}
    for call_id, speaker, seg_text in conn.execute(
            "SELECT call_id, speaker, text FROM casework.segments WHERE call_date = ? ORDER BY call_id, seg_idx",
            [call_date]).fetchall():
        segments.setdefault(call_id, []).append((speaker, seg_text))
    for (call_id, d, direction, team, area, text, complaint, number), red in zip(rows, redactions):
        if names_found is not None:
            names_found[call_id] = {e.value or text[e.start:e.end] for e in red.entities
                                    if e.type in ("PERSON", "LOCATION")}
        found = set(TOKEN.findall(red.text))
        number_token = pseudonymiser.token("PHONE_NUMBER", number) if number else None
        if number_token:
            found.add(number_token)
        tokens.extend(dict(call_id=call_id, token=t) for t in sorted(found))
        if (("call", call_id) in restricted or ("complaint", complaint) in restricted
                or ("number", number_token) in restricted
                or any(p in red.text for p in people)):
            withheld += 1
            continue
        spans = caller_spans(text, segments.get(call_id, []))
        caller = pseudonymiser.redact_spans(text, red.entities, spans, d) if spans else None
        out.append(dict(call_id=call_id, call_date=d, direction=direction, team=team, service_area=area,
                        text=red.text, entities_replaced=len(red.entities), pseudonymised_at=warehouse.utcnow(),
                        caller_text=caller))
    ids = [r[0] for r in rows]
    with warehouse.transaction(conn):
        warehouse.replace_rows(conn, "canon.transcripts", "call_id", ids, out, atomic=False)
        warehouse.replace_rows(conn, "casework.call_pseudonyms", "call_id", ids, tokens, atomic=False)
    return len(out), withheld


def identifiers_replaced(conn, call_date) -> int:
    return int(conn.execute("SELECT coalesce(sum(entities_replaced), 0) FROM canon.transcripts WHERE call_date = ?",
                            [call_date]).fetchone()[0])
