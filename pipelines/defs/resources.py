"""Resources shared by every stage: the warehouse, file locations, models and the key."""

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import keys, pii, warehouse
from assets import transcription as transcribe
from assets.access import audit
from assets.audio.vault import AudioVault
from assets.ingest import landing
from assets.policy import Policy, load_policy
from assets.settings import Settings
from assets.staging import Staging
from assets.themes.taxonomy import Taxonomy, load_taxonomy


class CallStore(dg.ConfigurableResource):
    """Where calls arrive (landing), live (store) and wait when broken (quarantine)."""

    landing_dir: str
    store_dir: str
    quarantine_dir: str
    redacted_dir: str
    staging_dir: str
    sidecar_grace_s: float = landing.DEFAULT_SIDECAR_GRACE_S
    max_sidecar_bytes: int = landing.Limits.max_sidecar_bytes
    max_audio_bytes: int = landing.Limits.max_audio_bytes
    future_tolerance_days: int = 1

    def limits(self, first_call_date) -> landing.Limits:
        """What the landing zone accepts today (the first call date is the partition set's)."""
        return landing.Limits.today(self.max_sidecar_bytes, self.max_audio_bytes, first_call_date,
                                    self.future_tolerance_days)


class WhisperSettings(dg.ConfigurableResource):
    """Transcription settings: `WhisperConfig`'s measured defaults, overridden per deployment by
    the CALLCANON_WHISPER_* settings or in the resource config."""

    model: str = transcribe.WhisperConfig.model
    device: str = transcribe.WhisperConfig.device
    compute_type: str = transcribe.WhisperConfig.compute_type
    beam_size: int = transcribe.WhisperConfig.beam_size
    batch_size: int = transcribe.WhisperConfig.batch_size
    mono_batch_size: int = transcribe.WhisperConfig.mono_batch_size
    workers: int = transcribe.WhisperConfig.workers
    chunk_s: int = transcribe.WhisperConfig.chunk_s
    two_channel_chunk_s: int = transcribe.WhisperConfig.two_channel_chunk_s
    timestamps: bool = transcribe.WhisperConfig.timestamps
    max_call_minutes: float = transcribe.WhisperConfig.max_call_minutes
    diarize_mono: bool = transcribe.WhisperConfig.diarize_mono

    @classmethod
    def from_settings(cls, s: Settings) -> "WhisperSettings":
        given = {"model": s.whisper_model, "device": s.whisper_device, "batch_size": s.whisper_batch_size,
                 "chunk_s": s.whisper_chunk_s, "two_channel_chunk_s": s.whisper_two_channel_chunk_s,
                 "max_call_minutes": s.max_call_minutes, "diarize_mono": s.diarize_mono,
                 "mono_batch_size": s.whisper_mono_batch_size, "workers": s.whisper_workers}
        return cls(**{k: v for k, v in given.items() if v is not None})

    def config(self) -> transcribe.WhisperConfig:
        return transcribe.WhisperConfig(
            model=self.model, device=self.device, compute_type=self.compute_type,
            beam_size=self.beam_size, batch_size=self.batch_size, mono_batch_size=self.mono_batch_size,
            workers=self.workers,
            chunk_s=self.chunk_s,
            two_channel_chunk_s=self.two_channel_chunk_s, timestamps=self.timestamps,
            max_call_minutes=self.max_call_minutes, diarize_mono=self.diarize_mono,
        )


class Warehouse(DuckDBResource):
    """dagster-duckdb's resource, closing its connection when the step fails too: upstream
    closes only on success, so a failed step left the file open in this process (and every later
    connection with other settings, such as a read-only one, was refused). A fresh deployment's
    first run creates the warehouse's folder: a missing folder is not worth upstream's retries."""

    @contextmanager
    def get_connection(self):
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        conn = super().get_connection().__enter__()  # upstream's retrying connect
        try:
            if self.connection_config.get("access_mode", "").upper() != "READ_ONLY":
                warehouse.ensure_schema(conn)  # one query once the warehouse is current
            yield conn
        finally:
            conn.close()


@lru_cache(maxsize=2)
def _pseudonymiser(key: bytes) -> pii.Pseudonymiser:
    return pii.Pseudonymiser(key)


class PseudonymKey(dg.ConfigurableResource):
    """The HMAC key, read from the environment or a key file at run time, never from config
    (Dagster would show config in the UI and store it in the run history)."""

    def pseudonymiser(self) -> pii.Pseudonymiser:
        return _pseudonymiser(keys.load_key())

    def audit_key(self) -> bytes:
        return audit.chain_key(keys.load_key())

    def record_processing(self, conn, context: dg.AssetExecutionContext, calls: int, stage: str | None = None) -> None:
        """Audit a stage's own use of personal data: the asset, the call date, how many calls."""
        audit.record_processing(conn, self.audit_key(), stage=stage or context.asset_key.to_user_string(),
                                scope=context.partition_key, calls=calls, run_id=context.run_id)


class AudioKey(dg.ConfigurableResource):
    """The audio store's key (`assets.keys.AUDIO`), read at run time like the pseudonym key."""

    def vault(self) -> AudioVault:
        return AudioVault.from_keys()

    def staging(self, call_store: CallStore) -> Staging:
        """The staging prefix, sealed under this key (`assets.staging`)."""
        return Staging(call_store.staging_dir, self.vault())


class PolicyProfile(dg.ConfigurableResource):
    profile: str

    def load(self) -> Policy:
        return load_policy(self.profile)


class ThemeTaxonomy(dg.ConfigurableResource):
    """The themes analysts name (`assets.themes.taxonomy`) and the policy's publishable size,
    which is also how many calls make a new issue a provisional theme."""
    policy: str
    path: str | None = None

    def load(self) -> Taxonomy:
        return load_taxonomy(self.policy, self.path)

    def suppress_below(self) -> int:
        return load_policy(self.policy).suppress_below


class AnalyticsCopy(dg.ConfigurableResource):
    """Where the analytics copy is published (`CALLCANON_ANALYTICS`) and the group that may read
    it (`CALLCANON_ANALYTICS_GROUP`; none: owner only, like every other file)."""
    path: str
    group: str | None = None


def _executor(s: Settings) -> dg.ExecutorDefinition | None:
    """Where steps run past one machine (deploy/README.md). Celery: every step on a worker, the
    queue per `pipelines.partitions.WORKER_QUEUE`; the broker's URL, which may hold a password, read
    from the environment when a run starts. Kubernetes: a Job per step, with the pod settings of
    the file CALLCANON_K8S_EXECUTOR_CONFIG names (deploy/k8s/executor.yaml)."""
    if s.executor == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {"broker": {"env": "CALLCANON_CELERY_BROKER"}, "backend": {"env": "CALLCANON_CELERY_BACKEND"},
             # As deploy/celery/worker.yaml: a task unacknowledged this long is handed on (Redis).
             "config_source": {"broker_transport_options": {
                 "visibility_timeout": 43200, "max_retries": 3, "interval_start": 0, "interval_step": 0.2,
                 "interval_max": 0.5}}},
            name="celery")
    if s.executor == "k8s":
        import yaml
        from dagster_k8s import k8s_job_executor

        if not s.k8s_executor_config:
            raise ValueError("CALLCANON_EXECUTOR=k8s needs CALLCANON_K8S_EXECUTOR_CONFIG (deploy/k8s/executor.yaml)")
        return k8s_job_executor.configured(yaml.safe_load(s.k8s_executor_config.read_text()), name="k8s")
    return None


@dg.definitions
def resources() -> dg.Definitions:
    """Every value from the one `Settings`, read when Dagster loads the definitions."""
    s = Settings.from_env()
    # Not loaded here: a bad taxonomy file fails the theme stages with its reason, never the code
    # location that retention and erasure run from (`callcanon run` checks it before any work).
    taxonomy = ThemeTaxonomy(policy=s.policy, path=str(s.theme_taxonomy) if s.theme_taxonomy else None)
    return dg.Definitions(
        executor=_executor(s),
        resources={
            "warehouse": Warehouse(database=str(s.warehouse_path)),
            "call_store": CallStore(landing_dir=str(s.landing_dir), store_dir=str(s.store_dir),
                                    quarantine_dir=str(s.quarantine_dir), redacted_dir=str(s.redacted_dir),
                                    staging_dir=str(s.staging_dir),
                                    sidecar_grace_s=s.sidecar_grace_s, max_sidecar_bytes=s.max_sidecar_bytes,
                                    max_audio_bytes=s.max_audio_bytes, future_tolerance_days=s.future_tolerance_days),
            "whisper": WhisperSettings.from_settings(s),
            "pseudonym_key": PseudonymKey(),
            "audio_key": AudioKey(),
            "policy": PolicyProfile(profile=s.policy),
            "taxonomy": taxonomy,
            "analytics_copy_target": AnalyticsCopy(path=str(s.analytics_path), group=s.analytics_group),
        }
    )
