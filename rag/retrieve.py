"""Hybrid retrieval of evidence sentences.

Three ranked lists are fused by reciprocal rank (RRF, k=60): BM25 over sentences, dense
search over sentences, and dense search over sentence windows (a window's rank is lent to
each of its sentences, so a sentence that needs its neighbours to make sense is still
found). The fused list is then capped per article so that every source gets a voice:
disagreements hide when one article fills the whole top-k.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from index import vectors
from index.embedding import Embedder
from index.store import Store
from rag.types import Hit

RRF_K = 60


@dataclass(frozen=True)
class Retrieval:
    hits: tuple[Hit, ...]
    query_vector: np.ndarray
    max_similarity: float  # best cosine between the query and any sentence or window
    lexical_overlap: float  # share of the query's content tokens found in the top hits


def rrf(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion. `rrf([[1, 2], [2, 3]])[2]` = 1/62 + 1/61."""
    scores: dict[int, float] = defaultdict(float)
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] += 1.0 / (k + rank + 1)
    return dict(scores)


def retrieve(store: Store, embedder: Embedder, query: str, top_k: int = 8, per_article: int = 3, pool: int = 40,
             mode: str = "hybrid") -> Retrieval:
    """Top sentences for `query`. `mode` is `hybrid` (default), `dense` or `bm25`."""
    from index.lexical import tokens

    qv = embedder.embed([query])[0]
    n = len(store.sentences)
    s_scores, s_ids = vectors.search(store.sentence_index, qv[None], min(pool, n))
    dense = [int(i) for i in s_ids[0] if i >= 0]
    c_scores, c_ids = vectors.search(store.chunk_index, qv[None], min(pool, len(store.chunks)))
    window: list[int] = []
    seen: set[int] = set()
    for ci in c_ids[0]:
        if ci < 0:
            continue
        for sid in store.chunks[int(ci)].sentence_ids:
            row = store.sentence_row[sid]
            if row not in seen:
                seen.add(row)
                window.append(row)
    lexical = [i for i, _ in store.bm25.search(query, pool)]
    rankings = {"hybrid": [lexical, dense, window], "dense": [dense, window], "bm25": [lexical]}[mode]
    fused = rrf(rankings)
    order = sorted(fused, key=lambda i: -fused[i])
    per: dict[str, int] = defaultdict(int)
    hits: list[Hit] = []
    for i in order:
        s = store.sentences[i]
        if per[s.article_id] >= per_article:
            continue
        per[s.article_id] += 1
        hits.append(Hit(sentence=s, score=fused[i]))
        if len(hits) >= top_k:
            break
    max_sim = float(max(s_scores[0].max(initial=-1.0), c_scores[0].max(initial=-1.0)))
    q_tokens = set(tokens(query))
    found = set()
    for h in hits:
        found |= q_tokens & set(tokens(h.sentence.text))
    overlap = len(found) / len(q_tokens) if q_tokens else 0.0
    return Retrieval(hits=tuple(hits), query_vector=qv, max_similarity=max_sim, lexical_overlap=overlap)
