"""A copy of a call's audio with every identifier silenced or toned out, for uses that need the
voice but not the identity (training, quality review).

The identifiers are the pseudonymiser's findings on the personal transcript; word timestamps
from transcription turn their character spans into time spans, padded so a clipped syllable
cannot give a digit away.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assets import audio, locations, storage
from assets.audio import vault as audio_vault

PAD_S = 0.25
TONE_HZ = 1000.0


@dataclass(frozen=True)
class TimedWord:
    start_s: float
    end_s: float
    word: str


def identifier_intervals(text: str, words: list[TimedWord], entities,
                         pad_s: float = PAD_S) -> list[tuple[float, float]]:
    """Time spans (merged, padded) of the words that overlap any entity's character span.
    Words are located in the text in order, so repeated words map to the right occurrence."""
    spans, pos = [], 0
    for w in words:
        token = w.word.strip()
        if not token:
            continue
        i = text.find(token, pos)
        if i < 0:
            continue
        spans.append((i, i + len(token), w))
        pos = i + len(token)
    hits = sorted(
        (max(0.0, w.start_s - pad_s), w.end_s + pad_s)
        for s, e, w in spans if any(s < ent.end and e > ent.start for ent in entities)
    )
    merged: list[tuple[float, float]] = []
    for start, end in hits:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def redacted_wav(source: audio.Source, intervals: list[tuple[float, float]], mode: str = "tone") -> tuple[bytes, float]:
    """A 16 kHz PCM WAV copy of `source` (channels kept) with `intervals` replaced by a quiet
    tone (audibly "something was removed") or silence, in memory: the voice is still personal
    data, so the caller seals it. Returns (wav bytes, seconds redacted)."""
    info = audio.probe(source, max_call_s=float("inf"))
    channels = audio.decode(source, info, split_channels=info.channels == 2)
    data = np.stack(channels)
    rate = audio.SAMPLE_RATE
    redacted = 0.0
    for start, end in intervals:
        a, b = int(start * rate), min(data.shape[1], int(end * rate))
        if b <= a:
            continue
        t = np.arange(b - a) / rate
        data[:, a:b] = 0.1 * np.sin(2 * np.pi * TONE_HZ * t) if mode == "tone" else 0.0
        redacted += (b - a) / rate
    pcm = (np.clip(data, -1, 1) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(pcm.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.T.tobytes())
    return out.getvalue(), redacted


def redact_call(call_id: str, call_date, text: str, words: list[TimedWord], audio_path: str, detector,
                vault: audio_vault.AudioVault, out_root: Path, mode: str = "tone") -> dict:
    """A redacted copy of one call, sealed like the original, written whole (`*.partial`, then
    renamed) under `out_root/<date>/`; returns its `casework.redacted_audio` row. Needs no
    warehouse: a transcription worker runs it on the transcript it just staged (`assets.staging`).
    Raises `audio.AudioProblem` for a seal broken since transcription."""
    intervals = identifier_intervals(text, words, detector.find(text))
    wav, seconds = redacted_wav(vault.open(locations.location(audio_path), call_id), intervals, mode)
    dest = out_root / str(call_date) / audio_vault.sealed_name(f"{call_id}.wav")
    with storage.writing("redacted audio folder", dest.parent):
        vault.seal_bytes(wav, dest, call_id)
    return dict(call_id=call_id, call_date=call_date, path=str(dest), spans=len(intervals), seconds_redacted=seconds)
