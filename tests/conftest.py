"""Shared fixtures: one real pipeline run on generated calls, reused by the end-to-end tests.

Everything is real: espeak-ng speech, faster-whisper, Presidio, BERTopic, dbt and Dagster.
Only the clock-free parts are varied per test; the expensive run happens once per session.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

PLANTED = "planted-7c1e9a0d5b3f42e8a6d0c9b1e4f7a2d3"
TEST_KEY = "5f1d3c0a9b8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6"
AUDIO_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

# Before anything imports the pipeline: never reach for a hub; a fixed key for the tests.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["CALLCANON_PSEUDONYM_KEY"] = TEST_KEY
os.environ["CALLCANON_AUDIO_KEY"] = AUDIO_KEY
os.environ["CALLCANON_AUDIT_SIGNING_KEY"] = "faefaa4da54bfb227612673d4d03f18e39ee2fd4bbf0dc8cb44721f4f243d75f"
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
os.environ.pop("DAGSTER_HOME", None)  # each test session uses a throwaway Dagster instance


def free_port() -> int:
    """A loopback port nobody holds now, for a server a test starts (dagster dev, S3, PostgreSQL)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for a child process (a Dagster run, `dagster dev`) over a data folder of
    its own: this session's keys and settings, none of its data locations."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCANON_") or k.endswith("_KEY")}
    return {**env, "CALLCANON_DATA": str(data_dir), "PYTHONUNBUFFERED": "1", **extra}


@dataclass
class PipelineRun:
    data_dir: Path
    warehouse: Path
    calls: list  # assets.synthetic.demo_calls.DemoCall
    instance: object
    today: date
    seed_calls: list = field(default_factory=list)  # the §4.4 example: 20 pain-relief calls, one day
    planted: str = PLANTED  # in calls[1]'s sidecar, as an unknown field

    def query(self, sql: str, params=None):
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def transcripts(self) -> dict[str, str]:
        """Casework transcripts opened from their seal (the audio key's), as only the pipeline's
        stages and the access layer open them."""
        from assets.audio.vault import AudioVault
        from assets.keys import load_audio_key
        from assets.sealed_text import TRANSCRIPT

        seal = AudioVault(load_audio_key()).text
        return {c: seal.open(t, c, TRANSCRIPT) for c, t in self.query("SELECT call_id, text FROM casework.transcripts")}


@pytest.fixture(scope="session")
def data_env(tmp_path_factory):
    """Point every callcanon location at a fresh folder for this session."""
    data = tmp_path_factory.mktemp("callcanon-data")
    # Every location, including any an in-process CLI run of an earlier test exported.
    for var in ("CALLCANON_LANDING", "CALLCANON_AUDIO_STORE", "CALLCANON_QUARANTINE", "CALLCANON_WAREHOUSE",
                "CALLCANON_REDACTED_AUDIO", "CALLCANON_AUDIT_HEAD", "CALLCANON_POLICY", "CALLCANON_EVIDENCE",
                "CALLCANON_ANALYTICS", "CALLCANON_ANALYTICS_GROUP"):
        os.environ.pop(var, None)
    os.environ["CALLCANON_DATA"] = str(data)
    from assets.settings import Settings

    settings = Settings.from_env()
    settings.export_for_dbt()
    settings.make_dirs()
    return settings


@pytest.fixture(scope="session")
def dbt_manifest(data_env):
    """One `dbt parse` per test session, as dagster-dbt expects."""
    from pipelines.runner import ensure_dbt_manifest

    return ensure_dbt_manifest(force=True)


# One of each file an attacker or a careless sender left in the landing zone (issue 17), beside
# the good calls: name -> (sidecar, or a special) and the quarantine reason each must get.
HOSTILE = {
    "call-from-1900": ("date:1900-01-01", "date_out_of_range"),
    "call-from-2100": ("date:2100-01-01", "date_out_of_range"),
    "call-deep": ("[" * 30_000 + "]" * 30_000, "bad_sidecar_json"),
    "call-huge": ("huge", "sidecar_too_large"),
    "07700 900123": ("{not json", "bad_sidecar_json"),  # a caller's number as the file name
    "..": ("{not json", "bad_sidecar_json"),             # `...json`, aimed above the quarantine folder
    "call-fifo": ("fifo", "not_a_regular_file"),
    "call-link": ("link", "not_a_regular_file"),          # audio -> a key file outside
}
SECRET_OUTSIDE = b"not-a-recording-but-a-key-file-outside-the-landing-zone"


def land_hostile_files(landing: Path, outside: Path, day: date) -> None:
    for name, (what, _) in HOSTILE.items():
        sidecar = landing / f"{name}.json"
        if what == "fifo":
            os.mkfifo(sidecar)
            continue
        if what.startswith("date:") or what in ("huge", "link"):
            started = what[5:] if what.startswith("date:") else day.isoformat()
            body = {"call_id": name, "started_at": f"{started}T09:00:00Z"}
            sidecar.write_text(json.dumps({**body, "padding": "x" * 100_000} if what == "huge" else body))
        else:
            sidecar.write_text(what)
        if what == "link":
            (outside / "audio.key").write_bytes(SECRET_OUTSIDE)
            (landing / f"{name}.wav").symlink_to(outside / "audio.key")
        else:
            (landing / f"{name}.wav").write_bytes(b"RIFF")


@pytest.fixture(scope="session")
def pipeline_run(data_env, dbt_manifest, tmp_path_factory) -> PipelineRun:
    """Ten recent calls plus two 45-day-old ones, one broken sidecar, one file that is not
    audio and one of each hostile file (`HOSTILE`), run through every stage by real Dagster jobs."""
    import dagster as dg

    from assets.synthetic import demo_calls as demo_data
    from assets.synthetic import theme_calls
    from pipelines.runner import run_all

    today = date.today()
    calls = demo_data.build_calls(10, today, seed=11)
    # The ombudsman's own example (§4.4), in the daily flow: 20 short calls on one day from four
    # service areas, all about pain relief.
    seed_calls = theme_calls.seed_example(today - timedelta(days=2))
    demo_data.write_calls(calls + seed_calls, data_env.landing_dir)
    # An unknown sidecar field (kept, by contract) with a value found nowhere else: the erasure
    # test looks for it on disk.
    sidecar = data_env.landing_dir / f"{calls[1].call_id}.json"
    sidecar.write_text(json.dumps({**json.loads(sidecar.read_text()), "caller_reference": PLANTED}))
    # Bad input the run must survive: unreadable sidecar, and a ".wav" that is not audio.
    (data_env.landing_dir / "call-broken-json.json").write_text("{not json")
    (data_env.landing_dir / "call-broken-json.wav").write_bytes(b"RIFF")
    bad_day = date.fromisoformat(calls[0].call_date)
    (data_env.landing_dir / "call-not-audio.wav").write_bytes(os.urandom(4096))
    (data_env.landing_dir / "call-not-audio.json").write_text(json.dumps(
        {"call_id": "call-not-audio", "started_at": f"{bad_day.isoformat()}T11:00:00Z"}))
    land_hostile_files(data_env.landing_dir, tmp_path_factory.mktemp("outside"), bad_day)
    instance = dg.DagsterInstance.ephemeral()
    run_all(instance, log=lambda *_: None)
    return PipelineRun(data_env.data_dir, data_env.warehouse_path, calls, instance, today, seed_calls)


@pytest.fixture(scope="session")
def trends(tmp_path_factory, dbt_manifest):
    """The acceptance scenario in the daily flow: each day's calls assigned to the registered
    themes as the daily job does (no refit), then the marts built by the real Dagster job (dbt
    build), in a warehouse of its own."""
    import dagster as dg

    from assets import warehouse
    from assets.synthetic import theme_corpus
    from assets.themes import emerging, registry
    from assets.themes.taxonomy import load_taxonomy
    from pipelines.definitions import defs

    db = tmp_path_factory.mktemp("trends") / "warehouse.duckdb"
    calls, spike = theme_corpus.spike_series()
    taxonomy = load_taxonomy("ombudsman")
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        theme_corpus.write_canon(conn, calls)
        for day in sorted({c.call_date for c in calls}):
            registry.assign_dates(conn, [day], taxonomy)
            emerging.detect(conn, day, 8)
    previous = os.environ["CALLCANON_WAREHOUSE"]
    os.environ["CALLCANON_WAREHOUSE"] = str(db)
    os.environ["CALLCANON_ANALYTICS"] = str(db.parent / "analytics.duckdb")  # beside it, not the session's
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            result = defs().resolve_job_def("build_marts").execute_in_process(instance=instance)
        assert result.success
    finally:
        os.environ["CALLCANON_WAREHOUSE"] = previous
        del os.environ["CALLCANON_ANALYTICS"]
    return db, calls, spike


def run_killed_at(cmd: list[str], env: dict, kill_at: str | None = None, timeout: float = 600,
                  cwd: Path | None = None) -> tuple[int, str]:
    """Run `cmd` in a process of its own; with `kill_at`, SIGKILL it as soon as it prints a line
    containing that. Returns (exit code, output so far)."""
    import signal
    import subprocess

    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    for line in proc.stdout:
        out.append(line)
        if kill_at and kill_at in line:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.stdout.close()
    return proc.wait(timeout), "".join(out)


def run_cli_killed_at(args: list[str], env: dict, kill_at: str | None = None, timeout: float = 600) -> tuple[int, str]:
    """`callcanon ARGS` through `run_killed_at`."""
    import sys

    return run_killed_at([str(Path(sys.executable).parent / "callcanon"), *args], env, kill_at, timeout)


def synthetic_warehouse(tmp_path: Path, monkeypatch, calls: list):
    """A warehouse of calls written straight into every table, audio and text sealed under the
    session's audio key, with the audit chain's witness beside it (the CLI's default for this data
    folder). Returns an open connection; the caller closes it (`with ... as conn`)."""
    from assets import warehouse
    from assets.audio.vault import AudioVault
    from assets.keys import load_audio_key
    from assets.synthetic.warehouse_rows import add_calls

    monkeypatch.setenv("CALLCANON_AUDIT_WITNESS", str(tmp_path / "audit_witness"))
    conn = warehouse.connect(tmp_path / "warehouse.duckdb")
    warehouse.ensure_schema(conn)
    add_calls(conn, tmp_path, calls, vault=AudioVault(load_audio_key()))
    return conn


def grant_this_account(db: Path, *roles: str) -> str:
    """What an administrator does before anyone on the data host runs a governance or access
    command: add the operating-system account (`os:NAME`) and grant it roles. Straight through
    `assets.access.identities`, so that the test's own audit trail starts empty."""
    from assets import warehouse
    from assets.access import governance_log, identities

    who = governance_log.os_identity()
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        if not conn.execute("SELECT 1 FROM governance.identities WHERE identity = ?", [who]).fetchone():
            identities.add(conn, who, by="test-administrator")
        for role in roles:
            if not identities.holds(conn, who, role):
                identities.grant(conn, who, role, by="test-administrator",
                                 roles=[role])
    return who
