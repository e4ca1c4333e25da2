"""Segments, words and speaker turns: who said what, when. Two-channel calls get each word's
speaker from its channel; mono calls from diarization (`speakers_for_mono`, `diarization`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


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


def speakers_for_mono(segments: list[Segment], samples=None, first_speaker: str = "staff") -> list[Segment]:
    """A mono call's speakers from its audio (`diarization`): staff and caller turns, the one who
    speaks first being `first_speaker`. Without the audio the speakers stay unknown."""
    if samples is None:
        return segments
    from assets.transcription import diarization

    other = "caller" if first_speaker == "staff" else "staff"
    return diarization.label_words(samples, segments, (first_speaker, other))


SPLIT_GAP_S = 3.0


def to_channel(seg: Segment, offset: float, roles: tuple[str, str]) -> Segment:
    """Map a segment of the two-channel concatenation back to its channel's clock and speaker."""
    def moved(start: float, end: float) -> tuple[float, float, str]:
        second = start >= offset - SPLIT_GAP_S / 2
        shift = offset if second else 0.0
        return max(0.0, start - shift), max(0.0, end - shift), roles[1] if second else roles[0]

    words = tuple(replace(w, start_s=a, end_s=b, speaker=who)
                  for w in seg.words for a, b, who in [moved(w.start_s, w.end_s)])
    start, end, speaker = moved(seg.start_s, seg.end_s)
    return replace(seg, start_s=start, end_s=end, speaker=words[0].speaker if words else speaker, words=words)
