"""The on-disk index: articles, sentences, chunks, their vectors and a manifest.

Layout (`<data>/index` is a symlink to one complete version folder, see `index/versions.py`):

    index -> index-versions/20260101T120000-4242-17/
             manifest.json      corpus folder, embedder, splitter, segments (counts, a digest of their
                                file names), versions: a few totals, whatever the corpus size
             files.json         one record per file: size, mtime, sha256, its rows (segment 0; files.1.json, ...)
             articles.json      id, title, date, path, sha256, text, meta (segment 0; articles.1.json, ...)
             spans.json         sentence and chunk spans (segment 0; spans.1.json, ...)
             sentences.faiss    the sentence vectors, in their FAISS index (the only copy; parts
                                appended later: sentences.1.faiss, ...)
             chunks.faiss       the chunk vectors, likewise
             bm25.*             the sentences' BM25 index, in segments (index/lexical.py)

A build writes a new version folder and then swaps the symlink atomically, so a crash never
leaves a half-written index in use; builds hold a cross-process lock. The index remembers its
corpus folder: building it from another folder is refused unless asked to start over.

Re-indexing is incremental. Each file's record (size, mtime, sha256, its sentence and chunk
rows) lets an unchanged file be reused without reading it; a changed file is read and
hashed, and its vectors are reused when its content is the same. Files that are gone are
not in the new version, and the report lists them.

Appending costs what is appended. When a build only adds articles after all the unchanged ones
(new files sorting last, as date-named archives do), the new version is the previous one plus
one segment: the new articles and spans in their own files, their BM25 postings in a new BM25
segment, their vectors in a small flat part searched beside the main vector index
(`vectors.Parts`). Every file of the previous version is hard-linked into the new one, never
written again (a file, once in a published version, is immutable: a crash mid-build leaves the
previous version as it was). Only the manifest (a few totals) and the new files are written. Past
`MAX_SEGMENTS` segments, or the vector parts' limits (index/vectors.py), the build writes them
as one again. Such an append reads neither the previous articles nor spans (`index/append.py`:
the files are named by the caller, or a scan found every indexed file unchanged by one stat
each); the previous version is loaded lazily. Any other change (a removed, changed or earlier-sorting file) rebuilds the vector
and BM25 indexes from the reused vectors, which is always correct. Either way the rows, the
articles and the BM25 scores are those of a build from scratch; dense search over parts merges
exact scores (tests/test_store.py, tests/test_million.py, tests/test_lexical.py).

Vectors are kept once, inside the FAISS indexes (older versions also wrote `sentences.npy` and
`chunks.npy`; they still load, the `.npy` files are ignored), and a loaded index memory-maps
them. An index written before segments is one segment and loads as before; one written with its
file records in the manifest (format 1) loads as before and is written in segments by its next build.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index import layout, vectors, versions
from index.backend import Backend, LocalBackend
from index.chunking import SPLITTER_VERSION, make_chunks, split
from index.embedding import Embedder
from index.reading import SUFFIXES, Skipped, content_hash, list_article_files, read_article
from rag.errors import RagError
from rag.types import Article, Chunk, Sentence

if TYPE_CHECKING:
    from index.lexical import BM25

log = logging.getLogger(__name__)

FORMAT = 2  # 2: the per-file records in their segments' files (index/layout.py), not in the manifest
READABLE = (1, 2)  # format 1 (records in the manifest) loads as before; its next version is format 2


@dataclass
class BuildReport:
    articles: int = 0
    sentences: int = 0
    chunks: int = 0
    embedded_files: list[str] = field(default_factory=list)
    reused_files: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    vectors_seconds: float = 0.0  # of `seconds`: embedding and the vector indexes
    bm25_seconds: float = 0.0  # the BM25 index (a new segment, or all of it)
    write_seconds: float = 0.0  # writing the version folder and publishing it
    path: str = ""
    corpus: str = ""
    note: str = ""  # e.g. why the previous index could not be reused
    store: Store | None = field(default=None, repr=False)  # the version just written, ready to use

    def removed_summary(self, shown: int = 10) -> str:
        """One line naming the articles this build dropped because their files are gone.

        >>> BuildReport(removed_files=["a.txt", "b.txt"], corpus="/news").removed_summary()
        'removed 2 articles no longer in /news: a.txt, b.txt'
        """
        n = len(self.removed_files)
        more = f" and {n - shown} more" if n > shown else ""
        return f"removed {n} article{'' if n == 1 else 's'} no longer in {self.corpus}: {', '.join(self.removed_files[:shown])}{more}"


@dataclass
class _Rows:
    """A store's articles, sentences and chunks, and each sentence's row."""

    articles: dict[str, Article]
    sentences: list[Sentence]
    chunks: list[Chunk]
    sentence_row: dict[str, int]


class Store:
    """A loaded index. Sentences and chunks are addressed by their row number."""

    def __init__(
        self,
        manifest: dict[str, Any],
        articles: list[Article] | None,
        sentences: list[Sentence] | None,
        chunks: list[Chunk] | None,
        sentence_vectors: np.ndarray | None,
        chunk_vectors: np.ndarray | None,
        sentence_index=None,
        chunk_index=None,
        version: str = "",
        bm25: BM25 | None = None,
        folder: Path | None = None,
        mapped: bool = False,
        read_rows: Callable[[], _Rows] | None = None,
    ):
        """The vectors live in the indexes: `sentence_vectors`/`chunk_vectors` only build an
        index not given. `mapped`: the indexes are memory-mapped (never add to them).
        `read_rows` instead of `articles`, `sentences` and `chunks`: a lazy store, whose rows are
        read on first use (a build that only appends never reads them, see `index/append.py`)."""
        self.manifest = manifest
        self.version = version  # the version folder it was read from (or written to)
        self.folder = folder  # that folder, where the saved BM25 index is
        self._rows: _Rows | None = None
        if articles is not None and sentences is not None and chunks is not None:
            self._rows = _Rows({a.id: a for a in articles}, sentences, chunks, {s.id: i for i, s in enumerate(sentences)})
        self._read_rows = read_rows  # reads them on first use when not given (a lazily loaded version)
        self.sentence_index = sentence_index if sentence_index is not None else vectors.build(sentence_vectors)
        self.chunk_index = chunk_index if chunk_index is not None else vectors.build(chunk_vectors)
        self.mapped = mapped
        self._decoded: dict[str, tuple[int, np.ndarray]] = {}
        self._bm25 = bm25
        self._files: layout.Records | None = None  # the per-file records, read on first use (`files`)
        self.backend: Backend = LocalBackend(self)  # what retrieval searches: FAISS + bm25s, or Milvus (`use_vector_store`)

    def _loaded(self) -> _Rows:
        if self._rows is None:
            assert self._read_rows is not None, "a Store needs its rows or a way to read them"
            self._rows = self._read_rows()
        return self._rows

    @property
    def loaded(self) -> bool:
        """Whether its articles, sentences and chunks are in memory (a lazy store reads them on first use)."""
        return self._rows is not None

    @property
    def articles(self) -> dict[str, Article]:
        return self._loaded().articles

    @property
    def sentences(self) -> list[Sentence]:
        return self._loaded().sentences

    @property
    def chunks(self) -> list[Chunk]:
        return self._loaded().chunks

    @property
    def sentence_row(self) -> dict[str, int]:
        return self._loaded().sentence_row

    @property
    def files(self) -> layout.Records:
        """Each indexed file's record (name -> sha256, size, mtime_ns, its sentence and chunk rows),
        in row order; read on first use (an append reads none), a one-line RagError if unreadable."""
        if self._files is None:
            try:
                self._files = layout.read_records(self.folder or Path("."), self.manifest)
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise RagError(
                    f"index version {self.version} is unreadable ({type(e).__name__}: {str(e)[:120]}): run `rag index` to rebuild"
                ) from None
        return self._files

    @property
    def n_sentences(self) -> int:
        """How many sentences, without reading them (a lazy store counts its vectors)."""
        return len(self._rows.sentences) if self._rows is not None else int(self.sentence_index.ntotal)

    def use_vector_store(self, vector_store: str) -> Store:
        """Search this version in `vector_store` (the config's setting): "faiss" keeps the local
        indexes; a Milvus URI or .db file searches the collections the manifest names."""
        if vector_store and vector_store != "faiss":
            from index.milvus import MilvusBackend

            record = self.manifest.get("milvus")
            if not isinstance(record, dict):
                from rag.config import redact_url

                raise RagError(
                    f"index version {self.version} was built without Milvus: run `rag index` with vector_store = {redact_url(vector_store)}"
                )
            self.backend = MilvusBackend(vector_store, record, local_keyword=LocalBackend(self).keyword)
        return self

    @property
    def sentence_vectors(self) -> np.ndarray:
        """Row i = sentence i's vector, read from the index (a view for float32 kinds, no copy)."""
        return self._vectors("sentences", self.sentence_index)

    @property
    def chunk_vectors(self) -> np.ndarray:
        return self._vectors("chunks", self.chunk_index)

    def _vectors(self, name: str, index) -> np.ndarray:
        if vectors.kind_of(index) in ("flat", "hnsw") and not isinstance(index, vectors.Parts):
            return vectors.vectors_of(index)  # a view, no copy
        n, cached = self._decoded.get(name, (-1, None))
        if n != index.ntotal or cached is None:  # quantised: decoded once per size, not per access
            cached = vectors.vectors_of(index)
            self._decoded[name] = (index.ntotal, cached)
        return cached

    @property
    def bm25(self) -> BM25:
        """The sentences' BM25 index: the one saved with this version, memory-mapped on first use
        (bm25s is imported only then, not at start-up). An index written before BM25 was saved, or
        whose saved one is stale or unreadable, gets one built in memory, as every process once did."""
        if self._bm25 is None:
            from index.lexical import BM25

            n = self.n_sentences
            why = "it has none saved (built before BM25 was saved): `rag index` saves one"
            if self.folder is not None and BM25.saved_in(self.folder):
                try:
                    self._bm25 = BM25.load(self.folder, n)
                    return self._bm25
                except ValueError as e:
                    why = f"{e}: `rag index` saves a new one"
            log.info("index version %s: building its BM25 in memory, %s", self.version or "(unsaved)", why)
            self._bm25 = BM25.build([s.text for s in self.sentences])
        return self._bm25

    def neighbours(self, sentence: Sentence, radius: int = 1) -> list[Sentence]:
        """The sentence with up to `radius` sentences either side, from the same article."""
        row = self.sentence_row[sentence.id]
        lo, hi = row - radius, row + radius
        return [s for s in self.sentences[max(lo, 0) : hi + 1] if s.article_id == sentence.article_id]


def _embed_pending(embedder: Embedder, parts: list[_Part]) -> list[_Part]:
    """Embed the sentences and chunks of the parts that have no vectors yet (in two batches,
    with progress); returns those parts."""
    todo = [p for p in parts if p.pending()]
    if todo:
        new_s = _embed_all(embedder, [s.text for p in todo for s in p.sentences], "sentences")
        new_c = _embed_all(embedder, [c.text for p in todo for c in p.chunks], "chunks")
        i = j = 0
        for p in todo:
            p.sv, p.cv = new_s[i : i + len(p.sentences)], new_c[j : j + len(p.chunks)]
            i, j = i + len(p.sentences), j + len(p.chunks)
    return todo


def _embed_all(embedder: Embedder, texts: list[str], label: str) -> np.ndarray:
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    from tqdm import tqdm

    with tqdm(total=len(texts), desc=f"embedding {label}", unit="text", disable=len(texts) < 64 or None, file=sys.stderr) as bar:
        try:
            return embedder.embed(texts, progress=bar.update)  # type: ignore[call-arg]
        except TypeError:
            out = embedder.embed(texts)
            bar.update(len(texts))
            return out


def _versions() -> dict[str, str]:
    import faiss

    return {"python": platform.python_version(), "numpy": np.__version__, "faiss": faiss.__version__}


def _splitter(chunk_size: int, chunk_overlap: int) -> dict[str, int]:
    return {"version": SPLITTER_VERSION, "chunk_size": chunk_size, "chunk_overlap": chunk_overlap}


def _shape_problem(manifest: Any) -> str | None:
    """What is wrong with the shape of a parsed manifest.json, or None when it looks right."""
    if not isinstance(manifest, dict):
        return f"manifest.json holds a JSON {type(manifest).__name__}, not an object"
    old = manifest.get("format") == 1  # the records in the manifest; format 2: per segment, counted here
    for key, typ in (("embedder", dict), ("splitter", dict), ("files" if old else "segments", dict if old else list), ("corpus", str)):
        if not isinstance(manifest.get(key), typ):
            return f"manifest.json has no valid {key!r}"
    if not all(isinstance(manifest["embedder"].get(k), str) for k in ("name", "fingerprint")):
        return "manifest.json has no valid embedder name and fingerprint"
    if old and not all(isinstance(r, dict) and isinstance(r.get("sha256"), str) for r in manifest["files"].values()):
        return "manifest.json has a file record without a sha256"
    if not old and not all(
        isinstance(x, dict) and all(type(x.get(k)) is int for k in ("articles", "sentences", "chunks")) and isinstance(x.get("names"), str)
        for x in manifest["segments"]
    ):
        return "manifest.json has a segment without its counts and names"
    return None


def check_manifest(manifest: dict[str, Any], embedder_fingerprint: str | None, chunk_size: int, chunk_overlap: int) -> None:
    """Raise a one-line RagError when the index was built with other settings."""
    if isinstance(manifest, dict) and manifest.get("format") not in READABLE:
        raise RagError(f"index format {manifest.get('format')} is not one this version reads ({FORMAT}): run `rag index` to rebuild")
    problem = _shape_problem(manifest)
    if problem:
        raise RagError(f"the index is unreadable ({problem}): run `rag index` to rebuild")
    if embedder_fingerprint and manifest["embedder"]["fingerprint"] != embedder_fingerprint:
        raise RagError(
            f"index was built with embedder {manifest['embedder']['name']} ({manifest['embedder']['fingerprint']}), "
            f"not the configured one ({embedder_fingerprint}): run `rag index` to rebuild"
        )
    if manifest["splitter"] != _splitter(chunk_size, chunk_overlap):
        built = manifest["splitter"]
        if built.get("version") != SPLITTER_VERSION:
            raise RagError(
                f"index was built by an older sentence splitter (version {built.get('version')}, now {SPLITTER_VERSION}): run `rag index` to rebuild"
            )
        raise RagError(
            f"index was built with chunk_size={built.get('chunk_size')}, chunk_overlap={built.get('chunk_overlap')}; "
            f"config asks for chunk_size={chunk_size}, chunk_overlap={chunk_overlap}: run `rag index` to rebuild"
        )


def live_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The live version's manifest as a dict, or None (no index, unreadable, not an object)."""
    try:
        manifest = json.loads((Path(index_dir).resolve() / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def live_files(index_dir: Path) -> layout.Records | None:
    """The live version's per-file records, or None (no index, unreadable)."""
    manifest = live_manifest(index_dir)
    try:
        return layout.read_records(Path(index_dir).resolve(), manifest) if manifest is not None else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def indexed_corpus(index_dir: Path) -> Path | None:
    """The corpus folder the index at `index_dir` was built from, or None (no or unreadable index)."""
    corpus = (live_manifest(index_dir) or {}).get("corpus")
    return Path(corpus) if isinstance(corpus, str) and corpus else None


def load(
    index_dir: Path,
    embedder_fingerprint: str | None = None,
    chunk_size: int = 3,
    chunk_overlap: int = 1,
    vector_store: str = "faiss",
    mmap: bool = True,
    lazy: bool = False,
) -> Store:
    """Load the current index version; a missing or broken index is a one-line RagError.

    `lazy` leaves its articles, sentences and chunks on disk until first used (a build reads
    the previous version so; an append never reads them). Its files are then checked only then.

    `mmap` maps the vector indexes read-only (shared between processes, read lazily); a build
    that adds to them loads them with `mmap=False`.

    The `index` link is resolved once and every file is read from that one version folder,
    so a build swapping the link meanwhile cannot mix two versions. If the folder is pruned
    while we read it (two builds finished meanwhile), the new live version is loaded instead.
    """
    index_dir = Path(index_dir)
    for _ in range(5):
        if not index_dir.exists():
            raise RagError(f"no index at {index_dir}: run `rag index` first")
        root = index_dir.resolve()
        try:
            return _load_version(root, index_dir, embedder_fingerprint, chunk_size, chunk_overlap, mmap, lazy).use_vector_store(
                vector_store
            )
        except RagError:
            if root.exists():
                raise
            log.info("index version %s was pruned while loading it: loading the live one", root.name)
    raise RagError(f"the index at {index_dir} kept changing while loading it: try again")


def _load_version(
    root: Path,
    index_dir: Path,
    embedder_fingerprint: str | None,
    chunk_size: int,
    chunk_overlap: int,
    mmap: bool = True,
    lazy: bool = False,
) -> Store:
    try:
        manifest = json.loads((root / "manifest.json").read_text())
        check_manifest(manifest, embedder_fingerprint, chunk_size, chunk_overlap)
        counts = _counts(manifest)
        rows = None if lazy and counts is not None else _read_rows(root, manifest)
        # The vectors are read from the indexes only (an older version's .npy copies are ignored).
        si, ci = (layout.load_vectors(root, what, manifest, mmap) for what in ("sentences", "chunks"))
    except RagError as e:
        if str(e).startswith("the index is unreadable"):
            raise RagError(f"index at {index_dir} is unreadable{str(e).removeprefix('the index is unreadable')}") from None
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, RuntimeError) as e:
        raise _unreadable(index_dir, e) from None
    n_s, n_c = (len(rows.sentences), len(rows.chunks)) if rows is not None else counts  # type: ignore[misc]
    if si.ntotal != n_s or ci.ntotal != n_c:
        raise RagError(f"index at {index_dir} is inconsistent (vector counts differ): run `rag index` to rebuild")
    store = Store(manifest, None, None, None, None, None, si, ci, version=root.name, folder=root, mapped=mmap)
    if rows is not None:
        store._rows = rows
    else:
        store._read_rows = lambda: _read_checked(root, index_dir, manifest, n_s, n_c)
    return store


def _unreadable(index_dir: Path, e: Exception) -> RagError:
    return RagError(f"index at {index_dir} is unreadable ({type(e).__name__}: {str(e)[:120]}): run `rag index` to rebuild")


def _counts(manifest: dict[str, Any]) -> tuple[int, int] | None:
    """The sentences and chunks the manifest says the version holds (None: it does not say, as
    an index written before segments)."""
    try:
        return sum(int(x["sentences"]) for x in manifest["segments"]), sum(int(x["chunks"]) for x in manifest["segments"])
    except (KeyError, TypeError, ValueError):
        return None


def _read_checked(root: Path, index_dir: Path, manifest: dict[str, Any], n_s: int, n_c: int) -> _Rows:
    """A lazy store's rows, read on first use; a one-line RagError if they are unreadable or
    not the rows its vectors are for."""
    try:
        rows = _read_rows(root, manifest)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
        raise _unreadable(index_dir, e) from None
    if (len(rows.sentences), len(rows.chunks)) != (n_s, n_c):
        raise RagError(f"index at {index_dir} is inconsistent (vector counts differ): run `rag index` to rebuild")
    return rows


def _read_rows(root: Path, manifest: dict[str, Any]) -> _Rows:
    """The articles, sentences and chunks of the version in `root`, from its segments' files."""
    n_segments = len(manifest["segments"]) if isinstance(manifest.get("segments"), list) else 1
    articles, spans = [], {"sentences": [], "chunks": []}
    for i in range(n_segments):  # the articles and spans in segments, concatenated (rows go on across them)
        a_name, s_name = layout.segment_files(i)
        articles += [Article(**{k: v for k, v in a.items() if k != "sha256"}) for a in json.loads((root / a_name).read_text())]
        part = json.loads((root / s_name).read_text())
        spans["sentences"] += part["sentences"]
        spans["chunks"] += part["chunks"]
    by_id = {a.id: a for a in articles}
    sentences = [
        Sentence(id=f"{aid}#{n}", article_id=aid, n=n, start=s, end=e, text=by_id[aid].text[s:e]) for aid, n, s, e in spans["sentences"]
    ]
    row = {s.id: s for s in sentences}
    chunks = []
    for aid, first, last in spans["chunks"]:
        window = [row[f"{aid}#{n}"] for n in range(first, last + 1)]
        a, s0, s1 = by_id[aid], window[0].start, window[-1].end
        chunks.append(
            Chunk(id=f"{aid}@{first}", article_id=aid, sentence_ids=tuple(s.id for s in window), start=s0, end=s1, text=a.text[s0:s1])
        )
    return _Rows(by_id, sentences, chunks, {s.id: i for i, s in enumerate(sentences)})


def _previous(index_dir: Path, embedder: Embedder, chunk_size: int, chunk_overlap: int) -> tuple[Store | None, str]:
    """The previous index to reuse, or None and why not (empty when there was none)."""
    try:
        return load(
            index_dir, embedder.fingerprint, chunk_size, chunk_overlap, mmap=True, lazy=True
        ), ""  # mapped and lazy: read only what is used
    except RagError as e:
        if not index_dir.exists():
            return None, ""
        log.info("not reusing the previous index: %s", e)
        return None, str(e).split(": run `rag index`")[0]


def _is_live(store: Store | None, index_dir: Path, embedder: Embedder, chunk_size: int, chunk_overlap: int) -> bool:
    """Whether an already loaded `store` is the live version, built with these settings."""
    if store is None or not store.version or not index_dir.is_symlink() or index_dir.resolve().name != store.version:
        return False
    try:
        check_manifest(store.manifest, embedder.fingerprint, chunk_size, chunk_overlap)
    except RagError:
        return False
    return True


RACY_NS = 2_000_000_000  # a file changed this close to the previous scan may have changed again unseen: re-hash it


@dataclass
class _Part:
    """One article of the new version: its sentences, chunks and (reused) vectors."""

    article: Article
    record: dict[str, Any]
    sentences: list[Sentence]
    chunks: list[Chunk]
    sv: np.ndarray | None = None  # None: to embed, unless `reuse` names its previous vectors
    cv: np.ndarray | None = None
    rows: tuple[int, int, int, int] | None = None  # its sentence and chunk rows in the previous version, when unchanged
    reuse: tuple[Any, Any] | None = None  # its sentence and chunk rows (slices or lists) whose previous vectors are its own

    def pending(self) -> bool:
        """Whether its vectors are still to be made (embedded)."""
        return self.sv is None and self.reuse is None


MakeParts = Callable[[list[Path], dict[str, str], int, int], Iterable["_Part | Skipped"]]


def _unchanged(prev: Store, rec: dict[str, Any] | None, path: Path, stat: os.stat_result) -> tuple[int, int, int, int] | None:
    """The article's sentence and chunk rows in `prev` when its file is known unchanged from its
    size and mtime alone (not re-read, not re-hashed), else None."""
    if not rec or rec.get("size") != stat.st_size or rec.get("mtime_ns") != stat.st_mtime_ns:
        return None
    if stat.st_mtime_ns >= int(prev.manifest.get("scanned_at_ns", 0)) - RACY_NS:
        return None
    a = prev.articles.get(path.name)
    try:
        s0, s1 = (int(x) for x in rec["sentences"])
        c0, c1 = (int(x) for x in rec["chunks"])
    except (KeyError, TypeError, ValueError):
        return None
    if a is None or a.path != str(path) or not (0 <= s0 < s1 <= len(prev.sentences) and 0 <= c0 < c1 <= len(prev.chunks)):
        return None
    ends = (prev.sentences[s0], prev.sentences[s1 - 1], prev.chunks[c0], prev.chunks[c1 - 1])
    if any(x.article_id != a.id for x in ends) or prev.sentences[s0].n != 0 or prev.sentences[s1 - 1].n != s1 - s0 - 1:
        return None
    return s0, s1, c0, c1


def read_part(path: Path, chunk_size: int, chunk_overlap: int) -> _Part:
    """One file read, hashed, split and chunked, without vectors: what a build (or an ingestion
    worker, see index/workers.py) makes of a new or changed file. Raises ValueError or OSError."""
    stat = path.stat()
    a = read_article(path)
    ss = split(a)
    cs = make_chunks(a, ss, chunk_size, chunk_overlap) if ss else []
    record = {"sha256": content_hash(a.text.encode("utf-8")), "chars": len(a.text), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return _Part(a, record, ss, cs)


def local_parts(paths: list[Path], known: dict[str, str], chunk_size: int, chunk_overlap: int) -> Iterator[_Part | Skipped]:
    """The parts of `paths`, in order, read in this process; vectors are left to the build.

    A build's `make_parts` has this signature: it may also fill the vectors of a part (as the
    Ray workers do), except where `known` (file name -> previous sha256) says the content is
    unchanged, so the build reuses the previous vectors."""
    for path in paths:
        try:
            yield read_part(path, chunk_size, chunk_overlap)
        except (ValueError, OSError) as e:
            yield Skipped(str(path), str(e))


def build(
    corpus: Path,
    index_dir: Path,
    embedder: Embedder,
    chunk_size: int = 3,
    chunk_overlap: int = 1,
    index_kind: str = "auto",
    rebuild: bool = False,
    previous: Store | None = None,
    make_parts: MakeParts | None = None,
    vector_store: str = "faiss",
    added: Sequence[Path] | None = None,
) -> BuildReport:
    """(Re)build the index for `corpus`, re-embedding only files whose content changed.

    The index remembers its corpus folder: building it from another folder is refused unless
    `rebuild` (start over from `corpus`, reusing nothing). Writers hold the index's lock.
    `previous` is the caller's loaded store (the chat's): reused instead of loading the live
    version again when it is that version. `report.store` is the new version, loaded.
    `make_parts` reads, splits (and may embed) the new or changed files elsewhere, e.g. on Ray
    workers (index/workers.py); the default is `local_parts`, with the embedding done here.
    With a Milvus `vector_store` the version is also written to Milvus (`index/milvus.py`).
    `added` names the files known to be new in `corpus`: when adding them only appends, the
    folder is not scanned nor the previous rows read (index/append.py); else a full build.
    """
    corpus, index_dir = Path(corpus), Path(index_dir)
    with versions.writer_lock(index_dir):
        return _build(
            corpus, index_dir, embedder, chunk_size, chunk_overlap, index_kind, rebuild, previous, make_parts, vector_store, added
        )


def _build(
    corpus: Path,
    index_dir: Path,
    embedder: Embedder,
    chunk_size: int,
    chunk_overlap: int,
    index_kind: str,
    rebuild: bool,
    previous: Store | None,
    make_parts: MakeParts | None = None,
    vector_store: str = "faiss",
    added: Sequence[Path] | None = None,
) -> BuildReport:
    t0 = time.perf_counter()
    remembered = indexed_corpus(index_dir)
    if remembered is not None and remembered != corpus.resolve() and not rebuild:
        raise RagError(
            f"the index at {index_dir} holds the articles of {remembered}, not {corpus}: "
            f"run `rag index` to update it, or `rag index {corpus} --rebuild` to replace it"
        )
    if remembered is not None and not rebuild and not corpus.exists():
        raise RagError(f"the indexed corpus folder {corpus} is gone: `rag index FOLDER --rebuild` indexes another one")
    scanned_at = time.time_ns()
    if rebuild:
        prev, why_not = None, ""
    elif _is_live(previous, index_dir, embedder, chunk_size, chunk_overlap):
        prev, why_not = previous, ""
    else:
        prev, why_not = _previous(index_dir, embedder, chunk_size, chunk_overlap)
    if added is not None and prev is not None:
        from index import append

        plan = append.appendable(prev, corpus, added, index_kind, vector_store)
        if plan is not None:
            try:
                told = append.append(prev, plan, corpus, index_dir, embedder, chunk_size, chunk_overlap, index_kind, make_parts, t0)
            except OSError as e:
                log.warning("adding %s without a scan failed (%s): scanning %s", ", ".join(p.name for p in plan.paths), e, corpus)
                told = None
            if told is not None:
                return told
        log.info("not a pure append of %d named files: scanning %s", len(list(added)), corpus)
    elif prev is not None:
        from index import append

        plan = append.scanned(prev, corpus, scanned_at, index_kind, vector_store)
        if plan is not None:  # every indexed file unchanged, new ones after them: append them
            try:
                told = append.append(
                    prev, plan, corpus, index_dir, embedder, chunk_size, chunk_overlap, index_kind, make_parts, t0, scanned_at
                )
            except OSError as e:
                log.warning("appending %d files failed (%s): building in full", len(plan.paths), e)
                told = None
            if told is not None:
                return told
    if prev is not None:
        try:  # a full build compares every file with the previous rows and records: read them now
            prev.sentences  # noqa: B018
            prev.files  # noqa: B018
        except RagError as e:
            log.info("not reusing the previous index: %s", e)
            prev, why_not = None, str(e).split(": run `rag index`")[0]
    files = list_article_files(corpus)
    prev_files: dict[str, Any] = prev.files if prev else {}
    report = BuildReport(note=f"the previous index was not reused ({why_not})" if why_not else "")
    chunk_row: dict[str, int] | None = None

    slots: list[_Part | Path] = []  # the files in order: reused parts, and the paths to read
    for path in files:
        rec = prev_files.get(path.name)
        try:
            stat = path.stat()
        except OSError as e:
            log.warning("skipping %s: %s", path.name, e)
            report.skipped.append(Skipped(str(path), str(e)))
            continue
        rows = _unchanged(prev, rec, path, stat) if prev else None
        if prev and rows:
            s0, s1, c0, c1 = rows
            ss, cs = prev.sentences[s0:s1], prev.chunks[c0:c1]
            slots.append(_Part(prev.articles[path.name], rec, ss, cs, None, None, rows, (slice(s0, s1), slice(c0, c1))))
            report.reused_files.append(path.name)
        else:
            slots.append(path)
    fresh = [x for x in slots if isinstance(x, Path)]
    known = {p.name: prev_files[p.name].get("sha256") for p in fresh if p.name in prev_files}
    made = iter((make_parts or local_parts)(fresh, known, chunk_size, chunk_overlap))
    parts: list[_Part] = []
    for slot in slots:
        part = slot if isinstance(slot, _Part) else next(made)
        if isinstance(part, Skipped):
            log.warning("skipping %s: %s", Path(part.path).name, part.reason)
            report.skipped.append(part)
            continue
        if slot is part:  # reused unchanged, counted above
            parts.append(part)
            continue
        rec, ss, cs, reused = prev_files.get(part.article.id), part.sentences, part.chunks, False
        if part.sv is None and prev and rec and rec.get("sha256") == part.record["sha256"] and all(s.id in prev.sentence_row for s in ss):
            if chunk_row is None:
                chunk_row = {c.id: i for i, c in enumerate(prev.chunks)}  # once per build, not per article
            if all(c.id in chunk_row for c in cs):
                s_rows, c_rows = [prev.sentence_row[s.id] for s in ss], [chunk_row[c.id] for c in cs]
                part.reuse = (s_rows, c_rows)
                if ss and s_rows == list(range(s_rows[0], s_rows[0] + len(ss))) and c_rows == list(range(c_rows[0], c_rows[0] + len(cs))):
                    part.rows = (s_rows[0], s_rows[0] + len(ss), c_rows[0], c_rows[0] + len(cs))  # same rows as before
                reused = True
        (report.reused_files if reused else report.embedded_files).append(part.article.id)
        parts.append(part)
    if not parts:
        raise RagError(f"no readable articles ({', '.join(SUFFIXES)}) in {corpus}")
    before = prev_files if prev else live_files(index_dir)  # also when not reused
    report.removed_files = sorted(set(before if isinstance(before, dict) else ()) - {p.article.id for p in parts})
    report.corpus = str(corpus.resolve())

    t_vectors = time.perf_counter()
    todo = _embed_pending(embedder, parts)
    dim = embedder.dim
    grown = _grown(prev, prev is not previous, parts, index_kind, todo) if prev else None
    unchanged: set[int] = set()  # the previous vector parts carried over as they were
    if grown:
        si, ci, unchanged = grown
    else:
        _take_previous_vectors(prev, parts)
        sv = np.concatenate([p.sv for p in parts if p.sv is not None] + [np.zeros((0, dim), np.float32)]).astype(np.float32)
        cv = np.concatenate([p.cv for p in parts if p.cv is not None] + [np.zeros((0, dim), np.float32)]).astype(np.float32)
        si, ci = vectors.build(sv, index_kind), vectors.build(cv, index_kind)
        del sv, cv
    report.vectors_seconds = time.perf_counter() - t_vectors

    sentences: list[Sentence] = []
    chunks: list[Chunk] = []
    files_out: dict[str, dict[str, Any]] = {}
    for p in parts:
        rows = {"sentences": [len(sentences), len(sentences) + len(p.sentences)], "chunks": [len(chunks), len(chunks) + len(p.chunks)]}
        files_out[p.article.id] = {**{k: v for k, v in p.record.items() if k not in rows}, **rows}
        sentences.extend(p.sentences)
        chunks.extend(p.chunks)
    articles = [p.article for p in parts]
    kept = _appends(prev, parts) if prev else None  # how many leading parts are the previous version, unchanged
    t = time.perf_counter()
    if prev is not None and kept is not None:
        new_texts = [s.text for p in parts[kept:] for s in p.sentences]
        bm25 = prev.bm25.extend(new_texts) if new_texts else prev.bm25
        log.info("BM25: %d sentences added as a segment in %.2f s", len(new_texts), time.perf_counter() - t)
    else:
        bm25 = _bm25(sentences)
    report.bm25_seconds = time.perf_counter() - t
    segments = _segments(prev, parts, kept)
    records = layout.split_records(files_out, segments)
    manifest = {
        "format": FORMAT,
        "corpus": str(corpus.resolve()),
        "embedder": {"name": embedder.name, "fingerprint": embedder.fingerprint, "dim": dim},
        "splitter": _splitter(chunk_size, chunk_overlap),
        "index_kind": vectors.kind_of(si),
        "vector_parts": {"sentences": len(vectors.parts_of(si)), "chunks": len(vectors.parts_of(ci))},
        "vectors": "in the .faiss indexes only",
        "segments": [
            {"articles": a, "sentences": n_s, "chunks": n_c, "names": layout.names_digest(r)}
            for (a, n_s, n_c, _), r in zip(segments, records, strict=True)
        ],
        "last_file": max(files_out, default=""),
        "counts": {"articles": len(articles), "sentences": len(sentences), "chunks": len(chunks)},
        "versions": _versions(),
        "scanned_at_ns": scanned_at,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    replaced = index_dir.resolve() if index_dir.is_symlink() else None
    milvus = _milvus_write(vector_store, index_dir, manifest, sentences, si, chunks, ci)
    linkable = {}  # id of a vector part kept unchanged -> its file in the previous version
    if prev is not None and prev.folder is not None:
        for what, index in (("sentences", prev.sentence_index), ("chunks", prev.chunk_index)):
            for i, part in enumerate(vectors.parts_of(index)):
                if id(part) in unchanged:
                    linkable[id(part)] = prev.folder / layout.vector_file(what, i)
    same = _same_records(prev, segments, records)
    t = time.perf_counter()
    final = versions.publish(
        index_dir, lambda folder: layout.write(folder, manifest, parts, segments, list(records), si, ci, bm25, linkable, same)
    )
    report.write_seconds = time.perf_counter() - t
    versions.prune(index_dir, keep=[replaced] if replaced else [])
    if milvus is not None:
        milvus.prune(vector_store, index_dir, versions.versions_dir(index_dir))
    report.articles, report.sentences, report.chunks = len(articles), len(sentences), len(chunks)
    report.seconds = time.perf_counter() - t0
    report.path = str(index_dir)
    report.store = Store(manifest, articles, sentences, chunks, None, None, si, ci, version=final.name, folder=final, bm25=bm25)
    report.store._files = files_out
    report.store.use_vector_store(vector_store)
    return report


def _same_records(prev: Store | None, segments: layout.Layout, records: list[layout.Records]) -> list[int]:
    """The kept segments whose records are the previous version's, unchanged (their records file
    is linked). A kept file touched but not changed keeps its rows, with a new mtime: its
    segment's records are written again."""
    if prev is None or prev.folder is None or isinstance(prev.manifest.get("files"), dict):
        return []  # format 1: every segment's records written in their own file, once
    old = layout.split_records(prev.files, segments)
    return [i for i, (recs, (_, _, _, source)) in enumerate(zip(records, segments, strict=True)) if source is not None and recs == old[i]]


def _milvus_write(vector_store: str, index_dir: Path, manifest: dict[str, Any], sentences, si, chunks, ci) -> Any:
    """With Milvus selected, write the version's collections (before it is published, so a
    published version always has them) and name them in its manifest; returns `index.milvus`."""
    if not vector_store or vector_store == "faiss":
        return None
    from index import milvus

    sv, cv = vectors.vectors_of(si), vectors.vectors_of(ci)  # the one copy, read from the FAISS indexes
    manifest["milvus"] = milvus.write(vector_store, index_dir, sentences, sv, chunks, cv)
    return milvus


def _grown(prev: Store, owned: bool, parts: list[_Part], index_kind: str, todo: list[_Part]) -> tuple[Any, Any, set[int]] | None:
    """The previous version's vector indexes with the new articles' vectors after them, when this
    build only appends: every previous article unchanged, in its order, then only new ones.
    Else None (the caller rebuilds from the reused vectors). Also the ids of the previous parts
    kept unchanged (their files are linked into the new version, not written again).

    The new vectors are one more flat part (`vectors.appended`), up to `vectors.MAX_PARTS` parts
    and `vectors.MAX_APPENDED` appended vectors; past that they are all added to the main index
    (HNSW takes `add` without a rebuild). `owned`: `prev` was loaded by this build, unmapped and
    used by nobody else, so its main index may be extended in place; otherwise a fresh copy is
    read from disk.
    """
    old = [p for p in parts if p.rows is not None]
    if len(old) + len(todo) != len(parts) or not all(a is b for a, b in zip(parts, old, strict=False)):
        return None
    s = c = 0
    for p in old:
        assert p.rows is not None
        if p.rows != (s, s + len(p.sentences), c, c + len(p.chunks)):
            return None
        s, c = s + len(p.sentences), c + len(p.chunks)
    if s != len(prev.sentences) or c != len(prev.chunks):
        return None  # some previous article is gone: rebuild (HNSW cannot drop vectors)
    n_s, n_c = s + sum(len(p.sentences) for p in todo), c + sum(len(p.chunks) for p in todo)
    kinds = (vectors.kind_of(prev.sentence_index), vectors.kind_of(prev.chunk_index))
    if kinds != (vectors.choose(index_kind, n_s), vectors.choose(index_kind, n_c)):
        return None  # the size crossed the flat/HNSW threshold, or another kind was asked for
    s_parts, c_parts = vectors.parts_of(prev.sentence_index), vectors.parts_of(prev.chunk_index)
    if not todo:  # nothing new: the previous indexes as they are
        return prev.sentence_index, prev.chunk_index, {id(x) for x in s_parts + c_parts}
    t = time.perf_counter()
    new_s = np.concatenate([p.sv for p in todo if p.sv is not None] + [np.zeros((0, prev.sentence_index.d), np.float32)])
    new_c = np.concatenate([p.cv for p in todo if p.cv is not None] + [np.zeros((0, prev.chunk_index.d), np.float32)])
    if (
        max(len(s_parts), len(c_parts)) < vectors.MAX_PARTS
        and max(n_s - s_parts[0].ntotal, n_c - c_parts[0].ntotal) <= vectors.MAX_APPENDED
        and prev.folder is not None
    ):
        # One more small flat part each: the previous parts are neither changed nor written again.
        si = vectors.appended(prev.sentence_index, new_s) if len(new_s) else prev.sentence_index
        ci = vectors.appended(prev.chunk_index, new_c) if len(new_c) else prev.chunk_index
        log.info("appended %d sentence and %d chunk vectors as a flat part in %.2f s", n_s - s, n_c - c, time.perf_counter() - t)
        return si, ci, {id(x) for x in s_parts + c_parts}
    # Too many parts: every appended vector goes into the main index (HNSW takes `add`), written once.
    if owned and not prev.mapped and len(s_parts) == len(c_parts) == 1:
        si, ci = prev.sentence_index, prev.chunk_index
    elif prev.folder is not None and (prev.folder / "sentences.faiss").exists():
        si, ci = vectors.load(prev.folder / "sentences.faiss"), vectors.load(prev.folder / "chunks.faiss")
    else:
        return None
    if si.ntotal != s_parts[0].ntotal or ci.ntotal != c_parts[0].ntotal:
        return None
    vectors.add(si, np.concatenate([vectors.vectors_of(x) for x in s_parts[1:]] + [new_s]))
    vectors.add(ci, np.concatenate([vectors.vectors_of(x) for x in c_parts[1:]] + [new_c]))
    log.info(
        "added %d sentence and %d chunk vectors to the previous %s index in %.2f s",
        n_s - s_parts[0].ntotal,
        n_c - c_parts[0].ntotal,
        kinds[0],
        time.perf_counter() - t,
    )
    return si, ci, set()


def _take_previous_vectors(prev: Store | None, parts: list[_Part]) -> None:
    """Fill in the vectors the parts reuse from `prev` (read from its indexes once, only when
    the indexes are rebuilt: an append never reads them)."""
    if prev is None or not any(p.reuse is not None and p.sv is None for p in parts):
        return
    sv, cv = prev.sentence_vectors, prev.chunk_vectors
    for p in parts:
        if p.reuse is not None and p.sv is None:
            p.sv, p.cv = sv[p.reuse[0]], cv[p.reuse[1]]


def _bm25(sentences: list[Sentence]) -> BM25:
    """The BM25 index of a new version, over all its sentences (rebuilt per version: seconds at 1M)."""
    from index.lexical import BM25

    t = time.perf_counter()
    bm25 = BM25.build([s.text for s in sentences])
    log.info("BM25 over %d sentences built in %.2f s", len(sentences), time.perf_counter() - t)
    return bm25


def _appends(prev: Store, parts: list[_Part]) -> int | None:
    """How many leading `parts` are the previous version's articles, unchanged and in their
    rows, when they are all of it (the build only appends after them); else None."""
    s = c = m = 0
    for p in parts:
        if p.rows is None or p.rows != (s, s + len(p.sentences), c, c + len(p.chunks)):
            break
        s, c, m = s + len(p.sentences), c + len(p.chunks), m + 1
    return m if (s, c) == (len(prev.sentences), len(prev.chunks)) else None


def _segments(prev: Store | None, parts: list[_Part], kept: int | None) -> layout.Layout:
    """The new version's segments of articles and spans: the previous version's (their files
    hard-linked, never rewritten) and one for the appended articles; one in all otherwise."""
    whole: layout.Layout = [(len(parts), sum(len(p.sentences) for p in parts), sum(len(p.chunks) for p in parts), None)]
    if prev is None or kept is None or prev.folder is None:
        return whole
    old = prev.manifest.get("segments")
    counts = (
        old if isinstance(old, list) else [{"articles": len(prev.articles), "sentences": len(prev.sentences), "chunks": len(prev.chunks)}]
    )
    try:
        out: layout.Layout = [(int(c["articles"]), int(c["sentences"]), int(c["chunks"]), prev.folder) for c in counts]
    except (KeyError, TypeError, ValueError):
        return whole
    if sum(x[0] for x in out) != kept:
        return whole
    new = parts[kept:]
    if new:
        out.append((len(new), sum(len(p.sentences) for p in new), sum(len(p.chunks) for p in new), None))
    return out if len(out) <= layout.MAX_SEGMENTS else whole
