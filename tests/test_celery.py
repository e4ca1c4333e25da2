"""The distributed deployment (issue 23), all of it real: a Redis broker (Debian's redis-server),
Dagster's runs and events in PostgreSQL, every file location on S3 (moto's server), and
dagster-celery. Two transcription workers run in folders of their own with no warehouse setting
and no key but the audio key; one worker on the "warehouse host" serves every other step.
Two call dates run at once; their transcription steps go to the workers, the loaders to the host.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import child_env, free_port
from test_object_storage import postgres, s3  # noqa: F401  (fixtures)

from assets import keys
from assets.synthetic import demo_calls as demo_data

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture
def redis():
    server = shutil.which("redis-server")
    if not server:
        if os.environ.get("CI"):  # .ci/run installs it: missing there is a failure, not a skip
            raise RuntimeError("redis-server is needed for the Celery test (apt-get install redis-server)")
        pytest.skip("needs Debian's redis-server (make test installs it when it can use apt)")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def _worker(name: str, queue: str, env: dict, cwd: Path, logs: Path) -> subprocess.Popen:
    """`dagster-celery worker start` as deploy/README.md gives it: one task at a time."""
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y",
         str(ROOT / "deploy" / "celery" / "worker.yaml"), "-q", queue, "-n", name, "--", "-c", "1"],
        cwd=cwd, env={**env, "CALLCANON_WORKER_NAME": name, "PATH": f"{BIN}:{env['PATH']}"},
        stdout=(logs / f"{name}.log").open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(procs) -> None:
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def test_transcription_runs_on_celery_workers_that_have_no_warehouse(s3, postgres, redis, tmp_path,  # noqa: F811
                                                                      dbt_manifest):
    env, fs = s3
    bucket = "s3://callcanon-calls"
    days = [date.today() - timedelta(days=2), date.today() - timedelta(days=1)]
    spoken = tmp_path / "spoken"
    for n, day in enumerate(days):
        # build_calls(n, end) speaks calls on the day before `end`
        demo_data.write_calls(demo_data.build_calls(2, day + timedelta(days=1), seed=20 + n, days=1, expired=False),
                              spoken)
    for path in sorted(spoken.iterdir(), key=lambda p: p.suffix == ".json"):
        fs.put_file(str(path), f"callcanon-calls/landing/{path.name}")

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    stores = {f"CALLCANON_{k}": f"{bucket}/{v}" for k, v in (
        ("LANDING", "landing"), ("AUDIO_STORE", "audio"), ("QUARANTINE", "quarantine"),
        ("REDACTED_AUDIO", "redacted"), ("STAGING", "staging"))}
    shared = {**env, **stores, "DAGSTER_HOME": str(home), "DAGSTER_PG_URL": postgres, "CALLCANON_EXECUTOR": "celery",
              "CALLCANON_CELERY_BROKER": f"{redis}/0", "CALLCANON_CELERY_BACKEND": f"{redis}/1"}
    host_env = child_env(tmp_path / "data", **shared)
    # A transcription worker: the stores, the broker, Dagster's instance and the audio key alone (in
    # a file of its own); no CALLCANON_WAREHOUSE, no data folder, no pseudonym key to be found.
    worker_keys = tmp_path / "worker-keys"
    worker_keys.mkdir(mode=0o700)
    (worker_keys / "audio.key").write_text(keys.load_audio_key().hex())
    (worker_keys / "audio.key").chmod(0o600)
    worker_env = {k: v for k, v in host_env.items() if not k.startswith("CALLCANON_")}
    worker_env.update({k: v for k, v in shared.items() if k.startswith("CALLCANON_")},
                      CALLCANON_AUDIO_KEY_FILE=str(worker_keys / "audio.key"),
                      CALLCANON_DATA=str(tmp_path / "nowhere"), XDG_CONFIG_HOME=str(tmp_path / "worker-config"))
    assert not any(k in worker_env for k in ("CALLCANON_WAREHOUSE", "CALLCANON_PSEUDONYM_KEY"))

    # The pools set once, as a deployment does (deploy/README.md): two runs that both meet a pool
    # first would race to create its default limit in PostgreSQL (a unique-key error).
    for pool, limit in (("duckdb_writer", "1"), ("transcription", "2")):
        subprocess.run([str(BIN / "dagster"), "instance", "concurrency", "set", pool, limit], env=host_env,
                       cwd=ROOT, check=True, capture_output=True, timeout=120)
    logs = tmp_path / "logs"
    logs.mkdir()
    workers = [_worker("transcriber-1", "transcription", worker_env, tmp_path / "w1", logs),
               _worker("transcriber-2", "transcription", worker_env, tmp_path / "w2", logs),
               _worker("warehouse-host", "dagster", host_env, ROOT, logs)]
    try:
        deadline = time.monotonic() + 120
        while not all("ready." in (logs / f"{n}.log").read_text() for n in ("transcriber-1", "transcriber-2",
                                                                            "warehouse-host")):
            assert time.monotonic() < deadline, "".join(p.read_text()[-2000:] for p in logs.iterdir())
            time.sleep(1)
        runs = [subprocess.Popen(
            [sys.executable, "-m", "dagster", "job", "execute", "-m", "pipelines.definitions", "-j", "process_calls",
             "--tags", json.dumps({"dagster/partition": day.isoformat()})],
            cwd=ROOT, env=host_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for day in days]
        outputs = [r.communicate(timeout=420)[0] for r in runs]
    finally:
        _stop(workers)
    worker_logs = "".join(p.read_text() for p in logs.iterdir())
    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output[-3000:] + worker_logs[-3000:]
        assert "celery" in output.lower()

    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        per_day = dict(conn.execute("SELECT call_date, count(*) FROM casework.transcripts GROUP BY 1").fetchall())
        canon = conn.execute("SELECT count(*) FROM canon.transcripts").fetchone()[0]
        redacted = [r[0] for r in conn.execute("SELECT path FROM casework.redacted_audio").fetchall()]
        quarantined = conn.execute("SELECT count(*) FROM casework.quarantine").fetchone()[0]
    assert per_day == {days[0]: 2, days[1]: 2} and canon == 4 and not quarantined
    assert len(redacted) == 4 and all(p.startswith(f"{bucket}/redacted/") for p in redacted)
    # Every staged result loaded, then removed; each date's (sealed) manifest stays for its next run.
    assert sorted(p.rsplit("/", 2)[-2:][1] for p in fs.find("callcanon-calls/staging")) == ["manifest.json.sealed"] * 2
    assert not (tmp_path / "nowhere").exists() and not list((tmp_path / "w1").rglob("*.duckdb"))

    # Who ran what, from the materializations in PostgreSQL.
    os.environ["DAGSTER_PG_URL"] = postgres
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert {r.status for r in instance.get_runs()} == {dg.DagsterRunStatus.SUCCESS}
            ran_on = {}
            for key in (["staged", "transcripts"], ["staged", "redacted_audio"], ["casework", "transcripts"]):
                records = instance.fetch_materializations(dg.AssetKey(key), limit=10).records
                ran_on[key[-1] if key[0] == "staged" else "loader"] = {
                    r.asset_materialization.metadata["worker"].value for r in records}
                assert len(records) == 2, key
    finally:
        del os.environ["DAGSTER_PG_URL"]
    assert ran_on["transcripts"] | ran_on["redacted_audio"] <= {"transcriber-1", "transcriber-2"}, ran_on
    assert ran_on["loader"] == {"warehouse-host"}, ran_on
    print("steps ran on", ran_on)
