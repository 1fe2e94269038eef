"""Reading a folder of articles into `Article`s.

Supported: `.txt`, `.md` (any text encoding), `.html`/`.htm` (a saved web page: its main text,
see `index/webpage.py`), and `.pdf`, `.docx`, `.epub`, `.rtf` (see `index/formats.py`). The
source id is the file name. An article's `text` is the text extracted from the file: what
the index stores, what sentence offsets point into and what a citation highlights.

Metadata lines at the top of a text (`Title: ...`, `Date: 2023-02-17`, `By Jane Roe`,
`Source: ...`, or the bundled articles' ` date 2023-02-17` before the first sentence) become
the article's title, date and `meta`, not sentence text. Unreadable files are skipped with a
warning and a reason.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from index.formats import DOCUMENT_SUFFIXES, Extracted, read_document
from index.webpage import blank_blocks as _blank_blocks  # noqa: F401  (kept importable here for the hostile-text tests)
from index.webpage import blank_tags as _blank_tags  # noqa: F401
from index.webpage import html_title as _html_title  # noqa: F401
from rag.errors import RagError
from rag.types import Article

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
SUFFIXES = (*TEXT_SUFFIXES, *HTML_SUFFIXES, *DOCUMENT_SUFFIXES)
# The text read from a file is what the index stores: when it can change, bump SPLITTER_VERSION
# (index/chunking.py), which the manifest records, so older indexes are rebuilt.

_DATE = re.compile(r"\b(?:date[:\s]+)?((?:19|20)\d\d-[01]\d-[0-3]\d)\b", re.IGNORECASE)
_ISO = r"((?:19|20)\d\d-[01]\d-[0-3]\d)(?:[T ][0-2]\d:[0-5]\d(?::[0-5]\d)?(?:Z|[+-]\d\d:?\d\d)?)?"
# ` date 2023-02-17 Karachi: ...`: a date key and an ISO date, then the article goes on.
_DATE_PREFIX = re.compile(rf"[ \t]*(date|published|updated)[ \t]*:?[ \t]+{_ISO}(?=\s|$)[ \t]*", re.IGNORECASE)
_META_KEYS = {"title": "title", "headline": "title", "date": "date", "published": "date", "updated": "updated",
              "author": "author", "authors": "author", "by": "author", "byline": "author", "source": "source",
              "publisher": "source", "url": "url", "link": "url", "section": "section", "category": "section",
              "tags": "tags", "keywords": "tags", "language": "language", "lang": "language"}  # fmt: skip
_META_LINE = re.compile(rf"[ \t]*({'|'.join(_META_KEYS)})[ \t]*:[ \t]*(\S[^\n]{{0,300}}?)[ \t]*", re.IGNORECASE)
_BYLINE = re.compile(r"[ \t]*[Bb]y[ \t]+([A-Z][\w.'’-]*(?:,?[ \t]+(?:and[ \t]+)?[A-Z][\w.'’-]*){0,5})[ \t]*")
HEADER_LINES = 12  # metadata is looked for in this many lines at the top only


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# UTF-32 LE before UTF-16 LE: its mark starts with UTF-16 LE's.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode(data: bytes) -> str:
    """The text in `data`: UTF-8 or a byte-order mark's encoding, else the encoding
    charset_normalizer finds (Windows-1252 when it fits as well as any: the usual case for an
    article saved on Windows, where the detector's first pick is often an exotic code page).
    Raises ValueError for binary data.

    >>> decode(b"caf\\xe9 \\x93au lait\\x94")
    'café “au lait”'
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as e:
                raise ValueError(f"not {encoding} despite its byte-order mark ({e.reason} at byte {e.start})") from None
    if b"\x00" in data[:4096]:
        raise ValueError("binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise ValueError("not text in any encoding known (binary file?)")
    western = [m for m in matches if m.chaos <= best.chaos and "cp1252" in m.could_be_from_charset]
    encoding = "cp1252" if western else best.encoding
    log.info("decoded as %s (not UTF-8)", encoding)
    return data.decode(encoding, errors="replace")


def split_header(text: str) -> tuple[str, dict[str, str]]:
    """Metadata lines at the top of `text` taken out: (the rest, {key: value}).

    Looked for in the first lines only: key-value lines (`Date: 2023-02-17`, `Source: AP`), a
    byline (`By Jane Roe`), and a leading date key before the first sentence. One plain line
    (a headline) may come before them and stays.

    >>> split_header(" date 2023-02-17 Karachi: Armed men attacked.")
    ('Karachi: Armed men attacked.', {'date': '2023-02-17'})
    >>> split_header("Blast in Karachi\\nDate: 2023-02-17\\nBy Jane Roe\\n\\nPolice said.\\n")
    ('Blast in Karachi\\n\\nPolice said.\\n', {'date': '2023-02-17', 'author': 'Jane Roe'})
    """
    lines = text.splitlines(keepends=True)
    meta: dict[str, str] = {}
    kept: list[str] = []
    headline, i = False, 0
    while i < min(len(lines), HEADER_LINES):
        line = lines[i]
        body = line.rstrip("\r\n")
        if not body.strip():
            kept.append(line)
        elif d := _DATE_PREFIX.match(body):
            meta.setdefault("date", d.group(2))
            rest = line[d.end() :]
            if rest.strip():
                kept.append(rest)
                i += 1
                break  # the article's first sentence follows the date on its line
        elif (m := _META_LINE.fullmatch(body)) is not None:
            key = _META_KEYS[m.group(1).lower()]
            value = m.group(2)
            if key == "date":
                iso = re.fullmatch(_ISO, value)
                key, value = ("date", iso.group(1)) if iso else ("dateline", value)  # "Date: 1 March 2023" is not guessed at
            meta.setdefault(key, value)
        elif (b := _BYLINE.fullmatch(body)) is not None:
            meta.setdefault("author", b.group(1))
        elif not headline:
            headline = True
            kept.append(line)
        else:
            break
        i += 1
    if not meta:
        return text, meta
    return ("".join(kept) + "".join(lines[i:])).lstrip(), meta


def _title(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if len(line.split()) >= 2:
            # A first paragraph is not a title: keep its first sentence, shortened.
            first = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
            return first if len(first) <= 100 else first[:97].rsplit(" ", 1)[0] + "…"
    return ""


def _extract(path: Path, suffix: str) -> Extracted:
    if suffix in DOCUMENT_SUFFIXES:
        return read_document(path)
    text = decode(path.read_bytes())
    if suffix in HTML_SUFFIXES:
        from index.webpage import extract

        return extract(text)
    return Extracted(text=text)


def read_article(path: Path) -> Article:
    """Read one file; raises ValueError (its one-line reason) when it holds no readable article."""
    path = Path(path)
    found = _extract(path, path.suffix.lower())
    text, meta = split_header(found.text)
    if not text.strip():
        raise ValueError("empty file" if not found.text.strip() else "no article text after its metadata lines")
    title = meta.pop("title", "") or found.title or _title(text)
    m = _DATE.search(text[:2000]) if not (meta.get("date") or found.date) else None
    date = meta.pop("date", None) or found.date or (m.group(1) if m else None)
    return Article(id=path.name, title=title, date=date, path=str(path), text=text, meta={**found.meta, **meta})


def list_article_files(folder: Path) -> list[Path]:
    if not folder.exists():
        raise RagError(f"corpus folder not found: {folder}")
    if not folder.is_dir():
        raise RagError(f"corpus path is not a folder: {folder}")
    return [folder / name for name in article_names(folder)]


def article_names(folder: Path) -> list[str]:
    """The names of `folder`'s article files, sorted: one directory read, no Path per file."""
    with os.scandir(folder) as entries:  # no stat per file where the directory says its type (100k files: 0.3 -> 0.05 s)
        # `os.path.splitext(name)[1] in SUFFIXES`, without a call per name (100k names: 0.1 -> 0.02 s):
        # a name of leading dots and a suffix (".txt") has no extension.
        return sorted(e.name for e in entries if e.name.lower().endswith(SUFFIXES) and "." in e.name.lstrip(".") and e.is_file())


def read_folder(folder: Path) -> tuple[list[Article], list[Skipped]]:
    """Read every supported file in `folder` (not recursive), skipping bad ones with a warning."""
    articles, skipped = [], []
    for path in list_article_files(folder):
        try:
            articles.append(read_article(path))
        except (ValueError, OSError) as e:
            log.warning("skipping %s: %s", path.name, e)
            skipped.append(Skipped(str(path), str(e)))
    if not articles:
        raise RagError(f"no readable articles ({', '.join(SUFFIXES)}) in {folder}")
    return articles, skipped
