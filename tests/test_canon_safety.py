"""The canon's second line of defence: the residual-PII scan, the block it puts on themes, and
restriction requests that keep a call out of the canon."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import duckdb
import pytest

from assets import canon, pii, warehouse
from assets.canon import leak_scan, restrictions
from assets.sealed_text import TextSeal
from assets.themes import registry
from assets.themes.taxonomy import load_taxonomy

DAY = date(2026, 3, 2)
SEAL = TextSeal(bytes(range(32)))  # the fixture's text is plain, from before sealing: it reads as it is


def test_scan_finds_what_a_pseudonymiser_missed_and_nothing_in_clean_text():
    clean = "Hello, my name is <PERSON_0a1b2c3d>. Call me on <PHONE_NUMBER_01234567>. I waited 9 hours."
    assert leak_scan.scan_text(clean) == {}
    dirty = "I am Emma Wilson, call oh seven seven oh oh nine, email a.b@example.org, LS6 2AB, AB 12 34 56 C"
    kinds = leak_scan.scan_text(dirty)
    assert set(kinds) == {"introduced_name", "long_number", "email", "postcode", "ni_number"}
    # A number the casework store knows for this call, even said in words, is found.
    assert "known_number" in leak_scan.scan_text("it was nine double oh, one two three", ["+447700900123"])


def test_a_name_the_detectors_found_is_looked_for_everywhere_in_the_row(conn, pseudonymiser):
    """Issue 18: a name tokenised in one turn and left in clear in another blocks the canon."""
    assert leak_scan.names_left("<PERSON_0a1b2c3d> said maureen's tablets and Pickering rang",
                                {"Maureen Pickering"}) == 2
    assert leak_scan.names_left("<PERSON_0a1b2c3d> said her tablets never came", {"Maureen Pickering"}) == 0
    # Through the stage: the names found stay in memory and the scan of the clean canon is clean.
    names: dict[str, set[str]] = {}
    canon.pseudonymise_date(conn, DAY, pseudonymiser, SEAL, names)
    assert names["c1"] >= {"Sarah Jones"}
    assert all(f.count == 0 for f in leak_scan.record_date(conn, DAY, names))
    conn.execute("UPDATE canon.transcripts SET text = text || ' and jones again' WHERE call_id = 'c1'")
    found = {f.call_id: f.kinds for f in leak_scan.record_date(conn, DAY, names)}
    assert found["c1"] == {"detected_name": 1} and found["c2"] == {}


@pytest.fixture()
def conn(tmp_path):
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    warehouse.ensure_schema(con)
    now = datetime.now(UTC)
    for call_id, number, complaint in (("c1", "+447700900111", "C-111111"), ("c2", "+447700900222", None)):
        con.execute(
            "INSERT INTO casework.calls (call_id, started_at, call_date, external_number, complaint_id, "
            "service_area, ingested_at) VALUES (?, ?, ?, ?, ?, 'maternity', ?)",
            [call_id, now, DAY, number, complaint, now])
        con.execute("INSERT INTO casework.transcripts (call_id, call_date, text, model, transcribed_at) "
                    "VALUES (?, ?, ?, 'm', ?)",
                    [call_id, DAY, f"Hello, my name is Sarah Jones. I waited for pain relief ({call_id}).", now])
    yield con
    con.close()


@pytest.fixture(scope="module")
def pseudonymiser():
    return pii.Pseudonymiser(bytes(range(32)))


def test_restricted_calls_never_enter_the_canon(conn, pseudonymiser):
    assert canon.pseudonymise_date(conn, DAY, pseudonymiser, SEAL) == (2, 0)
    # Restricting by phone number withdraws the call at once and keeps it out on re-runs.
    assert restrictions.restrict(conn, pseudonymiser, "number", "+447700900222", "art. 18 request") == 1
    assert [r[0] for r in conn.execute("SELECT call_id FROM canon.transcripts").fetchall()] == ["c1"]
    assert canon.pseudonymise_date(conn, DAY, pseudonymiser, SEAL) == (1, 1)
    # The restriction itself holds a token, not the number.
    refs = [r[0] for r in conn.execute("SELECT ref FROM governance.restrictions").fetchall()]
    assert refs and all("7700900222" not in r for r in refs)
    # Restricting the person (by their pseudonym token) reaches every call that mentions them,
    # c2 too although it is already out of the canon (found through casework.call_pseudonyms).
    person = pseudonymiser.token("PERSON", "Sarah Jones")
    assert restrictions.restrict(conn, pseudonymiser, "person", person, None) == 2
    assert canon.pseudonymise_date(conn, DAY, pseudonymiser, SEAL) == (0, 2)
    assert conn.execute("SELECT count(*) FROM canon.transcripts").fetchone()[0] == 0


def test_a_canon_that_fails_the_scan_blocks_themes(conn, pseudonymiser):
    canon.pseudonymise_date(conn, DAY, pseudonymiser, SEAL)
    conn.execute("INSERT INTO canon.leak_scan VALUES ('c1', ?, 1, ?, now())", [DAY, json.dumps({"email": 1})])
    with pytest.raises(registry.CanonNotClean, match="blocked"):
        registry.refit(conn, load_taxonomy("ombudsman"), 8)
    with pytest.raises(registry.CanonNotClean, match="blocked"):
        registry.assign_dates(conn, [DAY], load_taxonomy("ombudsman"))
