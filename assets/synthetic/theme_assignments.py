"""Canon rows and theme assignments at warehouse scale, written by SQL alone: for the marts'
scale benchmark and the test that an incremental build equals a full one.

Calls are numbered; call i is on day `first + i // per_day`, in one of eight service areas and
five teams, and mentions one to three of `themes` themes (hash-chosen, so the same for a given
i every time). Its canon text is `text_words` words from a small vocabulary. Each call date
written is marked stale, as the pipeline's own writers mark theirs.
"""

from __future__ import annotations

from datetime import date

AREAS = ["maternity", "emergency", "oncology", "gp_prescriptions", "mental_health", "elderly_care", "surgery",
         "outpatients"]
WORDS = ("the nurse said pain relief was late again and nobody called back about my appointment "
         "discharge letter medication wrong ward waited hours staff rude cancelled operation").split()
CHUNK = 1_000_000


def add_topics(conn, themes: int, first_id: int = 0) -> None:
    conn.execute("INSERT INTO themes.topics (theme_id, label, top_words, size, fitted_at, kind) "
                 "SELECT i, 'theme ' || i, ['word'], 0, now(), 'taxonomy' FROM range(?, ?) t(i)",
                 [first_id, first_id + themes])


def write_calls(conn, first_id: int, n: int, *, first: date, per_day: int, themes: int = 20,
                text_words: int = 40, theme_offset: int = 0, prefix: str = "call") -> None:
    """Calls first_id .. first_id+n-1 (ids `<prefix>-<number>`); themes are theme_offset ..
    theme_offset+themes-1."""
    words = "[" + ", ".join(f"'{w}'" for w in WORDS) + "]"
    for start in range(first_id, first_id + n, CHUNK):
        end = min(first_id + n, start + CHUNK)
        conn.execute(f"""
            CREATE OR REPLACE TEMP TABLE synthetic_batch AS
            SELECT printf('{prefix}-%09d', i) AS call_id, DATE '{first}' + CAST(i // {per_day} AS INTEGER) AS call_date,
                   'team-' || (hash(i, 1) % 5) AS team, (?)[CAST(hash(i, 2) % 8 AS BIGINT) + 1] AS service_area,
                   array_to_string(list_transform(range({text_words}),
                                   lambda x: {words}[CAST(hash(i, x) % {len(WORDS)} AS BIGINT) + 1]), ' ') AS text,
                   list_distinct(list_transform(range(CAST(1 + hash(i, 3) % 3 AS BIGINT)),
                                 lambda x: CAST({theme_offset} + hash(i, x, 4) % {themes} AS INTEGER))) AS themes
            FROM range({start}, {end}) t(i)""", [AREAS])
        conn.execute("""
            INSERT INTO canon.transcripts (call_id, call_date, direction, team, service_area, text,
                                           entities_replaced, pseudonymised_at)
            SELECT call_id, call_date, 'inbound', team, service_area, text, 2, now() FROM synthetic_batch""")
        conn.execute("""
            INSERT INTO themes.call_themes (call_id, theme_id, statements, call_date, service_area, team)
            SELECT call_id, unnest(themes), 1, call_date, service_area, team FROM synthetic_batch""")
        conn.execute("""
            INSERT INTO marts_queue.stale_days SELECT DISTINCT call_date, now() FROM synthetic_batch
            ON CONFLICT (call_date) DO UPDATE SET marked_at = excluded.marked_at""")
        conn.execute("DROP TABLE synthetic_batch")
