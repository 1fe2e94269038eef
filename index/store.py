"""The on-disk index: articles, sentences, chunks, their vectors and a manifest.

Layout (`<data>/index` is a symlink to one complete version folder):

    index -> versions/20260101T120000-ab12/
             manifest.json   embedder, splitter, per-file hashes, versions, created_at
             articles.json   id, title, date, path, sha256, text
             spans.json      sentence and chunk spans
             sentences.npy   sentence vectors      sentences.faiss
             chunks.npy      chunk vectors         chunks.faiss

A build writes a new version folder and then swaps the symlink with one atomic
`os.replace`, so a crash never leaves a half-written index in use. Re-indexing reuses the
vectors of files whose content hash is unchanged; files that are gone simply are not in
the new version.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index import vectors
from index.chunking import SPLITTER_VERSION, make_chunks, split
from index.embedding import Embedder
from index.reading import Skipped, content_hash, read_folder
from rag.errors import RagError
from rag.types import Article, Chunk, Sentence

log = logging.getLogger(__name__)

FORMAT = 1


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
    path: str = ""


class Store:
    """A loaded index. Sentences and chunks are addressed by their row number."""

    def __init__(
        self,
        manifest: dict[str, Any],
        articles: list[Article],
        sentences: list[Sentence],
        chunks: list[Chunk],
        sentence_vectors: np.ndarray,
        chunk_vectors: np.ndarray,
        sentence_index=None,
        chunk_index=None,
    ):
        self.manifest = manifest
        self.articles = {a.id: a for a in articles}
        self.sentences = sentences
        self.chunks = chunks
        self.sentence_vectors = sentence_vectors
        self.chunk_vectors = chunk_vectors
        self.sentence_index = sentence_index if sentence_index is not None else vectors.build(sentence_vectors)
        self.chunk_index = chunk_index if chunk_index is not None else vectors.build(chunk_vectors)
        self.sentence_row = {s.id: i for i, s in enumerate(sentences)}
        self._bm25 = None

    @property
    def bm25(self):
        if self._bm25 is None:
            from index.lexical import BM25

            self._bm25 = BM25([s.text for s in self.sentences])
        return self._bm25

    def neighbours(self, sentence: Sentence, radius: int = 1) -> list[Sentence]:
        """The sentence with up to `radius` sentences either side, from the same article."""
        row = self.sentence_row[sentence.id]
        lo, hi = row - radius, row + radius
        return [s for s in self.sentences[max(lo, 0) : hi + 1] if s.article_id == sentence.article_id]


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


def check_manifest(manifest: dict[str, Any], embedder_fingerprint: str | None, chunk_size: int, chunk_overlap: int) -> None:
    """Raise a one-line RagError when the index was built with other settings."""
    if manifest.get("format") != FORMAT:
        raise RagError(f"index format {manifest.get('format')} is not {FORMAT}: run `rag index` to rebuild")
    if embedder_fingerprint and manifest["embedder"]["fingerprint"] != embedder_fingerprint:
        raise RagError(
            f"index was built with embedder {manifest['embedder']['name']} ({manifest['embedder']['fingerprint']}), "
            f"not the configured one ({embedder_fingerprint}): run `rag index` to rebuild"
        )
    if manifest["splitter"] != _splitter(chunk_size, chunk_overlap):
        raise RagError(
            f"index was built with splitter {manifest['splitter']}, config asks for chunk_size={chunk_size}, "
            f"chunk_overlap={chunk_overlap}: run `rag index` to rebuild"
        )


def load(index_dir: Path, embedder_fingerprint: str | None = None, chunk_size: int = 3, chunk_overlap: int = 1) -> Store:
    """Load the current index version; a missing or broken index is a one-line RagError."""
    index_dir = Path(index_dir)
    if not index_dir.exists():
        raise RagError(f"no index at {index_dir}: run `rag index` first")
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text())
        check_manifest(manifest, embedder_fingerprint, chunk_size, chunk_overlap)
        articles = [Article(**{k: v for k, v in a.items() if k != "sha256"}) for a in json.loads((index_dir / "articles.json").read_text())]
        by_id = {a.id: a for a in articles}
        spans = json.loads((index_dir / "spans.json").read_text())
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
        sv = np.load(index_dir / "sentences.npy")
        cv = np.load(index_dir / "chunks.npy")
        si = vectors.load(index_dir / "sentences.faiss")
        ci = vectors.load(index_dir / "chunks.faiss")
    except RagError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        raise RagError(f"index at {index_dir} is unreadable ({type(e).__name__}: {str(e)[:120]}): run `rag index` to rebuild") from None
    if len(sv) != len(sentences) or len(cv) != len(chunks) or si.ntotal != len(sentences) or ci.ntotal != len(chunks):
        raise RagError(f"index at {index_dir} is inconsistent (vector counts differ): run `rag index` to rebuild")
    return Store(manifest, articles, sentences, chunks, sv, cv, si, ci)


def _previous(index_dir: Path, embedder: Embedder, chunk_size: int, chunk_overlap: int) -> Store | None:
    try:
        return load(index_dir, embedder.fingerprint, chunk_size, chunk_overlap)
    except RagError as e:
        if index_dir.exists():
            log.info("not reusing the previous index: %s", e)
        return None


def build(
    corpus: Path, index_dir: Path, embedder: Embedder, chunk_size: int = 3, chunk_overlap: int = 1, index_kind: str = "auto"
) -> BuildReport:
    """(Re)build the index for `corpus`, re-embedding only files whose content changed."""
    t0 = time.perf_counter()
    corpus, index_dir = Path(corpus), Path(index_dir)
    articles, skipped = read_folder(corpus)
    prev = _previous(index_dir, embedder, chunk_size, chunk_overlap)
    prev_hashes = prev.manifest["files"] if prev else {}
    report = BuildReport(skipped=skipped)

    sentences: list[Sentence] = []
    chunks: list[Chunk] = []
    sv_parts: list[np.ndarray] = []
    cv_parts: list[np.ndarray] = []
    hashes: dict[str, dict[str, Any]] = {}
    todo: list[tuple[int, list[Sentence], list[Chunk]]] = []
    for a in articles:
        digest = content_hash(a.text.encode("utf-8"))
        hashes[a.id] = {"sha256": digest, "chars": len(a.text)}
        ss = split(a)
        cs = make_chunks(a, ss, chunk_size, chunk_overlap) if ss else []
        if prev and prev_hashes.get(a.id, {}).get("sha256") == digest:
            rows = [prev.sentence_row[s.id] for s in ss]
            crow = {c.id: i for i, c in enumerate(prev.chunks)}
            sv_parts.append(prev.sentence_vectors[rows])
            cv_parts.append(prev.chunk_vectors[[crow[c.id] for c in cs]])
            report.reused_files.append(a.id)
        else:
            todo.append((len(sv_parts), ss, cs))
            sv_parts.append(np.zeros((0, embedder.dim), np.float32))
            cv_parts.append(np.zeros((0, embedder.dim), np.float32))
            report.embedded_files.append(a.id)
        sentences.extend(ss)
        chunks.extend(cs)
    report.removed_files = sorted(set(prev_hashes) - set(hashes))

    if todo:
        new_s = _embed_all(embedder, [s.text for _, ss, _ in todo for s in ss], "sentences")
        new_c = _embed_all(embedder, [c.text for _, _, cs in todo for c in cs], "chunks")
        i = j = 0
        for slot, ss, cs in todo:
            sv_parts[slot], cv_parts[slot] = new_s[i : i + len(ss)], new_c[j : j + len(cs)]
            i, j = i + len(ss), j + len(cs)
    dim = embedder.dim
    sv = np.concatenate(sv_parts).astype(np.float32) if sv_parts else np.zeros((0, dim), np.float32)
    cv = np.concatenate(cv_parts).astype(np.float32) if cv_parts else np.zeros((0, dim), np.float32)
    si, ci = vectors.build(sv, index_kind), vectors.build(cv, index_kind)

    manifest = {
        "format": FORMAT,
        "corpus": str(corpus.resolve()),
        "embedder": {"name": embedder.name, "fingerprint": embedder.fingerprint, "dim": dim},
        "splitter": _splitter(chunk_size, chunk_overlap),
        "index_kind": vectors.kind_of(si),
        "files": hashes,
        "counts": {"articles": len(articles), "sentences": len(sentences), "chunks": len(chunks)},
        "versions": _versions(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_atomically(index_dir, manifest, articles, hashes, sentences, chunks, sv, cv, si, ci)
    report.articles, report.sentences, report.chunks = len(articles), len(sentences), len(chunks)
    report.seconds = time.perf_counter() - t0
    report.path = str(index_dir)
    return report


def _write_atomically(
    index_dir: Path,
    manifest: dict[str, Any],
    articles: Iterable[Article],
    hashes: dict[str, dict[str, Any]],
    sentences: list[Sentence],
    chunks: list[Chunk],
    sv: np.ndarray,
    cv: np.ndarray,
    si,
    ci,
) -> None:
    versions_dir = index_dir.parent / (index_dir.name + "-versions")
    versions_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = versions_dir / (stamp + ".tmp")
    tmp.mkdir()
    try:
        (tmp / "articles.json").write_text(
            json.dumps(
                [
                    {"id": a.id, "title": a.title, "date": a.date, "path": a.path, "sha256": hashes[a.id]["sha256"], "text": a.text}
                    for a in articles
                ],
                ensure_ascii=False,
            )
        )
        (tmp / "spans.json").write_text(
            json.dumps(
                {
                    "sentences": [[s.article_id, s.n, s.start, s.end] for s in sentences],
                    "chunks": [
                        [c.article_id, int(c.sentence_ids[0].rsplit("#", 1)[1]), int(c.sentence_ids[-1].rsplit("#", 1)[1])] for c in chunks
                    ],
                }
            )
        )
        np.save(tmp / "sentences.npy", sv)
        np.save(tmp / "chunks.npy", cv)
        vectors.save(si, tmp / "sentences.faiss")
        vectors.save(ci, tmp / "chunks.faiss")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))  # written last: marks the version complete
        final = versions_dir / stamp
        tmp.rename(final)
        link_tmp = index_dir.parent / (index_dir.name + f".link-{os.getpid()}")
        if link_tmp.is_symlink() or link_tmp.exists():
            link_tmp.unlink()
        link_tmp.symlink_to(final.relative_to(index_dir.parent))
        if index_dir.exists() and not index_dir.is_symlink():
            raise RagError(f"{index_dir} exists and is not an index link made by `rag index`; move it away first")
        os.replace(link_tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # Keep the newest two versions (the live one and its predecessor) and drop the rest.
    live = index_dir.resolve()
    for old in sorted(p for p in versions_dir.iterdir() if p.is_dir())[:-2]:
        if old.resolve() != live:
            shutil.rmtree(old, ignore_errors=True)
