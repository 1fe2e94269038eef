"""The files of one index version folder, written in segments and read back (index/store.py).

    articles.json, spans.json             segment 0: its articles and sentence/chunk spans
    articles.<i>.json, spans.<i>.json     segment i, appended by a later build
    sentences.faiss, chunks.faiss         the main vector indexes
    sentences.<i>.faiss, chunks.<i>.faiss vector parts appended later (small, flat)

A file, once in a published version, is never written again: a new version hard-links the
previous version's files it keeps (`link`) and writes only what is new, so an append costs
what is appended and a crash mid-build leaves every published version whole. Where hard links
fail (another file system) the file is written instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index import vectors

if TYPE_CHECKING:
    from index.lexical import BM25
    from index.store import _Part

MAX_SEGMENTS = 32  # article/span files of a version; an append past this many rewrites them as one

Layout = list[tuple[int, int, int, Path | None]]  # per segment: articles, sentences, chunks, the folder holding its files (None: to write)


def vector_file(what: str, i: int) -> str:
    """The file of vector part `i` of "sentences" or "chunks" (the main index: `sentences.faiss`)."""
    return f"{what}.faiss" if i == 0 else f"{what}.{i}.faiss"


def segment_files(i: int) -> tuple[str, str]:
    """The articles and spans files of segment `i` (the first one's names are those of an index
    written before segments, which is one segment)."""
    return ("articles.json", "spans.json") if i == 0 else (f"articles.{i}.json", f"spans.{i}.json")


def write(
    folder: Path,
    manifest: dict[str, Any],
    parts: list[_Part],
    segments: Layout,
    files: dict[str, dict[str, Any]],
    si,
    ci,
    bm25: BM25,
    linkable: dict[int, Path] | None = None,
) -> None:
    """The files of one version; manifest.json last (it marks the version complete). A segment
    or vector part of the previous version is hard-linked from its folder (`linkable`: a vector
    part's id -> its file there); those files are never written again."""
    a0 = 0
    for i, (n_articles, _, _, source) in enumerate(segments):
        names = segment_files(i)
        if source is not None:
            if link(source, names, folder, names):
                a0 += n_articles
                continue
        seg = parts[a0 : a0 + n_articles]
        a0 += n_articles
        if any(p is None for p in seg):  # an add without the previous rows (index/append.py) could not link them
            raise OSError(f"could not hard-link the previous version's {names[0]} into {folder}")
        _write_segment(folder, names, seg, files)
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
