"""Transcription with faster-whisper. Rooms: `whisper` (settings, model, decoding, guards),
`turns` (segments, words, speakers), `stage` (the stage's reads and writes), `models` (which
offline model files)."""

from assets.transcription.stage import pending_calls, quality_counts, transcribe_calls, write_transcribed  # noqa: F401
from assets.transcription.whisper import WhisperConfig, transcribe_audio  # noqa: F401
