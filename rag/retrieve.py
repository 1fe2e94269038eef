"""Hybrid retrieval of evidence sentences.

Three ranked lists are fused by reciprocal rank (RRF, k=60): BM25 over sentences, dense
search over sentences, and dense search over sentence windows (a window's rank is lent to
each of its sentences, so a sentence that needs its neighbours to make sense is still
found), and, when the question holds the corpus's topic words, a dense search for the rest of
it (its focus, rag/focus.py). The fused list is then capped per article so that every source gets a voice:
disagreements hide when one article fills the whole top-k.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from index.embedding import Embedder
from index.store import Store
from rag.focus import focus_query
from rag.numbers import find_numbers
from rag.types import Hit

RRF_K = 60
TYPE_BONUS = 0.5 / (RRF_K + 1)  # worth about half a first place in one list

_TIME = re.compile(
    r"\b(\d{1,2}([:.]\d\d)?\s*(am|pm|a\.m\.|p\.m\.)|monday|tuesday|wednesday|thursday|friday|saturday|sunday|morning|afternoon|evening|night|dusk|dawn|noon|midnight|january|february|march|april|may|june|july|august|september|october|november|december|\d{4}-\d\d-\d\d"
    # a 24-hour clock ("11:47", "23.15 GMT"), a short month ("Feb. 17", "17 Sept"), a year ("in 1995", not "Aman 2023"),
    # a day said relative to another ("yesterday", "hours later", "the following day")
    r"|\d{1,2}:\d\d|\d{1,2}\.\d\d\s*(?:gmt|utc|hrs|local)|(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)(?=\.?\s*\d)|(?<=\d\s)(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)"
    r"|(?:(?<=in )|(?<=by )|(?<=since )|(?<=until )|(?<=after )|(?<=before )|(?<=during ))(?:19|20)\d\d(?!\d|\.\d)|yesterday|today|tonight|overnight|o'clock|daybreak|sunrise|sunset"
    r"|(?:hours?|minutes?|days?|weeks?)\s+(?:later|after(?:wards)?|before|earlier)|(?:the\s+)?(?:next|following|previous)\s+(?:day|morning|evening|night|week))\b",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|many|hours?)[\s-]*(long\s+)?(seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b|\bhours-long\b",
    re.IGNORECASE,
)
_AGE = re.compile(r"\b\d{1,3}[\s-]*years?[\s-]*old\b|\baged?\s+(?:of\s+)?\d{1,3}\b", re.IGNORECASE)
_PLACE = re.compile(r"\b(?:on|at|near|off|behind|outside|inside|in|along)\s+(?:the\s+)?[A-Z][\w’'-]+")  # a named place
_PERSON = re.compile(
    r"\b(Mr|Mrs|Ms|Dr|DIG|IG|IGP|AIG|Brig|Gen|Col|Inspector|Minister|Governor|Chief|spokesperson|officer|commander)\b|[a-z,]\s[A-Z][a-z]+\s[A-Z][a-z]+"
)


_ASKS = [
    ("age", re.compile(r"\bhow old\b|\bwhat age\b")),
    ("count", re.compile(r"\bhow (?:many|much)\b|(?:^|\b(?:the|a|total|exact|overall|final|official|what|which)\s+)number of\b")),
    ("duration", re.compile(r"\bhow long\b")),
    ("time", re.compile(r"\bwhen\b|\bwhat time\b|\bwhat day\b|\bwhat date\b|\b(?:what|which) (?:year|month)\b")),
    ("place", re.compile(r"\bwhere\b")),
    ("person", re.compile(r"\bwho\b|\bwhose\b")),
    (None, re.compile(r"\b(?:what|which|why|how)\b")),
]


def answer_type(question: str) -> str | None:
    """The kind of answer a question wants: age, count or duration wherever asked, else time, place
    or person by the first wh-word. A later one belongs to a clause ("what was the name of the man who said…
    when his house fell" asks for a name, not a time or a person)."""
    q = question.lower()
    for kind, pattern in _ASKS[:3]:  # "how many", "how old", "how long" ask what they say wherever they are
        if pattern.search(q):
            return kind
    found = [(m.start(), -len(m.group(0)), kind) for kind, pattern in _ASKS[3:] if (m := pattern.search(q))]
    return min(found, key=lambda f: f[:2])[2] if found else None


def has_type(text: str, kind: str | None) -> bool:
    """Whether a sentence contains something of the wanted kind (a number, a time, a place, a person)."""
    if kind == "age":
        return bool(_AGE.search(text))
    if kind == "count":
        return any(not (1900 <= n.lo <= 2100) for n in find_numbers(text))
    if kind == "duration":
        return bool(_DURATION.search(text))
    if kind == "time":
        return bool(_TIME.search(text))
    if kind == "place":
        return bool(_PLACE.search(text))
    if kind == "person":
        return bool(_PERSON.search(text))
    return False


@dataclass(frozen=True)
class Retrieval:
    hits: tuple[Hit, ...]
    pool: tuple[Hit, ...]  # the wider fused ranking (no per-article cap), where disputed values are looked for
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


def retrieve(
    store: Store, embedder: Embedder, query: str, top_k: int = 8, per_article: int = 3, pool: int = 60, mode: str = "hybrid"
) -> Retrieval:
    """Top sentences for `query`. `mode` is `hybrid` (default), `dense` or `bm25`."""
    from index.lexical import tokens

    n = len(store.sentences)
    search = store.backend  # FAISS + bm25s, or Milvus: the same two searches (index/backend.py)
    focus = focus_query(query, store.bm25.share) if mode == "hybrid" else None
    vecs = embedder.embed([query, focus] if focus else [query])
    qv = vecs[0]
    s_hits = search.dense(qv, min(pool, n), "sentences")
    dense = [i for i, _ in s_hits]
    c_hits = search.dense(qv, min(pool, len(store.chunks)), "chunks")
    window: list[int] = []
    seen: set[int] = set()
    for ci, _ in c_hits:
        for sid in store.chunks[ci].sentence_ids:
            row = store.sentence_row[sid]
            if row not in seen:
                seen.add(row)
                window.append(row)
    lexical = [i for i, _ in search.keyword(query, pool)]
    rankings = {"hybrid": [lexical, dense, window], "dense": [dense, window], "bm25": [lexical]}[mode]
    if focus:  # the question without the corpus's topic words, searched densely (rag/focus.py)
        rankings.append([i for i, _ in search.dense(vecs[1], min(pool, n), "sentences")])
    fused = rrf(rankings)
    # Answer-type matching: a sentence holding the kind of thing asked for moves up a little.
    kind = answer_type(query)
    if kind:
        for i in fused:
            if has_type(store.sentences[i].text, kind):
                fused[i] += TYPE_BONUS
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
    max_sim = max([s for _, s in s_hits] + [s for _, s in c_hits], default=-1.0)
    q_tokens = set(tokens(query))
    found = set()
    for h in hits:
        found |= q_tokens & set(tokens(h.sentence.text))
    overlap = len(found) / len(q_tokens) if q_tokens else 0.0
    pool_hits = tuple(Hit(sentence=store.sentences[i], score=fused[i]) for i in order[:pool])
    return Retrieval(hits=tuple(hits), pool=pool_hits, query_vector=qv, max_similarity=max_sim, lexical_overlap=overlap)
