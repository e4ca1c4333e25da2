"""A real telephone-band recording for tests and benchmarks, written by nobody here.

The pyannote-audio 4.0.7 wheel ships `sample.wav` (30 s, 16 kHz mono, two people who say their
names and home towns), its reference transcript (`sample.stm`) and speaker turns (`sample.rttm`).
Only that wheel is fetched from the package index, without its dependencies, checked against its
hash, and the three files are kept in the user's cache; nothing is imported from it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

WHEEL = "pyannote-audio==4.0.7"
WHEEL_SHA256 = "852ea15c4d85bc34773e618267603ffca6a521669a74d33742692cc67fc700d6"
FILES = ("sample.wav", "sample.stm", "sample.rttm")


class Unavailable(RuntimeError):
    """The recording is not cached and the package index could not be reached."""


@dataclass(frozen=True)
class Turn:
    speaker: str
    start_s: float
    end_s: float
    text: str = ""


@dataclass(frozen=True)
class Recording:
    wav: Path
    transcript: list[Turn]  # from the STM: who said what
    turns: list[Turn]  # from the RTTM: who spoke when

    @property
    def reference_text(self) -> str:
        return " ".join(t.text for t in self.transcript)


def cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "callcanon" / "samples" / WHEEL.replace("==", "-")


def fetch(timeout_s: int = 180) -> Recording:
    folder = cache_dir()
    if not all((folder / f).is_file() for f in FILES):
        _download(folder, timeout_s)
    return load(folder)


def _download(folder: Path, timeout_s: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(f"{WHEEL} --hash=sha256:{WHEEL_SHA256}\n")
        try:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
                            "--only-binary=:all:", "-d", tmp, "-r", str(req)],
                           check=True, capture_output=True, timeout=timeout_s)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            said = (getattr(exc, "stderr", None) or b"")[-300:]
            raise Unavailable(f"could not download {WHEEL}: {said!r}") from exc
        wheel = next(Path(tmp).glob("*.whl"))
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            for name in FILES:
                target = folder / name
                partial = target.with_suffix(".part")
                partial.write_bytes(z.read(f"pyannote/audio/sample/{name}"))
                partial.replace(target)


def load(folder: Path) -> Recording:
    transcript = []
    for line in (folder / "sample.stm").read_text().splitlines():
        _, _, speaker, start, end, text = line.split(maxsplit=5)
        transcript.append(Turn(speaker, float(start), float(end), text))
    turns = []
    for line in (folder / "sample.rttm").read_text().splitlines():
        parts = line.split()
        turns.append(Turn(parts[7], float(parts[3]), float(parts[3]) + float(parts[4])))
    return Recording(folder / "sample.wav", transcript, turns)


def diarization_error(reference: list[Turn], hypothesis: list[Turn], collar_s: float = 0.25,
                      step_s: float = 0.01) -> float:
    """Diarization error rate: missed speech, false alarm and confusion over the reference's
    speech time, frame by frame, after mapping each hypothesis speaker to the reference speaker
    it overlaps most (two speakers each side, so the greedy mapping is the optimal one). Frames
    within `collar_s` of a reference boundary are not scored, as is usual."""
    end = max([t.end_s for t in reference] + [t.end_s for t in hypothesis] + [0.0])
    n = int(end / step_s) + 1

    def frames(turns: list[Turn]) -> list[set[str]]:
        out: list[set[str]] = [set() for _ in range(n)]
        for t in turns:
            for i in range(int(t.start_s / step_s), min(n, int(t.end_s / step_s))):
                out[i].add(t.speaker)
        return out

    ref, hyp = frames(reference), frames(hypothesis)
    skip = set()
    for t in reference:
        for edge in (t.start_s, t.end_s):
            skip.update(range(max(0, int((edge - collar_s) / step_s)), min(n, int((edge + collar_s) / step_s))))
    overlap: dict[tuple[str, str], int] = {}
    for i in range(n):
        for h in hyp[i]:
            for r in ref[i]:
                overlap[(h, r)] = overlap.get((h, r), 0) + 1
    mapping: dict[str, str] = {}
    for (h, r), _ in sorted(overlap.items(), key=lambda kv: -kv[1]):
        if h not in mapping and r not in mapping.values():
            mapping[h] = r
    speech = errors = 0
    for i in range(n):
        if i in skip:
            continue
        r, h = ref[i], {mapping.get(x, f"?{x}") for x in hyp[i]}
        speech += len(r)
        errors += max(len(r), len(h)) - len(r & h)
    return errors / speech if speech else 0.0
