"""BM25 over sentences (Snowball stemming via PyStemmer): the lexical half of hybrid retrieval.

The index is built once, at `rag index` time, with bm25s and saved in the version folder
beside the vectors (`bm25.*` files in bm25s's own format); a question memory-maps it instead
of re-tokenising every sentence in every process (2.4 s at 100k sentences before).

Scoring is Okapi BM25 as before: k1=1.5, b=0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
term weight idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen)) (bm25s's "atire"
term weight with its "lucene" idf), over the same stemmed, stopword-free tokens; a query term
counts once however often it is repeated. Ties are broken by sentence row, so a ranking is
the same in every process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-'’][A-Za-z0-9]+)*")

STOPWORDS = frozenset(
    """a an the and or but if of at by for with about against between into through during before after above below to from
    up down in out on off over under again further then once here there when where why how all any both each few more most
    other some such no nor not only own same so than too very s t can will just don should now is are was were be been being
    have has had having do does did doing i me my we our you your he him his she her it its they them their what which who
    whom this that these those am would could also said says many much""".split()
)

K1, B = 1.5, 0.75
# What a saved index was tokenised with: a change to the pattern or the stopwords makes old
# saved indexes stale, and they are then rebuilt from the sentences instead of being trusted.
TOKENIZER = hashlib.sha256(("snowball-english\n" + _TOKEN.pattern + "\n" + " ".join(sorted(STOPWORDS))).encode()).hexdigest()[:16]
PREFIX = "bm25."  # file names in the version folder: bm25.data.npy, bm25.vocab.json, ...
_FILES = {
    "data_name": "data.npy",
    "indices_name": "indices.npy",
    "indptr_name": "indptr.npy",
    "vocab_name": "vocab.json",
    "params_name": "params.json",
    "nnoc_name": "nonoccurrence.npy",
    "corpus_name": "corpus.jsonl",
}
_META = PREFIX + "meta.json"  # ours: the tokenizer it was built with (bm25s's params file takes only its own keys)


class _Stem:
    def __init__(self) -> None:
        import Stemmer

        self._s = Stemmer.Stemmer("english")

    def __call__(self, words: list[str]) -> list[str]:
        return self._s.stemWords(words)


_stemmer: _Stem | None = None


def _stem() -> _Stem:
    global _stemmer
    if _stemmer is None:
        _stemmer = _Stem()
    return _stemmer


def tokens(text: str) -> list[str]:
    """Lower-cased, stemmed content tokens. `tokens("The attackers fled")` → ['attack', 'fled']."""
    words = [w.lower().replace("’", "'") for w in _TOKEN.findall(text)]
    return _stem()([w for w in words if w not in STOPWORDS])


def token_ids(texts: Iterable[str]) -> tuple[list[list[int]], dict[str, int]]:
    """Each text's tokens (exactly `tokens(text)`) as ids into one vocabulary, with that vocabulary.

    Each distinct word is stemmed once, so a million sentences tokenise in seconds.
    >>> token_ids(["The attackers fled", "attack"])
    ([[0, 1], [0]], {'attack': 0, 'fled': 1})
    """
    stem = _stem()
    stems: dict[str, int] = {}  # lower-cased word -> token id
    vocab: dict[str, int] = {}
    docs: list[list[int]] = []
    for text in texts:
        doc = []
        for w in _TOKEN.findall(text):
            w = w.lower().replace("’", "'")
            i = stems.get(w)
            if i is None:
                if w in STOPWORDS:
                    continue
                i = stems[w] = vocab.setdefault(stem([w])[0], len(vocab))
            doc.append(i)
        docs.append(doc)
    return docs, vocab


class BM25:
    """Okapi BM25 over a fixed list of sentences, held by bm25s (memory-mapped when loaded).

    `BM25.build(texts)` indexes; `save(folder)` writes the `bm25.*` files; `BM25.load(folder)`
    maps them back; `search(query, k)` gives the top-k rows.
    """

    def __init__(self, retriever: Any):
        self._r = retriever
        self.n = int(retriever.scores["num_docs"])

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25:
        import bm25s

        docs, vocab = token_ids(texts)
        r = bm25s.BM25(k1=K1, b=B, method="atire", idf_method="lucene")
        if not docs or not vocab:  # bm25s cannot index nothing: one empty column, no document scores
            vocab = {"": 0}
            r.scores = {
                "data": np.zeros(0, np.float32),
                "indices": np.zeros(0, np.int32),
                "indptr": np.zeros(2, np.int32),
                "num_docs": len(docs),
            }
            r.vocab_dict = vocab
            r.nonoccurrence_array = None
            r.unique_token_ids_set = set(vocab.values())
            return cls(r)
        r.index((docs, vocab), create_empty_token=False, show_progress=False)
        return cls(r)

    def save(self, folder: Path) -> None:
        """Write the `bm25.*` files into `folder` (a version folder being written)."""
        folder = Path(folder)
        import bm25s

        self._r.save(folder, show_progress=False, **{k: PREFIX + v for k, v in _FILES.items()})
        (folder / _META).write_text(json.dumps({"tokenizer": TOKENIZER, "bm25s": bm25s.__version__, "sentences": self.n}))

    @staticmethod
    def saved_in(folder: Path) -> bool:
        return (Path(folder) / _META).exists()

    @classmethod
    def load(cls, folder: Path, n: int) -> BM25:
        """Memory-map the index saved in `folder`; ValueError if it is missing, stale or not for `n` sentences."""
        import bm25s

        folder = Path(folder)
        try:
            params = {**json.loads((folder / (PREFIX + _FILES["params_name"])).read_text()), **json.loads((folder / _META).read_text())}
        except (OSError, ValueError, TypeError) as e:
            raise ValueError(f"no readable BM25 index ({type(e).__name__})") from None
        want = {"k1": K1, "b": B, "method": "atire", "idf_method": "lucene", "tokenizer": TOKENIZER, "num_docs": n}
        got = {k: params.get(k) for k in want}
        if got != want:
            raise ValueError(f"the saved BM25 index was built with other settings ({got} != {want})")
        try:
            r = bm25s.BM25.load(folder, mmap=True, **{k: PREFIX + v for k, v in _FILES.items()})
        except (OSError, ValueError, KeyError) as e:
            raise ValueError(f"the saved BM25 index is unreadable ({type(e).__name__}: {str(e)[:120]})") from None
        if int(r.scores["num_docs"]) != n or len(r.scores["indptr"]) != len(r.vocab_dict) + 1:
            raise ValueError("the saved BM25 index does not match the sentences")
        return cls(r)

    def scores(self, query: str) -> np.ndarray:
        """Every sentence's BM25 score for `query` (float32, one per row)."""
        ids = sorted({self._r.vocab_dict[t] for t in tokens(query) if t in self._r.vocab_dict})
        if not ids:
            return np.zeros(self.n, dtype=np.float32)
        return self._r.get_scores_from_ids(ids)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (row, score) with score > 0, best first; equal scores in row order."""
        if k <= 0 or not self.n:
            return []
        scores = self.scores(query)
        if not scores.any():
            return []
        # The selection the pre-bm25s BM25 used, so equal scores come out in the same order
        # as before (the eval's fused rankings depend on it).
        k = min(k, self.n)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
