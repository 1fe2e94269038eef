"""FAISS vector indexes: exact (flat) for small collections, IVF (or HNSW, asked for) for large ones.

Inner product on unit vectors is cosine similarity. The choice is made by size and
recorded in the manifest; `make bench` measures where the switch pays off.

The index is the only copy of the vectors (no `.npy` beside it): `vectors_of` reads them back
from its storage, a zero-copy view for the float32 kinds. A loaded index can be memory-mapped
(`load(path, mmap=True)`): the OS shares the pages between processes and reads them lazily,
but FAISS aborts the process on any `add` to a mapped index, so writers load with `mmap=False`.

Parts. An incremental add that appends a few articles puts their vectors in a small exact (flat)
index of their own, searched beside the main one (`Parts`, `appended`): the main index is not
read into memory, changed or written again (its file is hard-linked into the new version), so
an add costs what the article costs. Past `MAX_PARTS` parts or `MAX_APPENDED` appended vectors
the build adds them all to the main index instead (HNSW takes `add`) and writes it once.

Kinds: `flat` (exact), `hnsw` (HNSW over float32), `hnsw_fp16` and `hnsw_sq8` (HNSW over
16-bit or 8-bit scalar-quantised vectors: a half or a quarter of the memory; `make bench`'s
`million` part measures their recall@10 against exact search before they are chosen), `ivf`
(IVF-Flat: k-means cells, exact scores inside the cells searched; see `IVF_NPROBE`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

HNSW_THRESHOLD = 50_000  # from this size `auto` is approximate (IVF): flat search 1 ms at 10k, 15 ms at 100k on 2 cores (see bench)
# HNSW graph degree and search widths. A news archive repeats sentences with only the facts
# changed: dense clumps of near-duplicates that a sparse graph links poorly. On evals/million.py's
# archive at 98k sentences, M=32/efConstruction=80/efSearch=96 found 0.58 of the exact top 10
# (0.77 at efSearch 1024); M=64/160 reaches 0.97 at efSearch 512 (1.6 ms a query), 0.92 at 256.
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 64, 160, 512
# IVF: the vectors in `nlist` k-means cells, a query scanning the `nprobe` nearest. On the same
# 96k archive HNSW found none of the exact top 10 for 7 of 120 questions at any efSearch (up to
# 4096: a clump of near-duplicates its graph does not reach), recall@10 0.93; IVF with 4*sqrt(n)
# cells, nprobe 32, 0.97 in 0.47 ms (nprobe 64: 0.99, 0.95 ms), built in 16 s instead of ~75 s.
# So `auto` chooses IVF for large collections; the HNSW kinds stay available.
IVF_CELLS_PER_SQRT, IVF_NPROBE, IVF_TRAIN_PER_CELL, IVF_TRAIN_ITERATIONS = 4, 32, 64, 10
KINDS = ("flat", "hnsw", "hnsw_fp16", "hnsw_sq8", "ivf")
SINGLE_THREAD_QUERIES = 4  # up to this many queries at once are searched on one thread (see `search`)
MAX_PARTS = 16  # the main index and up to 15 appended flat parts
MAX_APPENDED = 20_000  # vectors in appended parts at most (a flat search over them: ~1.5 ms)
SINGLE_THREAD_ADD = 1000  # up to this many vectors are added on one thread (an incremental add)


def choose(kind: str, n: int) -> str:
    """The concrete kind `build` makes for `n` vectors when asked for `kind` (`auto` goes by size).

    >>> choose("auto", 10), choose("auto", 100_000), choose("hnsw_sq8", 10)
    ('flat', 'ivf', 'hnsw_sq8')
    """
    if kind == "auto":
        return "ivf" if n >= HNSW_THRESHOLD else "flat"
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}")
    return kind


def build(vectors: np.ndarray, kind: str = "auto"):
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    kind = choose(kind, len(vectors))
    index: Any
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    elif kind == "ivf":
        return _ivf(vectors)
    else:
        qtype = faiss.ScalarQuantizer.QT_fp16 if kind == "hnsw_fp16" else faiss.ScalarQuantizer.QT_8bit
        index = faiss.IndexHNSWSQ(dim, qtype, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        # Sentence-embedding components lie within [-1, 1]: a fixed range needs no training data,
        # so vectors added later (an incremental add) are quantised exactly like the first ones.
        faiss.downcast_index(index.storage).sq.rangestat = faiss.ScalarQuantizer.RS_minmax
        index.train(np.vstack([np.full((1, dim), -1.0, np.float32), np.full((1, dim), 1.0, np.float32)]))
    if kind != "flat":
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH  # saved in the index: older indexes keep theirs
    if len(vectors):
        index.add(vectors)
    return index


class Parts:
    """Vector indexes searched as one: the main index, then small flat parts appended after it
    (ids go on from part to part). Searching merges the parts' top k by score (equal scores:
    the earlier part first). Only made by `appended`; `search`, `kind_of`, `vectors_of` take it."""

    def __init__(self, parts: list[Any]):
        self.parts = parts
        self.d = parts[0].d

    @property
    def ntotal(self) -> int:
        return sum(p.ntotal for p in self.parts)

    @property
    def hnsw(self):
        return self.parts[0].hnsw  # the main index's search width (AttributeError when it is flat)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids, first = [], [], 0
        for p in self.parts:
            s, i = p.search(queries, min(k, p.ntotal))
            scores.append(s)
            ids.append(np.where(i >= 0, i + first, -1))
            first += p.ntotal
        s, i = np.concatenate(scores, axis=1), np.concatenate(ids, axis=1)
        s = np.where(i >= 0, s, -np.inf).astype(np.float32)
        order = np.argsort(-s, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(s, order, 1), np.take_along_axis(i, order, 1)


def parts_of(index) -> list[Any]:
    """The indexes `index` is made of, the main one first (itself, when it is one)."""
    return list(index.parts) if isinstance(index, Parts) else [index]


def appended(index, vectors: np.ndarray) -> Parts:
    """`index` with `vectors` after it as one more flat part; `index` itself is not changed."""
    return Parts([*parts_of(index), build(vectors, "flat")])


def _ivf(vectors: np.ndarray):
    """IVF-Flat over `vectors`: exact scores within the cells searched; cells from k-means over a
    sample (a fixed seed, so the same vectors give the same index); later vectors go to their
    nearest cell without retraining."""
    import faiss

    n, dim = vectors.shape
    nlist = int(min(max(IVF_CELLS_PER_SQRT * np.sqrt(max(n, 1)), 1), max(n // 39, 1), 65_536))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = 1234
    sample = vectors
    if n > IVF_TRAIN_PER_CELL * nlist:
        rows = np.random.default_rng(0).choice(n, IVF_TRAIN_PER_CELL * nlist, replace=False)
        sample = vectors[np.sort(rows)]
    index.cp.max_points_per_centroid = max(IVF_TRAIN_PER_CELL, 1)
    index.cp.niter = IVF_TRAIN_ITERATIONS
    index.train(sample if len(sample) else np.zeros((1, dim), np.float32))
    index.nprobe = min(IVF_NPROBE, nlist)  # saved in the index
    index.make_direct_map()  # `vectors_of` reads the vectors back by id
    if n:
        index.add(vectors)
    return index


def kind_of(index) -> str:
    import faiss

    if isinstance(index, Parts):
        return kind_of(index.parts[0])
    name = type(index).__name__
    if "IVF" in name:
        return "ivf"
    if "HNSW" not in name:
        return "flat"
    if name == "IndexHNSWSQ":
        qtype = faiss.downcast_index(index.storage).sq.qtype
        return "hnsw_fp16" if qtype == faiss.ScalarQuantizer.QT_fp16 else "hnsw_sq8"
    return "hnsw"


def add(index, vectors: np.ndarray) -> None:
    """Append vectors (their ids go on from `index.ntotal`): HNSW links them into its graph,
    no rebuild. Never on a memory-mapped index (FAISS would abort the process)."""
    if not len(vectors):
        return
    if len(vectors) > SINGLE_THREAD_ADD:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # a few vectors: threads only wait for each other (see `search`)
    try:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    finally:
        faiss.omp_set_num_threads(threads)


def vectors_of(index) -> np.ndarray:
    """The vectors held by `index`, row i = id i: a read-only view of its float32 storage (no
    copy), or for the quantised kinds the decoded vectors (a new array, close to the originals)."""
    import faiss

    if isinstance(index, Parts):
        return np.concatenate([vectors_of(p) for p in index.parts])
    n, dim = index.ntotal, index.d
    if n == 0:
        return np.zeros((0, dim), np.float32)
    flat = index if "HNSW" not in type(index).__name__ else faiss.downcast_index(index.storage)
    if isinstance(flat, faiss.IndexFlat):
        view = faiss.rev_swig_ptr(flat.get_xb(), n * dim).reshape(n, dim)
        view.flags.writeable = False
        return view
    return index.reconstruct_n(0, n)


def search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) arrays of shape (len(queries), k'); k' = min(k, ntotal).

    A single query searches on one thread: FAISS' OpenMP threads gain nothing on one query and,
    on cores busy with other work, wait for each other (a flat search over 47k windows: 19 ms
    with 2 threads, 3.5 ms with 1, on this project's 2 shared cores)."""
    import faiss

    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if len(queries) > SINGLE_THREAD_QUERIES:
        return index.search(queries, k)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(queries, k)
    finally:
        faiss.omp_set_num_threads(threads)


def save(index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load(path: Path, mmap: bool = False):
    """Read an index; `mmap` maps its vector storage read-only instead of copying it into memory."""
    import faiss

    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
    return faiss.read_index(str(path), flags)
