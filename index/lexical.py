"""BM25 over sentences (Snowball stemming via PyStemmer): the lexical half of hybrid retrieval.

The index is built at `rag index` time and saved in the version folder beside the vectors
(`bm25.*`); a question memory-maps it and scores with NumPy, instead of re-tokenising every
sentence in every process (2.4 s at 100k sentences before).

Segments. The index is a list of segments, each the postings (row, term frequency) of a run of
consecutive sentences, with their lengths and the tokens they added to the vocabulary. Adding
articles after all the others (`extend`) tokenises only their sentences into one more segment;
the earlier segments' files are immutable and a new version hard-links them (`save`), so an
add costs what the article costs, not the archive. Past `MAX_SEGMENTS` they are merged into one.

Scores are exact, whatever the segments: BM25's corpus statistics (the number of sentences,
each token's document frequency, the mean length) are summed over all segments when the index
is loaded, and a token's weights are computed at query time from them with the same float
operations a one-segment build of the same sentences uses. Token ids are given in order of
first appearance, and a segment only appends new ones, so the vocabulary, the statistics, the
summation order and so the scores and rankings are bit for bit those of an index built at once
over the same sentences (tests/test_lexical.py checks this).

Scoring is Okapi BM25 as before: k1=1.5, b=0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
term weight idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen)) (bm25s's "atire"
term weight with its "lucene" idf, which this project used before), over the same stemmed,
stopword-free tokens; a query term counts once however often it is repeated, and equal scores
come out in the same order as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

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
PREFIX = "bm25."  # file names in the version folder: bm25.meta.json, bm25.0.rows.npy, ...
_META = PREFIX + "meta.json"  # the tokenizer, k1, b, the number of sentences and of segments
_ARRAYS = ("lengths", "indptr", "rows", "tf")  # a segment's files: bm25.<i>.<name>.npy, and bm25.<i>.words.json
LAYOUT = 2  # 1 was bm25s's own files (one segment of precomputed weights): read no more, rebuilt
MAX_SEGMENTS = 16  # an extend past this many merges them all into one


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


def token_ids(texts: Iterable[str], vocab: dict[str, int] | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """All texts' tokens (exactly `tokens(text)` each) as ids into one vocabulary, one flat array,
    with each text's token count and the vocabulary: `vocab` (not changed) with the new tokens
    appended in order of first appearance.

    Each distinct word is lowered, filtered and stemmed once, so a million sentences tokenise in seconds.
    >>> ids, lengths, vocab = token_ids(["The attackers fled", "attack"])
    >>> ids.tolist(), lengths.tolist(), vocab
    ([0, 1, 0], [2, 1], {'attack': 0, 'fled': 1})
    >>> token_ids(["Troops fled"], vocab)[0].tolist()
    [2, 1]
    """
    stem = _stem()
    known: dict[str, int] = {}  # word as written -> token id, or -1 for a stopword
    vocab = dict(vocab or {})

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


@dataclass(frozen=True)
class Segment:
    """The postings of the sentences `first` .. `first + len(lengths) - 1`: for token id t,
    `rows[indptr[t]:indptr[t + 1]]` (ascending global rows) hold it `tf[...]` times. `indptr`
    covers the vocabulary as it was after this segment (later tokens: no postings here);
    `words` are the tokens it added, in id order. `source`: the folder its files are in."""

    first: int
    lengths: np.ndarray
    indptr: np.ndarray
    rows: np.ndarray
    tf: np.ndarray
    words: tuple[str, ...]
    source: Path | None = None

    @classmethod
    def of(cls, texts: Sequence[str], first: int, vocab: dict[str, int]) -> tuple[Segment, dict[str, int]]:
        """The segment of `texts` (rows from `first`) and the vocabulary extended by them."""
        ids, lengths, new_vocab = token_ids(texts, vocab)
        n = len(lengths)
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
        pairs, tf = np.unique(ids.astype(np.int64) * max(n, 1) + rows, return_counts=True)  # sorted by token, then row
        tok = pairs // max(n, 1)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(tok, minlength=len(new_vocab)))]).astype(np.int64)
        local = (pairs % max(n, 1)).astype(np.int64) + first
        words = tuple(w for w, _ in sorted(((w, i) for w, i in new_vocab.items() if i >= len(vocab)), key=lambda x: x[1]))
        return cls(first, lengths.astype(np.int32), indptr, local.astype(np.int32), tf.astype(np.int32), words), new_vocab

    def postings(self, token: int) -> tuple[np.ndarray, np.ndarray]:
        if token + 1 >= len(self.indptr):
            return self.rows[:0], self.tf[:0]
        a, b = int(self.indptr[token]), int(self.indptr[token + 1])
        return self.rows[a:b], self.tf[a:b]

    def df(self, n_vocab: int) -> np.ndarray:
        counts = np.diff(self.indptr)
        return np.pad(counts, (0, n_vocab - len(counts)))


def merged(segments: Sequence[Segment]) -> Segment:
    """One segment holding the postings of `segments` (consecutive, in row order)."""
    n_vocab = len(segments[-1].indptr) - 1
    toks = [np.repeat(np.arange(len(s.indptr) - 1, dtype=np.int64), np.diff(s.indptr)) for s in segments]
    tok = np.concatenate(toks)
    order = np.argsort(tok, kind="stable")  # within a token, rows stay ascending (the segments are in row order)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(tok, minlength=n_vocab))]).astype(np.int64)
    rows = np.concatenate([s.rows for s in segments])[order]
    tf = np.concatenate([s.tf for s in segments])[order]
    words = tuple(w for s in segments for w in s.words)
    return Segment(segments[0].first, np.concatenate([s.lengths for s in segments]), indptr, rows, tf, words)


class BM25:
    """Okapi BM25 over a fixed list of sentences, in segments (memory-mapped when loaded).

    `BM25.build(texts)` indexes; `extend(texts)` is a new index with `texts` appended as rows;
    `save(folder)` writes the `bm25.*` files; `BM25.load(folder, n)` maps them back;
    `search(query, k)` gives the top-k rows.
    """

    def __init__(self, segments: Sequence[Segment]):
        self.segments = tuple(segments)
        self.vocab = {w: i for i, w in enumerate(w for s in self.segments for w in s.words)}
        lens = np.concatenate([s.lengths for s in self.segments] + [np.zeros(0, np.int32)]).astype(np.float32)
        self.n = len(lens)
        # The corpus statistics, over every segment, with the float operations of a build at once.
        avg = float(lens.mean()) if self.n and lens.sum() else 1.0
        self._norm = K1 * (1 - B + B * lens / avg)
        df = sum((s.df(len(self.vocab)) for s in self.segments), np.zeros(len(self.vocab), np.int64))
        self._df = df
        self._idf = np.log(1 + (self.n - df + 0.5) / (df + 0.5))

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25:
        """Index `texts` (one BM25 document each); the row of a text is its position."""
        seg, _ = Segment.of(texts, 0, {})
        return cls([seg])

    def extend(self, texts: Sequence[str]) -> BM25:
        """This index with `texts` appended (rows from `self.n`): one more segment, only `texts`
        tokenised; past `MAX_SEGMENTS` the segments are merged into one. `self` is unchanged."""
        seg, _ = Segment.of(texts, self.n, self.vocab)
        segments = [*self.segments, seg]
        return BM25([merged(segments)] if len(segments) > MAX_SEGMENTS else segments)

    def save(self, folder: Path) -> None:
        """Write the `bm25.*` files into `folder` (a version folder being written). A segment
        already saved elsewhere (a previous version's, immutable) is hard-linked, not copied."""
        from index.layout import link

        folder = Path(folder)
        for i, seg in enumerate(self.segments):
            names = tuple(f"{PREFIX}{i}.{a}.npy" for a in _ARRAYS) + (f"{PREFIX}{i}.words.json",)
            if seg.source is not None and all((seg.source / name).exists() for name in names) and link(seg.source, names, folder, names):
                continue
            for a in _ARRAYS:
                np.save(folder / f"{PREFIX}{i}.{a}.npy", getattr(seg, a))
            (folder / f"{PREFIX}{i}.words.json").write_text(json.dumps(list(seg.words), ensure_ascii=False))
        meta = {"layout": LAYOUT, "tokenizer": TOKENIZER, "k1": K1, "b": B, "sentences": self.n, "segments": len(self.segments)}
        (folder / _META).write_text(json.dumps(meta))

    @staticmethod
    def saved_in(folder: Path) -> bool:
        return (Path(folder) / _META).exists()

    @classmethod
    def load(cls, folder: Path, n: int) -> BM25:
        """Memory-map the index saved in `folder`; ValueError if it is missing, stale or not for `n` sentences."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / _META).read_text())
            got = {k: meta.get(k) for k in ("layout", "tokenizer", "k1", "b", "sentences")}
        except (OSError, ValueError, TypeError, AttributeError) as e:
            raise ValueError(f"no readable BM25 index ({type(e).__name__})") from None
        want = {"layout": LAYOUT, "tokenizer": TOKENIZER, "k1": K1, "b": B, "sentences": n}
        if got != want:
            raise ValueError(f"the saved BM25 index was built with other settings ({got} != {want})")
        segments: list[Segment] = []
        first = n_vocab = 0
        try:
            for i in range(int(meta["segments"])):
                arrays = {a: np.load(folder / f"{PREFIX}{i}.{a}.npy", mmap_mode="r") for a in _ARRAYS}
                words = tuple(json.loads((folder / f"{PREFIX}{i}.words.json").read_text()))
                seg = Segment(first, words=words, source=folder, **arrays)
                n_vocab += len(words)
                if len(seg.indptr) != n_vocab + 1 or len(seg.rows) != len(seg.tf) or int(seg.indptr[-1]) != len(seg.rows):
                    raise ValueError(f"segment {i} is inconsistent")
                segments.append(seg)
                first += len(seg.lengths)
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise ValueError(f"the saved BM25 index is unreadable ({type(e).__name__}: {str(e)[:120]})") from None
        if first != n or not segments:
            raise ValueError("the saved BM25 index does not match the sentences")
        return cls(segments)

    def share(self, token: str) -> float:
        """The share of sentences holding `token` (a `tokens()` token): 0.0 for an unknown one."""
        i = self.vocab.get(token)
        if i is None or not self.n:
            return 0.0
        return float(self._df[i]) / self.n

    def scores(self, query: str) -> np.ndarray:
        """Every sentence's BM25 score for `query` (float32, one per row)."""
        scores = np.zeros(self.n, dtype=np.float32)
        for t in sorted({self.vocab[w] for w in tokens(query) if w in self.vocab}):  # summed in token-id order, as a build at once
            idf = self._idf[t : t + 1]  # a float64 array, so the weight is computed in float64 as the build did
            for seg in self.segments:
                rows, tf = seg.postings(t)
                if len(rows):
                    tf32 = tf.astype(np.float32)
                    scores[rows] += (idf * tf32 * (K1 + 1) / (tf32 + self._norm[rows])).astype(np.float32)
        return scores

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
