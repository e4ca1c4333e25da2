"""Transcription with faster-whisper: the model and its settings, speakers per channel or turn,
and the stage's reads and writes."""

from assets.transcription.stage import (  # noqa: F401 - the stage's public face
    WhisperConfig,
    pending_calls,
    quality_counts,
    transcribe_calls,
    write_transcribed,
)
