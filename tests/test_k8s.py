"""deploy/k8s on paper, but checked (issue 23): every manifest, and the Job that dagster-k8s's
executor would launch for each step of `process_calls`, rendered with dagster-k8s's own code and
validated against the Kubernetes schemas (kubernetes-validate). Transcription and redaction
pods go anywhere with the audio key alone; every other step is pinned to the warehouse node."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).resolve().parent.parent / "deploy" / "k8s"
VERSION = "1.33"
WORKER_STEPS = ("staged__transcripts", "staged__redacted_audio")


def _validate(doc: dict) -> None:
    kubernetes_validate.validate(doc, VERSION, strict=True)


@pytest.mark.parametrize("doc", list(yaml.safe_load_all((K8S / "manifests.yaml").read_text())),
                         ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_each_manifest_validates_against_the_kubernetes_schema(doc):
    _validate(doc)


def _step_job(step: str, executor_config: dict) -> dict:
    """The Job dagster-k8s's executor builds for one step, as a plain manifest: its container
    context made and merged as `k8s_job_executor` and its step handler do."""
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import DagsterK8sJobConfig, UserDefinedDagsterK8sConfig, construct_dagster_k8s_job
    from kubernetes.client import ApiClient

    context = K8sContainerContext(
        namespace=executor_config["job_namespace"], env_config_maps=executor_config["env_config_maps"],
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(executor_config["step_k8s_config"]))
    per_step = executor_config["per_step_k8s_config"].get(step)
    if per_step:
        context = context.merge(K8sContainerContext(run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(per_step)))
    job_config = DagsterK8sJobConfig(job_image="registry.example.invalid/callcanon:0.6",
                                     dagster_home="/opt/dagster/dagster_home", instance_config_map="dagster-instance")
    job = construct_dagster_k8s_job(job_config, ["dagster", "api", "execute_step"], f"dagster-step-{step[:20]}",
                                    component="step_worker", user_defined_k8s_config=context.run_k8s_config,
                                    labels={"dagster/job": "process_calls", "dagster/op": step})
    return ApiClient().sanitize_for_serialization(job)


def test_every_step_job_validates_and_only_the_warehouse_steps_are_pinned(data_env, dbt_manifest):
    from dagster._config import validate_config
    from dagster_k8s import k8s_job_executor

    from pipelines.definitions import defs

    config = yaml.safe_load((K8S / "executor.yaml").read_text())
    assert validate_config(k8s_job_executor.config_schema.config_type, config).success
    steps = [n.name for n in defs().resolve_job_def("process_calls").graph.node_defs]
    assert set(WORKER_STEPS) <= set(steps) and set(config["per_step_k8s_config"]) == set(WORKER_STEPS)
    for step in steps:
        job = _step_job(step, config)
        _validate(job)
        pod = job["spec"]["template"]["spec"]
        container = pod["containers"][0]
        secrets = {e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e}
        maps = {e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e}
        assert "callcanon-settings" in maps, step  # every pod reads the same settings
        if step in WORKER_STEPS:  # anywhere; no warehouse volume; no pseudonym key
            assert not pod.get("nodeSelector") and not pod.get("volumes") and not container.get("volumeMounts")
            assert secrets == {"callcanon-audio-key"}, step
            # Calls decoded at once = the cores the pod asks for (a pod sees its node's cores).
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert env.get("CALLCANON_WHISPER_WORKERS") == container["resources"]["requests"]["cpu"], step
        else:
            assert pod["nodeSelector"] == {"callcanon/warehouse": "true"}, step
            assert [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]] == ["callcanon-data"]
            assert secrets == {"callcanon-keys"}, step


def test_a_broken_manifest_is_refused():
    """The check can fail: a Deployment with a misspelt field does not validate."""
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
           "spec": {"selector": {"matchLabels": {"a": "b"}}, "replicas": "two",
                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(bad)


def test_the_settings_choose_the_executor(monkeypatch, tmp_path):
    """CALLCANON_EXECUTOR picks it; `k8s` without its settings file is a clear error at start."""
    from assets.settings import Settings, SettingsError
    from pipelines.defs.resources import _executor

    assert _executor(Settings.from_env()) is None  # multiprocess: Dagster's default
    monkeypatch.setenv("CALLCANON_EXECUTOR", "k8s")
    with pytest.raises(ValueError, match="CALLCANON_K8S_EXECUTOR_CONFIG"):
        _executor(Settings.from_env())
    monkeypatch.setenv("CALLCANON_K8S_EXECUTOR_CONFIG", str(K8S / "executor.yaml"))
    assert _executor(Settings.from_env()).name == "k8s"
    monkeypatch.setenv("CALLCANON_EXECUTOR", "celery")
    assert _executor(Settings.from_env()).name == "celery"
    monkeypatch.setenv("CALLCANON_EXECUTOR", "threads")
    with pytest.raises(SettingsError, match="CALLCANON_EXECUTOR"):
        Settings.from_env()
