"""Resources shared by every stage: the warehouse, file locations, models and the key."""

from functools import lru_cache

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets import keys, pii, transcribe
from assets.policy import Policy, load_policy


class CallStore(dg.ConfigurableResource):
    """Where calls arrive (landing), live (store) and wait when broken (quarantine)."""

    landing_dir: str
    store_dir: str
    quarantine_dir: str


class WhisperSettings(dg.ConfigurableResource):
    """Which faster-whisper model to use; the default is the packaged tiny.en."""

    model: str = transcribe.PACKAGED_TINY_EN
    compute_type: str = "int8"


@lru_cache(maxsize=2)
def _pseudonymiser(key: bytes) -> pii.Pseudonymiser:
    return pii.Pseudonymiser(key)


class PseudonymKey(dg.ConfigurableResource):
    """The HMAC key, read from the environment or a key file at run time, never from config
    (Dagster would show config in the UI and store it in the run history)."""

    def pseudonymiser(self) -> pii.Pseudonymiser:
        return _pseudonymiser(keys.load_key())


class PolicyProfile(dg.ConfigurableResource):
    profile: str

    def load(self) -> Policy:
        return load_policy(self.profile)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": DuckDBResource(database=dg.EnvVar("CALLCANON_WAREHOUSE")),
            "call_store": CallStore(
                landing_dir=dg.EnvVar("CALLCANON_LANDING"),
                store_dir=dg.EnvVar("CALLCANON_AUDIO_STORE"),
                quarantine_dir=dg.EnvVar("CALLCANON_QUARANTINE"),
            ),
            "whisper": WhisperSettings(),
            "pseudonym_key": PseudonymKey(),
            "policy": PolicyProfile(profile=dg.EnvVar("CALLCANON_POLICY")),
        }
    )
