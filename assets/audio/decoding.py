"""Reading call audio: probe, decode, and refuse what cannot be a usable recording.

Decoding is PyAV's (FFmpeg), through faster-whisper's `decode_audio`, so WAV (PCM, 8 kHz μ-law,
A-law), MP3, OGG/Opus, FLAC and M4A at any sample rate all work. Each refusal carries a reason
code for the quarantine table and a detail a person can act on, never the audio's content.
"""

from __future__ import annotations

import gc
import io
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

SAMPLE_RATE = 16000  # what Whisper models take
SILENCE_PEAK = 10 ** (-60 / 20)  # -60 dBFS: quieter than any line noise
DEFAULT_MAX_CALL_MINUTES = 90


class AudioProblem(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class AudioInfo:
    duration_s: float | None  # as declared by the container; None when it does not say
    channels: int
    sample_rate: int
    codec: str
    container: str


Source = Path | BinaryIO  # a plaintext file (landing, tests) or audio unsealed in memory


def _opened(source: Source):
    """What PyAV and faster-whisper open: a path string, or the stream rewound."""
    if isinstance(source, Path):
        return str(source)
    source.seek(0)
    return source


def _size(source: Source) -> int | None:
    if isinstance(source, Path):
        return source.stat().st_size if source.exists() else None
    return source.seek(0, io.SEEK_END)  # a stream's size; `_opened` rewinds before reading


def probe(source: Source, max_call_s: float = DEFAULT_MAX_CALL_MINUTES * 60) -> AudioInfo:
    """Look at the container without decoding it: cheap refusals first."""
    size = _size(source)
    if size is None:
        raise AudioProblem("missing_audio", "audio file missing from the store")
    if size == 0:
        raise AudioProblem("empty_file", "the audio file has zero bytes")
    try:
        with av.open(_opened(source)) as container:
            if not container.streams.audio:
                raise AudioProblem("no_audio_stream", "the file holds no audio stream")
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            else:
                duration = None
            info = AudioInfo(duration, stream.codec_context.channels, stream.codec_context.sample_rate,
                             stream.codec_context.name, container.format.name)
    except av.error.FFmpegError as exc:
        raise AudioProblem("undecodable_audio", f"not a readable audio file ({type(exc).__name__})") from exc
    if info.duration_s is not None and info.duration_s > max_call_s:
        raise AudioProblem(
            "too_long",
            f"{info.duration_s / 3600:.2f} h exceeds the {max_call_s / 3600:.2f} h limit "
            "(raise CALLCANON_MAX_CALL_MINUTES to accept it)",
        )
    return info


_freezing = threading.Lock()
_decoding = 0


@contextmanager
def _heap_frozen():
    """`gc.freeze()` for as long as any thread decodes: freeze and unfreeze act on the whole
    process, so with calls decoded side by side one thread's unfreeze would otherwise undo the
    other's freeze in the middle of its decode."""
    global _decoding
    with _freezing:
        if not _decoding:
            gc.freeze()
        _decoding += 1
    try:
        yield
    finally:
        with _freezing:
            _decoding -= 1
            if not _decoding:
                gc.unfreeze()


def decode(source: Source, info: AudioInfo, split_channels: bool) -> list[np.ndarray]:
    """16 kHz float32 mono arrays: one per channel when asked and the file is stereo.

    faster-whisper's decoder ends with a full `gc.collect()` (PyAV's resampler leaves cycles).
    In a process that has loaded the models, Presidio and Dagster that scans every object: 0.27 s
    a call, measured, about a tenth of a call's transcription on 2 cores. Objects alive before the
    decode are frozen out of that collection, so it scans only what the decode made."""
    from faster_whisper.audio import decode_audio

    try:
        with _heap_frozen():
            if split_channels and info.channels == 2:
                left, right = decode_audio(_opened(source), sampling_rate=SAMPLE_RATE, split_stereo=True)
                channels = [left, right]
            else:
                channels = [decode_audio(_opened(source), sampling_rate=SAMPLE_RATE)]
    except (av.error.FFmpegError, ValueError) as exc:
        raise AudioProblem("undecodable_audio", f"decoding failed ({type(exc).__name__})") from exc
    _check(channels, info)
    return channels


def _check(channels: list[np.ndarray], info: AudioInfo) -> None:
    decoded_s = len(channels[0]) / SAMPLE_RATE
    if decoded_s == 0:
        raise AudioProblem("zero_length", "the file decodes to no samples")
    if info.duration_s and decoded_s < 0.9 * info.duration_s - 0.5:
        raise AudioProblem(
            "truncated_audio",
            f"the header declares {info.duration_s:.1f} s but only {decoded_s:.1f} s decode",
        )
    if max(float(np.abs(c).max()) for c in channels) < SILENCE_PEAK:
        raise AudioProblem("silent_audio", "no signal above -60 dBFS")
