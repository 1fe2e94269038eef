"""Reading a folder of articles into `Article`s.

Supported: `.txt`, `.md`, `.html`/`.htm`. The source id is the file name. For HTML the
tags are blanked out with spaces of the same length, so character offsets still point
into the original file. Unreadable files (binary, not UTF-8) are skipped with a warning.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError
from rag.types import Article

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".html", ".htm")
_DATE = re.compile(r"\b(?:date[:\s]+)?((?:19|20)\d\d-[01]\d-[0-3]\d)\b", re.IGNORECASE)
_DATE_LINE = re.compile(r"^\s*date[:\s]+(?:19|20)\d\d-[01]\d-[0-3]\d\s*", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]+>")
# Scripts, styles and comments are dropped whole, with their content. Found with ASCII-only case
# folding: str.lower() can change a string's length ("İ" becomes two characters), and offsets
# found in a lowered copy would then blank the wrong text.
_BLOCK_OPEN = re.compile(r"<script|<style|<!--", re.IGNORECASE | re.ASCII)
_BLOCK_CLOSE = {o: re.compile(c, re.IGNORECASE | re.ASCII) for o, c in (("<script", "</script>"), ("<style", "</style>"), ("<!--", "-->"))}
_BLOCK_TAG = re.compile(r"</?(p|div|h\d|li|br|tr|article|section)\b", re.IGNORECASE)  # blanked to a line break
_NOT_NEWLINE = re.compile(r"[^\n]")
_TITLE_OPEN = re.compile(r"<(?:title|h1)", re.IGNORECASE)
_TITLE_CLOSE = re.compile(r"</(?:title|h1)>", re.IGNORECASE)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _blank_tags(html: str) -> str:
    """Replace every tag with spaces (newline for block ends) keeping the length."""

    def blank(m: re.Match[str]) -> str:
        s = m.group(0)
        return ("\n" if _BLOCK_TAG.match(s) else " ") + " " * (len(s) - 1)

    return _TAG.sub(blank, _blank_blocks(html))


def _blank_blocks(html: str) -> str:
    """Scripts, styles and comments blanked (length and line breaks kept), in one pass: an opener
    without its closer blanks to the end (a regex looking for the closer from every opener was
    quadratic), and a "<" that opens no block costs nothing.

    >>> _blank_blocks("a<SCRIPT>x</script>b<!-- c")
    'a                  b      '
    """
    out, i = [], 0
    while m := _BLOCK_OPEN.search(html, i):
        close = _BLOCK_CLOSE[m.group(0).lower()].search(html, m.end())
        end = close.end() if close else len(html)
        out += [html[i : m.start()], _NOT_NEWLINE.sub(" ", html[m.start() : end])]
        i = end
    out.append(html[i:])
    return "".join(out)


def _html_title(raw: str) -> str | None:
    """The text between the first `<title ...>` or `<h1 ...>` and the next `</title>` or `</h1>`.

    Only the first opener needs a look: when it has no `>` or no closer after it, no later one
    has either. (A lazy regex tried every opener to the end of the file: quadratic.)

    >>> _html_title("<h1 class=x>Fire <b>at</b> mill</h1>")
    'Fire <b>at</b> mill'
    """
    opener = _TITLE_OPEN.search(raw)
    if not opener:
        return None
    gt = raw.find(">", opener.end())
    closer = _TITLE_CLOSE.search(raw, gt + 1) if gt >= 0 else None
    return raw[gt + 1 : closer.start()] if closer else None


def _title(text: str, raw: str, suffix: str) -> str:
    if suffix in (".html", ".htm"):
        inner = _html_title(raw)
        if inner is not None:
            return " ".join(_TAG.sub(" ", inner).split())[:120]
    for line in text.splitlines():
        line = _DATE_LINE.sub("", line).strip().lstrip("#").strip()
        if len(line.split()) >= 2:
            # A first paragraph is not a title: keep its first sentence, shortened.
            first = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
            return first if len(first) <= 100 else first[:97].rsplit(" ", 1)[0] + "…"
    return ""


def read_article(path: Path) -> Article:
    """Read one file; raises ValueError when it is not a UTF-8 text article."""
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise ValueError("binary file")
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 ({e.reason} at byte {e.start})") from None
    suffix = path.suffix.lower()
    text = _blank_tags(raw) if suffix in (".html", ".htm") else raw
    if not text.strip():
        raise ValueError("empty file")
    m = _DATE.search(text[:2000])
    return Article(id=path.name, title=_title(text, raw, suffix), date=m.group(1) if m else None, path=str(path), text=text)


def list_article_files(folder: Path) -> list[Path]:
    if not folder.exists():
        raise RagError(f"corpus folder not found: {folder}")
    if not folder.is_dir():
        raise RagError(f"corpus path is not a folder: {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


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
        raise RagError(f"no readable articles (.txt, .md, .html) in {folder}")
    return articles, skipped
