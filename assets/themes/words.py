"""The words of themes: seed words that count as evidence for a named theme, and labels a
caseworker can read.

Through 8 kHz telephone audio the recogniser garbles sentences an embedding then misplaces, but
a key word heard right ("prescription", "discharged") still says what a statement is about: the
taxonomy's seed words, weighted by BERTopic's c-TF-IDF, add to the embedding's score. Labels
of themes found in the data are the words that set a cluster apart (c-TF-IDF again), kept only
when they are dictionary words or drug names used as nouns or adjectives: "glasses / hearing
aids", never "salmon / ramen" nor "asked / taken".
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

import numpy as np


def _stem(word: str) -> str:
    for suffix in ("ings", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[:-len(suffix)]
    return word


# Words callers use whatever went wrong: no evidence for one theme, however often a theme's seeds
# say them ("laughed at me when I asked" made "ask" a staff-attitude word, and lost belongings
# "asked for back" went to staff attitude).
NOT_EVIDENCE = frozenset({"ask", "asked", "asking"})

# -ing forms that say nothing about an issue ("trying / looking"), kept out of labels.
EMPTY_ING = frozenset("trying looking coming saying telling doing having being thinking feeling "
                      "wondering seeing leaving taking giving putting".split())


def _stems(text: str) -> list[str]:
    from assets.themes.statements import content_words

    return [_stem(w) for w in content_words(text) if w not in NOT_EVIDENCE]


@lru_cache(maxsize=8)
def seed_words(taxonomy) -> tuple[dict[str, int], np.ndarray]:
    """How much each word says about each named theme: c-TF-IDF (BERTopic's transformer) over
    each theme's name and seeds as one document, each theme's row scaled to a top word of 1.
    A word the recogniser heard right is evidence the embedding of a garbled sentence can miss."""
    from bertopic.vectorizers import ClassTfidfTransformer
    from sklearn.feature_extraction.text import CountVectorizer

    counts = CountVectorizer(analyzer=_stems)
    matrix = counts.fit_transform([" ".join([t.name, *t.seeds]) for t in taxonomy.themes])
    weights = ClassTfidfTransformer().fit_transform(matrix).toarray()
    weights /= weights.max(axis=1, keepdims=True)
    return {w: i for i, w in enumerate(counts.get_feature_names_out())}, weights


def seed_word_scores(texts: list[str], taxonomy) -> np.ndarray:
    """Statements × named themes: the summed weights of each theme's seed words a statement says."""
    vocab, weights = seed_words(taxonomy)
    out = np.zeros((len(texts), len(taxonomy.themes)), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in set(_stems(text)):
            if word in vocab:
                out[row] += weights[:, vocab[word]]
    return out


@lru_cache(maxsize=1)
def readable_words() -> frozenset[str]:
    """Words a label may use: English words in the MiniLM vocabulary and drug names."""
    from assets.pii import keep, rampart

    return rampart.common_words() | keep.drug_names()


def analyzer():
    from assets.themes.statements import content_words

    allowed = readable_words()

    def words_and_pairs(doc: str) -> list[str]:
        tokens = [w if w in allowed and content_words(w) else None for w in re.findall(r"[a-z][a-z']+", doc.lower())]
        words = [w for w in tokens if w]
        # A pair is two readable words said one after the other: "car park", never "car car".
        return words + [f"{a} {b}" for a, b in zip(tokens, tokens[1:]) if a and b and a != b]
    return words_and_pairs


def label(words: list[str], n: int = 3) -> str:
    """The top words as a label, a phrase in place of its own words: "pain relief / waiting"
    rather than "pain / pain relief / relief"."""
    top = words[:n + 1]
    chosen: list[str] = []
    for w in words:
        phrase = next((p for p in top if " " in p and w in p.split()), w)
        if not any(set(phrase.split()) <= set(c.split()) for c in chosen):
            chosen.append(phrase)
    return " / ".join(chosen[:n])


@lru_cache(maxsize=1)
def _tagger():
    import spacy

    from assets.pii.pseudonymiser import SPACY_MODEL

    return spacy.load(SPACY_MODEL, exclude=["ner", "parser", "lemmatizer", "attribute_ruler"])


def nouns_and_adjectives(texts: list[str]) -> frozenset[str]:
    """Words the statements use as nouns, adjectives or -ing forms ("glasses", "lost", "went
    missing", "parking"): what a label is made of; "asked" and "taken" say nothing about the issue."""
    found: Counter = Counter()
    for doc in _tagger().pipe(texts):
        for token in doc:
            found[(token.lower_, token.tag_.startswith(("NN", "JJ", "VBG")))] += 1
    return frozenset(w for (w, noun), n in found.items()
                     if noun and n >= found[(w, False)] and w not in EMPTY_ING)


def top_words(cluster: list[str], background: list[str], n: int = 8, centre: np.ndarray | None = None) -> list[str]:
    """The words that set a cluster of statements apart from the rest (c-TF-IDF, BERTopic's
    own transformer), readable nouns, adjectives and -ing forms only (and pairs that end in one)."""
    from bertopic.vectorizers import ClassTfidfTransformer
    from sklearn.feature_extraction.text import CountVectorizer

    docs = [" ".join(cluster), " ".join(background) or "none"]
    nouns = nouns_and_adjectives(cluster)
    counts = CountVectorizer(analyzer=analyzer(), min_df=1)
    try:
        matrix = counts.fit_transform(docs)
    except ValueError:  # nothing readable
        return []
    scores = ClassTfidfTransformer().fit_transform(matrix).toarray()[0]
    in_cluster = matrix.toarray()[0] >= 2
    vocab = counts.get_feature_names_out()
    order = [i for i in np.argsort(-scores) if in_cluster[i] and scores[i] > 0
             and str(vocab[i]).split()[-1] in nouns]
    return _closest([str(vocab[i]) for i in order[:2 * n]], cluster, centre)[:n]


def _closest(candidates: list[str], cluster: list[str], centre: np.ndarray | None) -> list[str]:
    """The candidate words in order of how close each is to what the statements say together
    (`centre`, their mean embedding, when the caller has it; BERTopic's KeyBERTInspired idea): a
    misheard phrase repeated ("blanket man") can top the counts, but the words nearest the
    statements' meaning name the issue."""
    from assets.themes import model

    if len(candidates) < 2:
        return candidates
    if centre is None:
        centre = model.centroid(model.embed(cluster))
    closeness = model.embed(candidates) @ centre
    return [candidates[i] for i in np.argsort(-closeness, kind="stable")]
