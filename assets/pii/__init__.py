"""Finding and pseudonymising identifiers in call text: the Presidio analyser with UK and
conversational recognisers, keyed tokens, places kept to region."""

from assets.pii.pseudonymiser import (  # noqa: F401 - the stage's public face
    TOKEN,
    Entity,
    Pseudonymiser,
)
