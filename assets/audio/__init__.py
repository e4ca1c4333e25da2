"""Call audio: decoding any landed format (`decoding`), sealing it at rest (`vault`), and redacted
copies with identifiers toned out (`redaction`)."""

from assets.audio.decoding import (  # noqa: F401 - the stage's public face
    DEFAULT_MAX_CALL_MINUTES,
    SAMPLE_RATE,
    AudioProblem,
    Source,
    decode,
    probe,
)
