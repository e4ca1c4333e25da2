"""The landing zone, the audio store, quarantine and redacted audio on object storage, through
fsspec: every file location an fsspec URL, only the warehouse on local disk.

Two object stores: `memory://`, fsspec's in-memory filesystem (no folders, no fsync, no rename
of its own, no mtime), for a call's whole life in one process (landing, sensor, sealing,
transcription, retention, erasure); and the deployment of `deploy/README.md` — S3 (moto's S3
server over HTTP, reached through s3fs with fsspec's own environment settings), Dagster's runs and
events in PostgreSQL (`deploy/dagster.yaml`, a throwaway cluster of Debian's postgresql), and a
`dagster job execute` whose steps run in separate processes (the multiprocess executor).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import fsspec
import pytest
from conftest import child_env, free_port

from assets import retention, warehouse
from assets.audio import vault as audio_vault
from assets.ingest.untrusted import label
from assets.settings import Settings
from assets.synthetic import demo_calls as demo_data
from pipelines.defs.resources import PseudonymKey

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parent.parent
LOCATIONS = {"CALLCANON_LANDING": "landing", "CALLCANON_AUDIO_STORE": "audio",
             "CALLCANON_QUARANTINE": "quarantine", "CALLCANON_REDACTED_AUDIO": "redacted_audio"}


@pytest.fixture
def on_object_storage(data_env, dbt_manifest, tmp_path, monkeypatch):
    root = f"memory://callcanon-{uuid.uuid4().hex[:8]}"
    for var, name in LOCATIONS.items():
        monkeypatch.setenv(var, f"{root}/{name}")
    monkeypatch.setenv("CALLCANON_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    settings = Settings.from_env()
    settings.make_dirs()
    yield root, settings
    fsspec.filesystem("memory").rm(root.removeprefix("memory://"), recursive=True)


def objects(root: str, folder: str) -> list[str]:
    fs = fsspec.filesystem("memory")
    path = f"{root.removeprefix('memory://')}/{folder}"
    return sorted(p.rsplit("/", 1)[-1] for p in fs.find(path)) if fs.exists(path) else []


def test_calls_land_are_sealed_transcribed_and_expire_on_object_storage(on_object_storage):
    from pipelines.definitions import defs
    from pipelines.defs.ingest.sensors import landing_zone_sensor
    from pipelines.defs.resources import CallStore
    from pipelines.runner import sweep_retention

    root, settings = on_object_storage
    calls = demo_data.build_calls(3, date.today(), seed=5, days=1, expired=False)
    demo_data.write_calls(calls, settings.landing_dir)
    (settings.landing_dir / "call-broken.json").write_text("{not json")
    (settings.landing_dir / "call-broken.wav").write_bytes(b"RIFF")
    day = calls[0].call_date
    assert {c.call_date for c in calls} == {day}
    assert settings.landing_dir.protocol == "memory" and len(objects(root, "landing")) == 8

    # The sensor sees the sidecars on the bucket (object stores name their mtime differently).
    store = CallStore(landing_dir=str(settings.landing_dir), store_dir=str(settings.store_dir),
                      quarantine_dir=str(settings.quarantine_dir), redacted_dir=str(settings.redacted_dir),
                      staging_dir=str(settings.staging_dir))
    ctx = dg.build_sensor_context(resources={"call_store": store})
    requested = {r.partition_key for r in landing_zone_sensor(ctx)}
    assert day in requested
    assert isinstance(landing_zone_sensor(dg.build_sensor_context(cursor=ctx.cursor, resources={"call_store": store})),
                      dg.SkipReason)

    with dg.DagsterInstance.ephemeral() as instance:
        result = defs().resolve_job_def("process_calls").execute_in_process(partition_key=day, instance=instance)
        assert result.success
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            stored = dict(conn.execute("SELECT call_id, audio_path FROM casework.calls").fetchall())
            transcribed = {r[0] for r in conn.execute("SELECT call_id FROM casework.transcripts").fetchall()}
            redacted = [r[0] for r in conn.execute("SELECT path FROM casework.redacted_audio").fetchall()]
            quarantined = conn.execute("SELECT item, reason, location FROM casework.quarantine").fetchall()
            unlinked = {r[0] for r in conn.execute(
                "SELECT call_id FROM casework.calls WHERE complaint_id IS NULL").fetchall()}

        ids = {c.call_id for c in calls}
        # Every call registered, its audio sealed on the bucket, transcribed from there.
        assert set(stored) == ids == transcribed
        assert all(p.startswith(f"{root}/audio/{day}/") and p.endswith(audio_vault.SUFFIX) for p in stored.values())
        fs = fsspec.filesystem("memory")
        for path in stored.values():
            with fs.open(path.removeprefix("memory://"), "rb") as fh:
                assert fh.read(len(audio_vault.MAGIC)) == audio_vault.MAGIC  # sealed, not plaintext
        assert len(redacted) == 3 and all(p.startswith(f"{root}/redacted_audio/") for p in redacted)
        # The landing zone is emptied; the broken call moved, with its reason, not lost.
        assert objects(root, "landing") == []
        broken = label("call-broken")  # not a validated call id: named by a keyed hash
        assert [(q[0], q[1]) for q in quarantined] == [(broken, "bad_sidecar_json")]
        assert quarantined[0][2] == f"{root}/quarantine/{broken}"
        assert objects(root, "quarantine") == ["call-broken.json", "call-broken.wav"]
        assert not [o for o in objects(root, "audio") + objects(root, "redacted_audio") if o.endswith(".partial")]

        # Forty days on, the unlinked calls' audio has gone from the bucket; linked calls' stays.
        assert unlinked and unlinked != ids
        sweep_retention(instance, date.fromisoformat(day) + timedelta(days=40), log=lambda *_: None)
    left = objects(root, "audio")
    assert sorted(left) == sorted(audio_vault.sealed_name(c.call_id + demo_data.AUDIO_FORMATS[c.audio_format][0])
                                  for c in calls if c.call_id not in unlinked)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        marked = {r[0] for r in conn.execute(
            "SELECT call_id FROM casework.calls WHERE audio_deleted_at IS NOT NULL").fetchall()}
    assert marked == unlinked

    # An erasure request takes a linked call's sealed and redacted audio off the bucket too.
    gone = next(c for c in calls if c.complaint_id)
    with warehouse.connect(settings.warehouse_path) as conn:
        retention.erase(conn, PseudonymKey().pseudonymiser(), "ombudsman", "complaint", gone.complaint_id,
                        "erasure request ER-1", date.today())
    assert not [o for o in objects(root, "audio") + objects(root, "redacted_audio") if o.startswith(gone.call_id)]
    assert len(objects(root, "audio")) == len(left) - 1
    assert len(objects(root, "redacted_audio")) == 3 - len(unlinked) - 1


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL cluster on loopback; its URL as deploy/dagster.yaml reads it."""
    initdb = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not initdb:
        if os.environ.get("CI"):  # CI installs it (.ci/run): missing there is a failure, not a skip
            raise RuntimeError("PostgreSQL is needed for the deployment test (apt-get install postgresql)")
        pytest.skip("needs Debian's postgresql (make test installs it when it can use apt)")
    bindir = initdb[-1].parent
    # PostgreSQL will not run as root: as root, its own user runs it, in a folder it owns.
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = Path(tempfile.mkdtemp(prefix="callcanon-pg-"))
    if as_pg:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    run = lambda *cmd: subprocess.run([*as_pg, *cmd], check=True, capture_output=True, timeout=120)  # noqa: E731
    run(str(bindir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "callcanon")
    run(str(bindir / "pg_ctl"), "-D", str(data / "db"), "-w", "-l", str(data / "log"), "-o",
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start")
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "callcanon", "dagster")
        yield f"postgresql+psycopg2://callcanon@127.0.0.1:{port}/dagster"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "stop")
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def s3():
    """A local S3 server and the settings a deployment gives fsspec to reach it (environment
    only: no credentials in a file or the repo)."""
    from moto.server import ThreadedMotoServer
    from s3fs import S3FileSystem

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"FSSPEC_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}", "FSSPEC_S3_KEY": "test-key",
           "FSSPEC_S3_SECRET": "test-secret", "AWS_DEFAULT_REGION": "us-east-1"}
    fs = S3FileSystem(endpoint_url=env["FSSPEC_S3_ENDPOINT_URL"], key="test-key", secret="test-secret",
                      skip_instance_cache=True)
    fs.mkdir("callcanon-calls")
    try:
        yield env, fs
    finally:
        # moto keeps its buckets per process, not per server: the next test's server starts empty.
        fs.rm("callcanon-calls", recursive=True)
        server.stop()


def test_the_deployment_runs_steps_in_processes_of_their_own_on_s3_and_postgres(s3, postgres, tmp_path,
                                                                               dbt_manifest):
    env, fs = s3
    calls = demo_data.build_calls(2, date.today(), seed=9, days=1, expired=False)
    day = calls[0].call_date
    spoken = tmp_path / "spoken"
    demo_data.write_calls(calls, spoken)
    (spoken / "call-broken.json").write_text("{not json")
    # As a telephony system uploads: the recording, then its sidecar.
    for path in sorted(spoken.iterdir(), key=lambda p: p.suffix == ".json"):
        fs.put_file(str(path), f"callcanon-calls/landing/{path.name}")

    bucket = "s3://callcanon-calls"
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    run_env = child_env(tmp_path / "data", **env, DAGSTER_HOME=str(home), DAGSTER_PG_URL=postgres,
                        CALLCANON_LANDING=f"{bucket}/landing", CALLCANON_AUDIO_STORE=f"{bucket}/audio",
                        CALLCANON_QUARANTINE=f"{bucket}/quarantine", CALLCANON_REDACTED_AUDIO=f"{bucket}/redacted")
    done = subprocess.run(
        [sys.executable, "-m", "dagster", "job", "execute", "-m", "pipelines.definitions", "-j", "process_calls",
         "--tags", json.dumps({"dagster/partition": day})],
        cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "multiprocess executor" in output  # each step its own process, each reaching the bucket

    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        stored = dict(conn.execute("SELECT call_id, audio_path FROM casework.calls").fetchall())
        transcripts = conn.execute("SELECT count(*) FROM casework.transcripts").fetchone()[0]
        canon = conn.execute("SELECT count(*) FROM canon.transcripts").fetchone()[0]
        redacted = [r[0] for r in conn.execute("SELECT path FROM casework.redacted_audio").fetchall()]
        quarantined = conn.execute("SELECT item, reason, location FROM casework.quarantine").fetchall()
    assert set(stored) == {c.call_id for c in calls} and transcripts == canon == 2
    assert all(p.startswith(f"{bucket}/audio/{day}/") for p in stored.values())
    assert all(p.startswith(f"{bucket}/redacted/{day}/") for p in redacted) and len(redacted) == 2
    for path in [*stored.values(), *redacted]:
        assert fs.cat_file(path, start=0, end=len(audio_vault.MAGIC)) == audio_vault.MAGIC
    assert fs.find("callcanon-calls/landing") == []
    broken = label("call-broken")
    assert quarantined == [(broken, "bad_sidecar_json", f"{bucket}/quarantine/{broken}")]
    assert fs.find("callcanon-calls/quarantine") == [f"callcanon-calls/quarantine/{broken}/call-broken.json"]
    # Nothing on local disk but the warehouse and Dagster's own files.
    assert not (tmp_path / "data" / "audio").exists() or not list((tmp_path / "data" / "audio").rglob("*.*"))

    # The run and its step events are in PostgreSQL, where the UI and the daemon read them.
    os.environ["DAGSTER_PG_URL"] = postgres
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            runs = instance.get_runs()
            assert [(r.job_name, r.status, r.tags["dagster/partition"]) for r in runs] == \
                [("process_calls", dg.DagsterRunStatus.SUCCESS, day)]
            event = instance.get_latest_materialization_event(dg.AssetKey(["casework", "transcripts"]))
            assert event.run_id == runs[0].run_id
            assert event.asset_materialization.metadata["calls_transcribed"].value == 2
    finally:
        del os.environ["DAGSTER_PG_URL"]
