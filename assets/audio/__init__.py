"""Call audio: decoding any landed format (`decoding`), sealing it at rest (`vault`), and redacted
copies with identifiers toned out (`redaction`)."""

from assets.audio.decoding import (  # noqa: F401 - the stage's public face
    AudioProblem,
    DEFAULT_MAX_CALL_MINUTES,
    SAMPLE_RATE,
    Source,
    decode,
    probe,
)
