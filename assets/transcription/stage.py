"""The transcription stage's reads and writes: which calls of a date still need a transcript,
transcribing them with no warehouse connection open, and writing the results in one transaction."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace

from assets import audio, locations, warehouse
from assets.sealed_text import TRANSCRIPT, segment_place, word_place
from assets.transcription.whisper import WhisperConfig, model_for, transcribe_audio


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

    def add(self, rows: dict) -> None:
        """One call's rows, as `transcribe_call` made them (here, or staged by a worker)."""
        self.done.append(rows["transcript"]["call_id"])
        self.result.transcribed += 1
        self.result.audio_seconds += rows["duration_s"]
        self.result.elapsed_s += rows["elapsed_s"]  # each call's own time; `transcribe_calls` puts the wall clock
        self.transcripts.append(rows["transcript"])
        self.segments.extend(rows["segments"])
        self.words.extend(rows["words"])

    def add_problem(self, call_id: str, audio_path: str, problem) -> None:
        self.problems.append((call_id, audio_path, problem))
        self.result.quarantined.append((call_id, problem.reason))


def pending_calls(conn, call_date) -> list[tuple]:
    """The calls of one date whose audio is still held (a short read: no model runs here)."""
    return conn.execute(
        "SELECT c.call_id, c.audio_path, c.audio_sha256, c.channels, t.cache_key, c.direction "
        "FROM casework.calls c LEFT JOIN casework.transcripts t USING (call_id) "
        "WHERE c.call_date = ? AND c.audio_deleted_at IS NULL "
        f"AND c.call_id NOT IN ({warehouse.retired_sql('transcript')}) ORDER BY c.call_id",
        [call_date],
    ).fetchall()


def cache_key(call: tuple, config: WhisperConfig) -> str:
    """What a transcript of this call with these settings is keyed by (audio hash, model, settings)."""
    _, _, sha, channels_json, _, direction = call
    channels = json.loads(channels_json) if channels_json else None
    # On an outbound call the one who answers, and speaks first, is the caller.
    return config.cache_key(sha or "", {**(channels or {}), "outbound": True} if direction == "outbound" else channels)


def transcribe_call(call_date, call: tuple, vault, config: WhisperConfig, seal) -> dict:
    """One call's rows (`transcript`, `segments`, `words`, text sealed cell by cell) with its
    `duration_s` and `elapsed_s`. Raises `audio.AudioProblem` for a recording that cannot be used.
    Needs no warehouse: what a transcription worker runs (`assets.staging`)."""
    call_id, audio_path, _, channels_json, _, direction = call
    channels = json.loads(channels_json) if channels_json else None
    outbound = direction == "outbound"
    key = cache_key(call, config)
    t = transcribe_audio(vault.open(locations.location(audio_path), call_id), config, channels,
                         first_speaker="caller" if outbound else "staff")
    transcript = dict(
        call_id=call_id, call_date=call_date, text=seal(t.text, call_id, TRANSCRIPT), language=t.language,
        duration_s=t.duration_s, model=config.model, cache_key=key, avg_logprob=t.avg_logprob, quality=t.quality,
        speakers=len({s.speaker for s in t.segments}), transcribed_at=warehouse.utcnow())
    segments, words = [], []
    for n, s in enumerate(t.segments):
        segments.append(dict(
            call_id=call_id, seg_idx=n, call_date=call_date, speaker=s.speaker, start_s=s.start_s,
            end_s=s.end_s, text=seal(s.text, call_id, segment_place(n)), avg_logprob=s.avg_logprob,
            no_speech_prob=s.no_speech_prob, compression_ratio=s.compression_ratio))
        words.extend(dict(call_id=call_id, seg_idx=n, word_idx=k, speaker=s.speaker, start_s=w.start_s,
                          end_s=w.end_s, word=seal(w.word, call_id, word_place(n, k)), probability=w.probability)
                     for k, w in enumerate(s.words))
    return dict(transcript=transcript, segments=segments, words=words, duration_s=t.duration_s,
                elapsed_s=t.elapsed_s)


def _rows_or_problem(call_date, call: tuple, vault, config: WhisperConfig, seal) -> dict | audio.AudioProblem:
    try:
        return transcribe_call(call_date, call, vault, config, seal)
    except audio.AudioProblem as problem:
        return problem


def each_transcribed(call_date, calls: list[tuple], vault, config: WhisperConfig,
                     seal) -> Iterator[tuple[tuple, dict | audio.AudioProblem]]:
    """Each call with its rows (or the `AudioProblem` that stopped it) as soon as it is done,
    `config.resolved_workers()` calls at a time on threads of this process (the decoder and the
    audio work release the GIL), so a caller can keep each result at once: a process that dies
    loses only the calls it was on. Anything else raised is raised here."""
    config = replace(config, workers=config.resolved_workers())  # decided once: one model for the run
    at_once = min(config.workers, len(calls))
    if at_once <= 1:
        for call in calls:
            yield call, _rows_or_problem(call_date, call, vault, config, seal)
        return
    model_for(config)  # loaded once, before the threads share it
    pool = ThreadPoolExecutor(at_once, thread_name_prefix="transcribe")
    futures = {pool.submit(_rows_or_problem, call_date, call, vault, config, seal): call for call in calls}
    try:
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        # On a failure (or a consumer that stops) the calls not started are dropped and nothing
        # waits for those in flight: their results are not kept, and a re-run does them again.
        pool.shutdown(wait=False, cancel_futures=True)


def transcribe_calls(call_date, calls: list[tuple], vault, config: WhisperConfig = WhisperConfig(),
                     log=None) -> Transcribed:
    """The expensive part, with no warehouse connection open, so transcription of other dates
    can run in other processes meanwhile (the warehouse file allows one writer process)."""
    out = Transcribed()
    seal = vault.text.seal  # casework text is stored sealed, cell by cell
    todo = [call for call in calls if cache_key(call, config) != call[4]]
    out.result.cached = len(calls) - len(todo)
    started = time.perf_counter()
    for i, (call, rows) in enumerate(each_transcribed(call_date, todo, vault, config, seal), 1):
        if isinstance(rows, audio.AudioProblem):
            out.add_problem(call[0], call[1], rows)
            continue
        out.add(rows)
        out.result.elapsed_s = time.perf_counter() - started  # the wall clock: calls overlap
        if log:
            log(f"transcribed {i}/{len(todo)} calls, {out.result.audio_seconds / 3600:.3f} h audio, "
                f"RTF {out.result.real_time_factor:.3f}")
    return out


def replace_transcribed(conn, out: Transcribed) -> None:
    """The calls' transcripts, segments and words replaced, inside the caller's transaction."""
    if not out.done:
        return
    for table in ("casework.words", "casework.segments", "casework.transcripts"):
        conn.execute(f"DELETE FROM {table} WHERE call_id IN (SELECT unnest(?))", [out.done])
    warehouse.insert_rows(conn, "casework.transcripts", out.transcripts)
    warehouse.insert_rows(conn, "casework.segments", out.segments)
    warehouse.insert_rows(conn, "casework.words", out.words)
    conn.execute("DELETE FROM casework.quarantine WHERE stage = 'transcribe' AND item IN (SELECT unnest(?))",
                 [out.done])


def quarantine_problems(conn, out: Transcribed, stage: str = "transcribe") -> None:
    for call_id, audio_path, problem in out.problems:
        warehouse.record_quarantine(conn, call_id, stage, problem.reason, problem.detail, audio_path)


def write_transcribed(conn, out: Transcribed) -> StageResult:
    """The date's transcripts, segments and words in one transaction; problems quarantined."""
    quarantine_problems(conn, out)
    with warehouse.transaction(conn):
        replace_transcribed(conn, out)
    return out.result


def transcribe_date(conn, call_date, vault, config: WhisperConfig = WhisperConfig(), log=None) -> StageResult:
    """Transcribe the calls of one date whose audio is still held, and write the partition's
    transcripts, segments and words in one transaction. Audio is unsealed by `vault`
    (`assets.audio.vault`) into memory, one call at a time; a broken seal quarantines the call.

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
