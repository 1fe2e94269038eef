"""The files of one index version folder, written in segments and read back (index/store.py).

    articles.json, spans.json             segment 0: its articles and sentence/chunk spans
    files.json                            segment 0: one record per file (sha256, size, mtime, rows)
    articles.<i>.json, spans.<i>.json,    segment i, appended by a later build
    files.<i>.json
    sentences.faiss, chunks.faiss         the main vector indexes
    sentences.<i>.faiss, chunks.<i>.faiss vector parts appended later (small, flat)

A file, once in a published version, is never written again: a new version hard-links the
previous version's files it keeps (`link`) and writes only what is new, so an append costs
what is appended and a crash mid-build leaves every published version whole. Where hard links
fail (another file system) the file is written instead.

The per-file records live with their segment (format 2), so an append writes only the new
file's record and a manifest of a few totals; the manifest keeps, per segment, a digest of its
file names (`names_digest`), which lets an append check the folder's names against the index
without reading a record. An index written before (format 1) has every record in its manifest
("files"); it loads as before, and its next version is written in segments.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index import vectors

if TYPE_CHECKING:
    from index.lexical import BM25
    from index.store import _Part

MAX_SEGMENTS = 32  # article/span files of a version; an append past this many rewrites them as one

Layout = list[tuple[int, int, int, Path | None]]  # per segment: articles, sentences, chunks, the folder holding its files (None: to write)
Records = dict[str, dict[str, Any]]  # file name -> its record, in row order


def vector_file(what: str, i: int) -> str:
    """The file of vector part `i` of "sentences" or "chunks" (the main index: `sentences.faiss`)."""
    return f"{what}.faiss" if i == 0 else f"{what}.{i}.faiss"


def segment_files(i: int) -> tuple[str, str]:
    """The articles and spans files of segment `i` (the first one's names are those of an index
    written before segments, which is one segment)."""
    return ("articles.json", "spans.json") if i == 0 else (f"articles.{i}.json", f"spans.{i}.json")


def records_file(i: int) -> str:
    """The file of segment `i`'s per-file records."""
    return "files.json" if i == 0 else f"files.{i}.json"


def names_digest(names: Iterable[str]) -> str:
    """A digest of a segment's file names, in order: what an append compares the folder with.

    >>> names_digest(["a.txt", "b.txt"]) == names_digest(iter(["a.txt", "b.txt"]))
    True
    """
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()


def split_records(files: Records, segments: Layout) -> list[Records]:
    """`files` (all of a version's records, in row order) cut into its segments' records."""
    items, out, a0 = list(files.items()), [], 0
    for n_articles, _, _, _ in segments:
        out.append(dict(items[a0 : a0 + n_articles]))
        a0 += n_articles
    return out


def read_records(root: Path, manifest: dict[str, Any]) -> Records:
    """Every per-file record of the version in `root`, in row order: the manifest's own
    ("files", format 1) or its segments' files. Raises ValueError, KeyError or OSError when they
    are missing or not the files the manifest counts."""
    files = manifest.get("files")
    if isinstance(files, dict):
        return files
    out: Records = {}
    for i, seg in enumerate(manifest["segments"]):
        part = json.loads((root / records_file(i)).read_text())
        if not isinstance(part, dict) or len(part) != int(seg["articles"]) or names_digest(part) != seg["names"]:
            raise ValueError(f"{records_file(i)} does not hold the files the manifest counts")
        if not all(isinstance(r, dict) and isinstance(r.get("sha256"), str) for r in part.values()):
            raise ValueError(f"{records_file(i)} has a file record without a sha256")
        out.update(part)
    return out


def write(
    folder: Path,
    manifest: dict[str, Any],
    parts: list[_Part],
    segments: Layout,
    records: Sequence[Records | None],
    si,
    ci,
    bm25: BM25,
    linkable: dict[int, Path] | None = None,
    same_records: Iterable[int] = (),
) -> None:
    """The files of one version; manifest.json last (it marks the version complete). A segment
    or vector part of the previous version is hard-linked from its folder (`linkable`: a vector
    part's id -> its file there); those files are never written again. `records[i]`: segment
    i's per-file records, to write, or None to link them from its folder with its other files;
    `same_records`: the segments whose records are their folder's, linked where that works."""
    a0, same = 0, set(same_records)
    for i, (n_articles, _, _, source) in enumerate(segments):
        names, recs = segment_files(i), records[i]
        seg = parts[a0 : a0 + n_articles]
        a0 += n_articles
        if (recs is None or i in same) and source is not None and link(source, (records_file(i),), folder, (records_file(i),)):
            pass
        elif recs is None:
            raise OSError(f"could not hard-link the previous version's {records_file(i)} into {folder}")
        else:
            (folder / records_file(i)).write_text(json.dumps(recs))
        if source is not None and link(source, names, folder, names):
            continue
        if any(p is None for p in seg):  # an add without the previous rows (index/append.py) could not link them
            raise OSError(f"could not hard-link the previous version's {names[0]} into {folder}")
        _write_segment(folder, names, seg, recs if recs is not None else json.loads((folder / records_file(i)).read_text()))
    for what, index in (("sentences", si), ("chunks", ci)):
        for i, part in enumerate(vectors.parts_of(index)):
            source = (linkable or {}).get(id(part))
            name = vector_file(what, i)
            if source is None or not link(source.parent, (source.name,), folder, (name,)):
                vectors.save(part, folder / name)
    bm25.save(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))  # compact: the indented encoder is pure Python (0.4 s at 100k files)


def link(source: Path, old: tuple[str, ...], folder: Path, new: tuple[str, ...]) -> bool:
    """Hard-link `source/old[i]` as `folder/new[i]`; False (nothing left) where that fails."""
    done: list[Path] = []
    try:
        for a, b in zip(old, new, strict=True):
            os.link(source / a, folder / b)
            done.append(folder / b)
    except OSError:
        for p in done:
            p.unlink(missing_ok=True)
        return False
    return True


def _write_segment(folder: Path, names: tuple[str, str], parts: list[_Part], files: dict[str, dict[str, Any]]) -> None:
    """One segment's articles and sentence and chunk spans (JSON)."""
    (folder / names[0]).write_text(
        json.dumps(
            [
                {
                    "id": p.article.id,
                    "title": p.article.title,
                    "date": p.article.date,
                    "path": p.article.path,
                    "sha256": files[p.article.id]["sha256"],
                    "text": p.article.text,
                    "meta": p.article.meta,
                }
                for p in parts
            ],
            ensure_ascii=False,
        )
    )
    (folder / names[1]).write_text(
        json.dumps(
            {
                "sentences": [[s.article_id, s.n, s.start, s.end] for p in parts for s in p.sentences],
                "chunks": [
                    [c.article_id, int(c.sentence_ids[0].rsplit("#", 1)[1]), int(c.sentence_ids[-1].rsplit("#", 1)[1])]
                    for p in parts
                    for c in p.chunks
                ],
            }
        )
    )


def load_vectors(root: Path, what: str, manifest: dict[str, Any], mmap: bool):
    """The vector index of `what`, in its parts (`vector_parts` in the manifest; one when absent)."""
    n = int((manifest.get("vector_parts") or {}).get(what, 1))
    parts = [vectors.load(root / vector_file(what, i), mmap=mmap) for i in range(n)]
    return parts[0] if n == 1 else vectors.Parts(parts)
