"""BM25 over sentences (Snowball stemming via PyStemmer): the lexical half of hybrid retrieval."""

from __future__ import annotations

import re

import numpy as np

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-'’][A-Za-z0-9]+)*")

STOPWORDS = frozenset(
    """a an the and or but if of at by for with about against between into through during before after above below to from
    up down in out on off over under again further then once here there when where why how all any both each few more most
    other some such no nor not only own same so than too very s t can will just don should now is are was were be been being
    have has had having do does did doing i me my we our you your he him his she her it its they them their what which who
    whom this that these those am would could also said says many much""".split()
)


class _Stem:
    def __init__(self) -> None:
        import Stemmer

        self._s = Stemmer.Stemmer("english")

    def __call__(self, words: list[str]) -> list[str]:
        return self._s.stemWords(words)


_stemmer: _Stem | None = None


def tokens(text: str) -> list[str]:
    """Lower-cased, stemmed content tokens. `tokens("The attackers fled")` → ['attack', 'fled']."""
    global _stemmer
    if _stemmer is None:
        _stemmer = _Stem()
    words = [w.lower().replace("’", "'") for w in _TOKEN.findall(text)]
    return _stemmer([w for w in words if w not in STOPWORDS])


class BM25:
    """Okapi BM25 (k1=1.5, b=0.75) over a fixed list of texts, with an inverted index in NumPy."""

    def __init__(self, texts: list[str], k1: float = 1.5, b: float = 0.75):
        self.n = len(texts)
        docs = [tokens(t) for t in texts]
        lengths = np.array([len(d) for d in docs], dtype=np.float32)
        avg = float(lengths.mean()) if self.n and lengths.sum() else 1.0
        postings: dict[str, dict[int, int]] = {}
        for i, doc in enumerate(docs):
            for t in doc:
                row = postings.setdefault(t, {})
                row[i] = row.get(i, 0) + 1
        norm = k1 * (1 - b + b * lengths / avg)
        self._index: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for t, row in postings.items():
            ids = np.fromiter(row.keys(), dtype=np.int64, count=len(row))
            tf = np.fromiter(row.values(), dtype=np.float32, count=len(row))
            idf = np.log(1 + (self.n - len(row) + 0.5) / (len(row) + 0.5))
            self._index[t] = (ids, (idf * tf * (k1 + 1) / (tf + norm[ids])).astype(np.float32))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (doc index, score) with score > 0, best first."""
        scores = np.zeros(self.n, dtype=np.float32)
        hit = False
        for t in set(tokens(query)):
            if t in self._index:
                ids, w = self._index[t]
                scores[ids] += w
                hit = True
        if not hit or k <= 0:
            return []
        k = min(k, self.n)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
