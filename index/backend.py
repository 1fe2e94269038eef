"""The search engine behind retrieval: one small interface, two engines.

`rag/retrieve.py` asks a `Backend` for two ranked lists and fuses them; it never knows which
engine answered. `LocalBackend` searches the loaded version's FAISS indexes and its saved BM25
(the default, nothing to run); `index.milvus.MilvusBackend` sends the same two searches to
Milvus (Milvus Lite in a file, or a Milvus server or cluster), chosen by the `vector_store`
setting. Both answer with rows of the loaded version (`store.sentences[row]`, `store.chunks[row]`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from index import vectors

if TYPE_CHECKING:
    from index.store import Store

What = Literal["sentences", "chunks"]


class Backend(Protocol):
    """Dense and keyword search over one index version's rows."""

    name: str

    def dense(self, query_vec: np.ndarray, k: int, what: What) -> list[tuple[int, float]]:
        """Top-k (row, cosine) of `what` for a unit query vector, best first."""
        ...

    def keyword(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (sentence row, BM25 score) with score > 0, best first."""
        ...


class LocalBackend:
    """FAISS and bm25s, in this process: the embedded default."""

    name = "faiss"

    def __init__(self, store: Store):
        self._store = store

    def dense(self, query_vec: np.ndarray, k: int, what: What) -> list[tuple[int, float]]:
        index = self._store.sentence_index if what == "sentences" else self._store.chunk_index
        scores, ids = vectors.search(index, np.asarray(query_vec, dtype=np.float32)[None], k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def keyword(self, query: str, k: int) -> list[tuple[int, float]]:
        return self._store.bm25.search(query, k)
