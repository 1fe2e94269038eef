"""BM25 over sentences (Snowball stemming via PyStemmer): the lexical half of hybrid retrieval.

The index is built once, at `rag index` time, into a bm25s index and saved in the version
folder beside the vectors (`bm25.*`, bm25s's own file format); a question memory-maps it with
bm25s and scores with it, instead of re-tokenising every sentence in every process (2.4 s at
100k sentences before). The term weights are computed in NumPy for all documents at once
(bm25s builds document by document in Python: minutes at 1M sentences).

Scoring is Okapi BM25 as before: k1=1.5, b=0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
term weight idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen)) (bm25s's "atire"
term weight with its "lucene" idf), over the same stemmed, stopword-free tokens; a query term
counts once however often it is repeated, and equal scores come out in the same order as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from array import array
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


def _lower(word: str) -> str:
    return word.lower().replace("’", "'")


def tokens(text: str) -> list[str]:
    """Lower-cased, stemmed content tokens. `tokens("The attackers fled")` → ['attack', 'fled']."""
    return [t for _, t in words(text) if t is not None]


def words(text: str) -> list[tuple[str, str | None]]:
    """Each word of `text` as written, with its token (None for a stop word).

    >>> words("Who stormed the office?")
    [('Who', None), ('stormed', 'storm'), ('the', None), ('office', 'offic')]
    """
    written = _TOKEN.findall(text)
    lowered = [_lower(w) for w in written]
    stems = iter(_stem()([w for w in lowered if w not in STOPWORDS]))  # one stemmer call, as before
    return [(w, None if low in STOPWORDS else next(stems)) for w, low in zip(written, lowered, strict=True)]


def token_ids(texts: Iterable[str]) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """All texts' tokens (exactly `tokens(text)` each) as ids into one vocabulary, one flat array,
    with each text's token count and the vocabulary.

    Each distinct word is lowered, filtered and stemmed once, so a million sentences tokenise in seconds.
    >>> ids, lengths, vocab = token_ids(["The attackers fled", "attack"])
    >>> ids.tolist(), lengths.tolist(), vocab
    ([0, 1, 0], [2, 1], {'attack': 0, 'fled': 1})
    """
    stem = _stem()
    known: dict[str, int] = {}  # word as written -> token id, or -1 for a stopword
    vocab: dict[str, int] = {}

    def learn(w: str) -> int:
        low = _lower(w)
        return -1 if low in STOPWORDS else vocab.setdefault(stem([low])[0], len(vocab))

    flat = array("i")
    lengths = array("i")
    for text in texts:
        words = _TOKEN.findall(text)
        try:
            ids = [known[w] for w in words]
        except KeyError:
            ids = [known[w] if w in known else known.setdefault(w, learn(w)) for w in words]
        ids = [i for i in ids if i >= 0]
        flat.extend(ids)
        lengths.append(len(ids))
    return np.frombuffer(flat, dtype=np.int32), np.frombuffer(lengths, dtype=np.int32), vocab


def _csc(ids: np.ndarray, lengths: np.ndarray, n_vocab: int) -> dict[str, Any]:
    """bm25s's index arrays (one column of (row, weight) per token, rows ascending), computed in
    NumPy at once rather than document by document: the term weights the pre-bm25s BM25 used,
    in the same float precision, so scores stay as they were."""
    n = len(lengths)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    pairs, tf = np.unique(ids.astype(np.int64) * max(n, 1) + rows, return_counts=True)  # sorted by token, then row
    tok, row = pairs // max(n, 1), (pairs % max(n, 1)).astype(np.int32)
    df = np.bincount(tok, minlength=n_vocab)
    lens = lengths.astype(np.float32)
    avg = float(lens.mean()) if n and lens.sum() else 1.0
    norm = K1 * (1 - B + B * lens / avg)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    tf32 = tf.astype(np.float32)
    data = (idf[tok] * tf32 * (K1 + 1) / (tf32 + norm[row])).astype(np.float32)
    indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int32 if len(data) < 2**31 else np.int64)
    return {"data": data, "indices": row, "indptr": indptr, "num_docs": n}


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
        """Index `texts` (one BM25 document each); the row of a text is its position."""
        import bm25s

        ids, lengths, vocab = token_ids(texts)
        vocab = vocab or {"": 0}  # bm25s wants one column at least
        r = bm25s.BM25(k1=K1, b=B, method="atire", idf_method="lucene")  # its names for the formula above
        r.scores = _csc(ids, lengths, len(vocab))
        r.vocab_dict = vocab
        r.unique_token_ids_set = set(vocab.values())
        r.nonoccurrence_array = None
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

    def share(self, token: str) -> float:
        """The share of sentences holding `token` (a `tokens()` token): 0.0 for an unknown one."""
        i = self._r.vocab_dict.get(token)
        if i is None or not self.n:
            return 0.0
        indptr = self._r.scores["indptr"]
        return float(indptr[i + 1] - indptr[i]) / self.n

    def scores(self, query: str) -> np.ndarray:
        """Every sentence's BM25 score for `query` (float32, one per row)."""
        ids = sorted({self._r.vocab_dict[t] for t in tokens(query) if t in self._r.vocab_dict})
        if not ids:
            return np.zeros(self.n, dtype=np.float32)
        return self._r.get_scores_from_ids(ids)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (row, score) with score > 0, best first (equal scores in the order the previous BM25 gave)."""
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
