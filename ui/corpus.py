"""Adding an article from the browser: save it into the corpus folder, re-index, reload.

The corpus folder is the one the loaded index was built from (one index, one corpus). A
file is never overwritten: identical content already in the corpus is reported as such,
and a different file with the same name gets a new name (`name-2.txt`), which the user is
told about. Re-indexing is incremental (only the new file is read and embedded) and the
engine's store is swapped for the new one only after the index was written. When the
re-index fails for any reason the new file is removed again, so no file sits in the
corpus unindexed; files already there are never touched.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from index.reading import SUFFIXES, TEXT_SUFFIXES, decode
from rag.errors import RagError
from rag.types import Article

log = logging.getLogger(__name__)

MAX_BYTES = 2_000_000
_DATE = re.compile(r"^(?:19|20)\d\d-[01]\d-[0-3]\d$")


def safe_name(name: str) -> str:
    """A plain file name for the corpus folder (no folders, no odd characters).

    >>> safe_name("../Karachi attack (AP).TXT")
    'Karachi_attack_AP.txt'
    """
    base = Path(str(name).replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    if suffix not in SUFFIXES:
        raise RagError(f"{base or 'the file'}: only {', '.join(SUFFIXES)} files can be added")
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:80] or "article"
    return stem + suffix


def check_text(data: bytes, label: str) -> str:
    """The text of an article file (UTF-8 or any other encoding), or a one-line RagError."""
    if len(data) > MAX_BYTES:
        raise RagError(f"{label} is {len(data):,} bytes; the limit is {MAX_BYTES:,}")
    try:
        text = decode(data)
    except ValueError as e:
        raise RagError(f"{label} is not a text article ({e})") from None
    if not text.strip():
        raise RagError(f"{label} is empty")
    return text


def check_upload(data: bytes, label: str) -> None:
    """A one-line RagError when an upload is too big or empty, or a text file is not text.
    Documents (PDF, DOCX, EPUB, RTF) and web pages are read when the index is updated; one that
    cannot be read is removed again with the reader's reason."""
    if Path(label).suffix.lower() in TEXT_SUFFIXES:
        check_text(data, label)
    elif len(data) > MAX_BYTES:
        raise RagError(f"{label} is {len(data):,} bytes; the limit is {MAX_BYTES:,}")
    elif not data.strip():
        raise RagError(f"{label} is empty")


def pasted_article(title: str, date: str, text: str) -> tuple[str, bytes]:
    """File name and content for a pasted article: title line, optional `Date:` line, text.

    >>> pasted_article("Blast in Karachi", "2023-02-17", "Police said.")
    ('Blast_in_Karachi.txt', b'Blast in Karachi\\nDate: 2023-02-17\\n\\nPolice said.\\n')
    """
    text, title, date = (text or "").strip(), " ".join((title or "").split()), (date or "").strip()
    if not text:
        raise RagError("paste the article text first")
    if date and not _DATE.match(date):
        raise RagError(f"date {date!r} is not YYYY-MM-DD")
    head = ""
    if title:
        head = title + "\n"
    if date:
        head += f"Date: {date}\n"
    content = (head + "\n" if head else "") + text + "\n"
    name_from = title or re.split(r"(?<=[.!?])\s", text.splitlines()[0], maxsplit=1)[0].rstrip(".!?")
    return safe_name(" ".join(name_from.split()[:8]) + ".txt"), content.encode("utf-8")


@dataclass(frozen=True)
class Saved:
    path: Path
    new: bool  # False when identical content was already in the corpus
    note: str = ""


def save_article(corpus: Path, name: str, data: bytes, sizes: dict[str, int] | None = None) -> Saved:
    """Write `data` into `corpus` under a safe, unused name; never overwrite a file.

    `sizes`: the file sizes the index recorded (name -> bytes), so only the files of the same size
    as `data`, and those the index does not know, are stat-ed and read to find a duplicate (not
    every file of a large archive)."""
    name = safe_name(name)
    check_upload(data, name)
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise RagError(f"corpus folder not found: {corpus}")
    sizes = sizes or {}
    with os.scandir(corpus) as entries:
        names = sorted(e.name for e in entries if sizes.get(e.name, len(data)) == len(data))
    for existing in (corpus / n for n in names):
        if existing.is_file() and existing.stat().st_size == len(data) and existing.read_bytes() == data:
            return Saved(existing, new=False, note=f"this article is already in the corpus as {existing.name}")
    stem, suffix = Path(name).stem, Path(name).suffix
    for i in range(1, 1000):
        candidate = corpus / (name if i == 1 else f"{stem}-{i}{suffix}")
        try:
            with open(candidate, "xb") as f:  # exclusive create: never replaces a file
                f.write(data)
        except FileExistsError:
            continue
        note = "" if i == 1 else f"a different {name} already exists, so it was saved as {candidate.name}"
        return Saved(candidate, new=True, note=note)
    raise RagError(f"too many files named like {name} in {corpus}")


class Library:
    """The corpus behind a running engine: list its articles, add one (one add at a time)."""

    def __init__(self, cfg, engine):
        self.cfg, self.engine = cfg, engine
        self.lock = threading.Lock()

    @property
    def corpus(self) -> Path:
        """The folder the loaded index was built from (the configured one for an old index).
        A corpus set on purpose (file, env, flag) that is another folder is refused, never written
        to in place of the indexed one: one index, one corpus (as `rag chat` checks at start)."""
        remembered = self.engine.store.manifest.get("corpus")
        if not remembered:
            return Path(self.cfg.corpus)
        configured = Path(self.cfg.corpus).resolve()
        if self.cfg.sources.get("corpus", "default") != "default" and Path(remembered) != configured:
            raise RagError(
                f"the index holds the articles of {remembered}, but corpus = {self.cfg.corpus}: nothing added "
                f"(run `rag index {self.cfg.corpus} --rebuild` to index that folder instead)"
            )
        return Path(remembered)

    def articles(self) -> list[Article]:
        return list(self.engine.store.articles.values())

    def _indexed(self, name: str) -> bool:
        """Whether the live index (not the engine's store) holds article `name`."""
        from index.store import live_files

        return name in (live_files(self.cfg.index_dir) or {})

    def add(self, name: str, data: bytes) -> str:
        """Save, re-index incrementally, reload the store; returns a message for the user."""
        from rag.wiring import build_index, load_store

        with self.lock:
            corpus = self.corpus
            files = self.engine.store.files  # read once, then carried over by each add
            sizes = {k: r["size"] for k, r in files.items() if isinstance(r.get("size"), int)}
            saved = save_article(corpus, name, data, sizes)
            if not saved.new and saved.path.name in self.engine.store.articles:
                return f"Nothing added: {saved.note}."
            try:
                report = build_index(self.cfg, corpus, embedder=self.engine.embedder, previous=self.engine.store, added=[saved.path])
                store = report.store if report.store is not None else load_store(self.cfg, self.engine.embedder)
            except BaseException as e:
                # Any failure: never leave the new file in the corpus unindexed. If the swap
                # happened before the failure, the file is indexed and stays.
                indexed = self._indexed(saved.path.name)
                if saved.new and not indexed:
                    saved.path.unlink(missing_ok=True)
                if not isinstance(e, Exception):
                    raise
                if not isinstance(e, RagError | OSError):
                    log.exception("re-indexing after adding %s failed", saved.path.name)
                reason = str(e) if isinstance(e, RagError) else f"{type(e).__name__}: {str(e)[:160]}"
                if indexed:
                    raise RagError(
                        f"{saved.path.name} was indexed, but the chat could not reload the index ({reason}): restart it"
                    ) from None
                raise RagError(f"{saved.path.name} was not added: re-indexing failed: {reason}") from None
            self.engine.store = store
            article = store.articles.get(saved.path.name)
            if article is None:
                reason = next((s.reason for s in report.skipped if Path(s.path).name == saved.path.name), "it could not be read")
                if saved.new:
                    saved.path.unlink(missing_ok=True)
                raise RagError(f"{saved.path.name} was not added: {reason}")
            note = f" ({saved.note})" if saved.note else ""
            removed = f" Also {report.removed_summary()}." if report.removed_files else ""
            return (
                f"Added {article.id}: “{article.title}”{note}. Index updated in {report.seconds:.1f} s "
                f"(embedded {len(report.embedded_files)} file, reused {len(report.reused_files)}); "
                f"{len(store.articles)} articles indexed.{removed}"
            )
