"""Appending new files without reading the previous version's rows: told them, or by a cheap scan.

A build told which files are new (`build(..., added=[...])`: the chat's upload, `rag index
FILE`) need not stat every file of the corpus nor parse the previous version's articles and
spans into sentence objects: when the named files are all new and sort after every indexed
file (as a full build would then only append them), the new version is the previous one plus
one segment, written from the previous manifest (a few totals), the new files and nothing else:
no per-file record of the previous version is read or written (format 2; a format-1 index's
records, all in its manifest, are written once into its segments' files by its first add). The
previous version's segment files (articles, spans, file records), vector parts and BM25
segments are hard-linked (index/layout.py), its
vectors get one more flat part (`vectors.appended`), its BM25 one more segment; the published
version is the same, file for file and row for row, as the full scan's append would write.

Anything else returns None and the caller does the full build, which is always correct: a named
file already indexed (changed), one sorting before an indexed file, a file gone from the folder
or one there unnamed and unindexed (the folder's names are listed, one directory read, no stat
per file, and compared with each segment's digest of its names), too many segments or vector parts (the full build merges them), a vector kind that
no longer fits the size, or Milvus. The files not named are not stat-ed nor read: one changed
in place is found by the next plain `rag index`. The previous scan time stays in the manifest,
so that scan re-checks any file changed around it exactly as it would have. An article's stored
path is `corpus / name` as the caller spelled `corpus` (a relative or absolute form of the same
folder may differ from the earlier articles'; the full build re-reads such files).

A plain build (no files named) first tries `scanned`: one stat per file compared with its record
(no per-sentence object built); when every indexed file is there and unchanged and the new ones
sort last, they are appended the same way. Anything else is the full build.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index import layout, vectors, versions
from index.embedding import Embedder
from index.reading import SUFFIXES, Skipped, article_names, content_hash, read_article
from index.store import FORMAT, RACY_NS, BuildReport, MakeParts, Store, _embed_pending, _Part, _read_checked, _Rows, _versions, local_parts
from rag.errors import RagError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """An append: the new files, in the order a full build lists them, and the indexed files'
    names (the folder's other names, checked to be the index's own)."""

    paths: list[Path]
    kept: list[str]


def appendable(
    prev: Store | None, corpus: Path, added: Iterable[Path], index_kind: str, vector_store: str, listed: list[str] | None = None
) -> Plan | None:
    """The plan for adding the named files when it is a pure append to `prev` (see the module
    docstring); else None. Reads no file record of `prev` (format 2): the folder's names are
    checked against its segments' name digests."""
    if prev is None or prev.folder is None or (vector_store and vector_store != "faiss"):
        return None
    segments = prev.manifest.get("segments")
    old = prev.manifest.get("files")  # format 1: every record in the manifest
    if not isinstance(segments, list) or len(segments) >= layout.MAX_SEGMENTS:
        return None
    last = max(old, default="") if isinstance(old, dict) else prev.manifest.get("last_file")
    if not isinstance(last, str):
        return None
    root = corpus.resolve()
    paths = sorted({Path(p) for p in added}, key=lambda p: p.name)
    for p in paths:
        if p.parent.resolve() != root or p.suffix.lower() not in SUFFIXES or p.name <= last:
            return None  # (an indexed file sorts at or before the last one)
    s_parts, c_parts = vectors.parts_of(prev.sentence_index), vectors.parts_of(prev.chunk_index)
    if not paths or max(len(s_parts), len(c_parts)) >= vectors.MAX_PARTS:
        return None
    # The folder's names (one directory read, no stat per file): a file removed, or one added
    # unnamed, is for the full build, which drops or adds it as a scan always did.
    new = {p.name for p in paths}
    listed = listed if listed is not None else article_names(corpus)
    if not new <= set(listed):
        return None
    kept = [n for n in listed if n not in new]  # sorted, as the index's rows are
    if not _indexed(prev.manifest, kept):
        return None
    return Plan([corpus / p.name for p in paths], kept)


def _indexed(manifest: dict[str, Any], names: list[str]) -> bool:
    """Whether `names` (sorted) are exactly the files the version indexes."""
    old = manifest.get("files")
    if isinstance(old, dict):
        return len(old) == len(names) and set(old) == set(names)
    a0 = 0
    for seg in manifest["segments"]:
        n = int(seg["articles"])
        if layout.names_digest(names[a0 : a0 + n]) != seg.get("names"):
            return False
        a0 += n
    return a0 == len(names)


def scanned(prev: Store | None, corpus: Path, scanned_at: int, index_kind: str, vector_store: str) -> Plan | None:
    """The plan for the new files of `corpus` when a plain build (a scan) would only append
    them to `prev`: every indexed file still there and unchanged, the new ones sorting last;
    else None.

    One `os.stat` per file, compared with its record; no previous row is read. A file whose
    size or mtime differs from its record is for the full build; one whose mtime is too close
    to the previous scan to trust is read and hashed (the same content is unchanged).
    """
    if prev is None:
        return None
    try:
        files = prev.files
    except RagError:
        return None
    listed = article_names(corpus)
    names = set(listed)
    if not names >= set(files):
        return None  # a file is gone: the full build drops it
    new = [corpus / n for n in listed if n not in files]
    plan = appendable(prev, corpus, new, index_kind, vector_store, listed) if new else None
    if plan is None:
        return None
    racy_before = int(prev.manifest.get("scanned_at_ns", 0)) - RACY_NS
    folder = os.fspath(corpus)
    for name, rec in files.items():
        path = os.path.join(folder, name)  # a str: no Path per file
        try:
            st = os.stat(path)
            if rec.get("size") != st.st_size or rec.get("mtime_ns") != st.st_mtime_ns:
                return None  # changed or touched: the full build re-reads it (and refreshes its record)
            if st.st_mtime_ns >= racy_before and content_hash(read_article(Path(path)).text.encode("utf-8")) != rec.get("sha256"):
                return None  # changed unseen, around the previous scan
        except (OSError, ValueError):
            return None
    return plan


def append(
    prev: Store,
    plan: Plan,
    corpus: Path,
    index_dir: Path,
    embedder: Embedder,
    chunk_size: int,
    chunk_overlap: int,
    index_kind: str,
    make_parts: MakeParts | None,
    t0: float,
    scanned_at: int | None = None,
) -> BuildReport | None:
    """Write and publish `prev` plus the plan's files (from `appendable` or `scanned`) as one more
    segment; None when it turns out not to be a pure append (nothing readable, the vector
    limits), nothing written. `scanned_at`: when `scanned` looked at every file (else the
    previous scan's time stays)."""
    report = BuildReport()
    parts: list[_Part] = []
    for part in (make_parts or local_parts)(plan.paths, {}, chunk_size, chunk_overlap):
        if isinstance(part, Skipped):
            log.warning("skipping %s: %s", Path(part.path).name, part.reason)
            report.skipped.append(part)
        else:
            parts.append(part)
    if not parts:
        return None
    n_s0, n_c0 = prev.n_sentences, int(prev.chunk_index.ntotal)
    n_s, n_c = n_s0 + sum(len(p.sentences) for p in parts), n_c0 + sum(len(p.chunks) for p in parts)
    s_parts, c_parts = vectors.parts_of(prev.sentence_index), vectors.parts_of(prev.chunk_index)
    if (vectors.kind_of(prev.sentence_index), vectors.kind_of(prev.chunk_index)) != (
        vectors.choose(index_kind, n_s),
        vectors.choose(index_kind, n_c),
    ) or max(n_s - s_parts[0].ntotal, n_c - c_parts[0].ntotal) > vectors.MAX_APPENDED:
        return None  # the full build adds them to the main index, or rebuilds it

    t = time.perf_counter()
    _embed_pending(embedder, parts)
    dim = prev.sentence_index.d
    sv = np.concatenate([p.sv for p in parts if p.sv is not None] + [np.zeros((0, dim), np.float32)]).astype(np.float32)
    cv = np.concatenate([p.cv for p in parts if p.cv is not None] + [np.zeros((0, dim), np.float32)]).astype(np.float32)
    si = vectors.appended(prev.sentence_index, sv) if len(sv) else prev.sentence_index
    ci = vectors.appended(prev.chunk_index, cv) if len(cv) else prev.chunk_index
    report.vectors_seconds = time.perf_counter() - t

    t = time.perf_counter()
    new_texts = [s.text for p in parts for s in p.sentences]
    bm25 = prev.bm25.extend(new_texts) if new_texts else prev.bm25
    report.bm25_seconds = time.perf_counter() - t

    added: layout.Records = {}
    s, c = n_s0, n_c0
    # Records as the full build writes them (a record's keys from `read_part`, then its rows).
    for p in parts:
        rows = {"sentences": [s, s + len(p.sentences)], "chunks": [c, c + len(p.chunks)]}
        added[p.article.id] = {**{k: v for k, v in p.record.items() if k not in rows}, **rows}
        s, c = s + len(p.sentences), c + len(p.chunks)
    old = prev.manifest["segments"]
    segments: layout.Layout = [(int(x["articles"]), int(x["sentences"]), int(x["chunks"]), prev.folder) for x in old]
    n_prev = sum(a for a, _, _, _ in segments)
    if isinstance(prev.manifest.get("files"), dict):  # format 1: its records are written in its segments' files, once
        if len(prev.manifest["files"]) != n_prev:
            return None
        records: list[layout.Records | None] = list(layout.split_records(prev.manifest["files"], segments))
        digests = [layout.names_digest(r) for r in records]
    else:  # linked with the segments' other files
        records, digests = [None] * len(segments), [str(x["names"]) for x in old]
    segments.append((len(parts), n_s - n_s0, n_c - n_c0, None))
    records.append(added)
    digests.append(layout.names_digest(added))
    manifest = {
        "format": FORMAT,
        "corpus": prev.manifest["corpus"],
        "embedder": prev.manifest["embedder"],
        "splitter": prev.manifest["splitter"],
        "index_kind": vectors.kind_of(si),
        "vector_parts": {"sentences": len(vectors.parts_of(si)), "chunks": len(vectors.parts_of(ci))},
        "vectors": "in the .faiss indexes only",
        "segments": [{"articles": a, "sentences": x, "chunks": y, "names": d} for (a, x, y, _), d in zip(segments, digests, strict=True)],
        "last_file": max(added),
        "counts": {"articles": n_prev + len(parts), "sentences": n_s, "chunks": n_c},
        "versions": _versions(),
        "scanned_at_ns": scanned_at if scanned_at is not None else prev.manifest.get("scanned_at_ns", 0),  # unscanned: the previous scan's
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    assert prev.folder is not None
    linkable = {
        id(x): prev.folder / layout.vector_file(what, i)
        for what, xs in (("sentences", s_parts), ("chunks", c_parts))
        for i, x in enumerate(xs)
    }
    slots: list[Any] = [None] * n_prev + parts  # the previous articles' segments are linked, never written
    replaced = index_dir.resolve() if index_dir.is_symlink() else None
    t = time.perf_counter()
    final = versions.publish(index_dir, lambda folder: layout.write(folder, manifest, slots, segments, records, si, ci, bm25, linkable))
    report.write_seconds = time.perf_counter() - t
    versions.prune(index_dir, keep=[replaced] if replaced else [])

    store = Store(manifest, None, None, None, None, None, si, ci, version=final.name, folder=final, bm25=bm25)
    if prev._files is not None:  # records read already (a scan, the chat's upload): carried over, else read on first use
        store._files = {**prev._files, **added}
    if prev.loaded:  # the chat's store: the new one is its rows plus the new ones, ready to serve
        rows = prev._loaded()
        new_ss = [x for p in parts for x in p.sentences]
        sentence_row = dict(rows.sentence_row)
        sentence_row.update((x.id, n_s0 + i) for i, x in enumerate(new_ss))
        store._rows = _Rows(
            {**rows.articles, **{p.article.id: p.article for p in parts}},
            rows.sentences + new_ss,
            rows.chunks + [x for p in parts for x in p.chunks],
            sentence_row,
        )
    else:  # read from the new version on first use, as `load(lazy=True)` does
        store._read_rows = lambda: _read_checked(final, index_dir, manifest, n_s, n_c)
    report.store = store
    report.embedded_files = [p.article.id for p in parts]  # new files: embedded here or by `make_parts`
    report.reused_files = plan.kept
    report.articles, report.sentences, report.chunks = n_prev + len(parts), n_s, n_c
    report.corpus = str(corpus.resolve())
    report.path = str(index_dir)
    report.seconds = time.perf_counter() - t0
    log.info("appended %d articles (%d sentences) as segment %d, the previous rows not read", len(parts), n_s - n_s0, len(segments) - 1)
    return report
