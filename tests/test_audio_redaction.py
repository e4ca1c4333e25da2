"""Audio redaction: identifiers toned out using word timings; re-transcribing the copy finds
none of them, while what the call was about is still heard."""

from __future__ import annotations

import io
import re

from assets import pii
from assets.audio import redaction as audio_redaction
from assets.pii.spoken import NUMBER_RUN, spoken_to_digits
from assets.synthetic import demo_calls as demo_data
from assets.transcription.whisper import WhisperConfig, transcribe_audio

TURNS = [
    ("staff", "Hello, complaints line. Can I take your name?"),
    ("caller", "My name is Mary Jones."),  # a name tiny.en hears at 8 s and 10 s chunks alike
    ("staff", "And your NHS number?"),
    ("caller", "It is 9 4 3, 4 7 6, 5 9 1 9."),
    ("caller", "I waited all night for pain relief on the ward."),
]


def _words(t):
    return [audio_redaction.TimedWord(w.start_s, w.end_s, w.word) for s in t.segments for w in s.words]


def test_redacted_copy_holds_no_identifier_but_keeps_the_complaint(tmp_path):
    tracks = demo_data.render_tracks(TURNS)
    src = demo_data.write_audio(tracks, tmp_path / "call", "wav", 16000, stereo=True)
    config = WhisperConfig()
    roles = {"0": "staff", "1": "caller"}
    before = transcribe_audio(src, config, roles)
    assert "Mary" in before.text and "Jones" in before.text
    pseudonymiser = pii.Pseudonymiser(bytes(range(32)))
    intervals = audio_redaction.identifier_intervals(before.text, _words(before), pseudonymiser.find(before.text))
    assert len(intervals) >= 2
    wav, seconds = audio_redaction.redacted_wav(src, intervals)
    assert 1.0 < seconds < before.duration_s / 2
    dest = io.BytesIO(wav)
    after = transcribe_audio(dest, config, roles)
    text = after.text
    assert not re.search(r"\b(mary|jones)\b", text, re.IGNORECASE), text
    digits = "".join(spoken_to_digits(m.group())[0] for m in NUMBER_RUN.finditer(text))
    assert "9434765919"[:5] not in digits and "5919" not in digits, text
    assert "pain relief" in text.lower()
    # Same shape as the original: channels kept, length kept.
    info = __import__("assets.audio.decoding", fromlist=["probe"]).probe(dest)
    assert info.channels == 2 and abs(info.duration_s - before.duration_s) < 0.5


def test_intervals_are_padded_and_merged():
    words = [audio_redaction.TimedWord(1.0, 1.4, "Sarah"), audio_redaction.TimedWord(1.5, 1.9, "Jones"),
             audio_redaction.TimedWord(3.0, 3.5, "pain")]
    text = "Sarah Jones pain"
    entity = pii.Entity("PERSON", 0, 11, 0.9)
    assert audio_redaction.identifier_intervals(text, words, [entity]) == [(0.75, 2.15)]
