"""Automation as the data team relies on it: schedules that are on from the start, a nightly
catch-up of yesterday's calls, freshness deadlines on the marts, and retries only for failures
that go away by themselves."""


from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from pipelines import retries


def test_daily_schedules_are_on_and_the_catch_up_asks_for_yesterday(data_env, dbt_manifest):
    from pipelines.definitions import defs
    from pipelines.defs.jobs import transcription_catch_up

    d = defs()
    names = {s.name for s in d.schedules}
    assert names == {"transcription_catch_up", "retention_schedule", "finish_erasure_schedule", "marts_schedule",
                     "theme_refit_schedule", "evidence_pack_schedule", "audit_retention_schedule"}
    for name in names:
        assert d.resolve_schedule_def(name).default_status == dg.DefaultScheduleStatus.RUNNING, name
    tick = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/London"))  # the night the clocks change
    request = transcription_catch_up(dg.build_schedule_context(scheduled_execution_time=tick))
    assert request.partition_key == "2026-03-28"
    assert request.run_key == "catch-up:2026-03-28"  # a second tick for the same night starts nothing new
    assert request.tags["callcanon/trigger"] == "transcription_catch_up"


def test_the_marts_have_a_morning_freshness_deadline(data_env, dbt_manifest):
    from pipelines.definitions import defs

    graph = defs().resolve_asset_graph()
    for key in (["marts", "theme_trends"], ["marts", "theme_weekly"]):
        policy = graph.get(dg.AssetKey(key)).freshness_policy
        assert policy is not None and policy.deadline_cron == "0 8 * * *", key
        assert policy.timezone == "Europe/London"


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(retries, "BASE_DELAY_S", 0.05)


def _flaky_asset(error: Exception, failures: int):
    attempts = []

    @dg.asset
    @retries.retry_transient
    def flaky(context: dg.AssetExecutionContext) -> int:
        attempts.append(context.retry_number)
        if len(attempts) <= failures:
            raise error
        return len(attempts)

    return flaky, attempts


def test_a_locked_warehouse_is_retried_with_backoff_until_it_frees(fast_retries):
    flaky, attempts = _flaky_asset(duckdb.IOException("Could not set lock on file"), failures=2)
    result = dg.materialize([flaky])
    assert result.success and attempts == [0, 1, 2]


def test_a_real_error_fails_at_once_without_retries(fast_retries):
    flaky, attempts = _flaky_asset(ValueError("bad config"), failures=1)
    result = dg.materialize([flaky], raise_on_error=False)
    assert not result.success and attempts == [0]


def test_a_missing_warehouse_folder_is_not_mistaken_for_a_lock(fast_retries):
    # DuckDB reports both as an IOException; only the lock goes away by itself.
    flaky, attempts = _flaky_asset(duckdb.IOException('Cannot open file "/x/w.duckdb": No such file or directory'),
                                   failures=1)
    result = dg.materialize([flaky], raise_on_error=False)
    assert not result.success and attempts == [0]


def test_retries_give_up_after_the_limit(fast_retries):
    flaky, attempts = _flaky_asset(TimeoutError("object store timed out"), failures=99)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([flaky], raise_on_error=False, instance=instance)
        said = [e.user_message for e in instance.all_logs(result.run_id) if "retr" in (e.user_message or "")]
    assert not result.success and len(attempts) == retries.MAX_RETRIES + 1
    assert not any(f"retry {retries.MAX_RETRIES + 1} of" in m for m in said), said
    assert any("giving up" in m for m in said), said


def test_a_pile_of_statements_no_theme_fits_requests_one_refit():
    from pipelines.defs.themes.sensors import CALL_THEMES, REGISTRY, candidate_pile_sensor

    with dg.DagsterInstance.ephemeral() as instance:
        def evaluate():
            return candidate_pile_sensor(dg.build_sensor_context(instance=instance))

        def day(partition: str, candidates: int, statements: int) -> None:
            instance.report_runless_asset_event(dg.AssetMaterialization(
                CALL_THEMES, partition=partition, metadata={"candidates": candidates, "statements": statements}))

        day("2026-03-02", 200, 400)
        assert isinstance(evaluate(), dg.SkipReason)
        day("2026-03-02", 150, 400)  # a re-run of the day replaces its count
        assert isinstance(evaluate(), dg.SkipReason)
        day("2026-03-03", 160, 4000)  # 310 of 4400: a trickle at scale is no reason to refit
        assert isinstance(evaluate(), dg.SkipReason)
        day("2026-03-03", 160, 400)
        request = evaluate()
        assert isinstance(request, dg.RunRequest) and request.tags["callcanon/trigger"] == "candidate_pile_sensor"
        assert evaluate().run_key == request.run_key  # the same pile asks once
        instance.report_runless_asset_event(dg.AssetMaterialization(REGISTRY))  # the refit ran
        assert isinstance(evaluate(), dg.SkipReason)


@pytest.mark.e2e  # a real dbt build, twice
def test_a_marts_build_that_finds_the_warehouse_locked_waits_for_it(tmp_path, monkeypatch, dbt_manifest):
    """An operator's command holding the warehouse while the marts build starts: dbt cannot take
    the lock, the step is retried, and the build succeeds once the command is done."""
    import subprocess
    import sys
    from datetime import date

    from assets import warehouse
    from assets.synthetic import theme_assignments
    from pipelines.definitions import defs

    monkeypatch.setattr(retries, "BASE_DELAY_S", 3.0)
    db = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("CALLCANON_WAREHOUSE", str(db))
    monkeypatch.setenv("CALLCANON_ANALYTICS", str(tmp_path / "analytics.duckdb"))
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        theme_assignments.add_topics(conn, 2)
        theme_assignments.write_calls(conn, 0, 40, first=date(2026, 3, 2), per_day=10, themes=2, text_words=3)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(5)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with dg.DagsterInstance.ephemeral() as instance:
            result = defs().resolve_job_def("build_marts").execute_in_process(instance=instance, raise_on_error=False)
            said = [e.user_message for e in instance.all_logs(result.run_id) if "retry" in (e.user_message or "")]
    finally:
        holder.wait(timeout=60)
    assert result.success and any("retry 1 of 3" in m for m in said), said
    assert (tmp_path / "analytics.duckdb").exists()
