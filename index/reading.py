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
_BLOCKS = (("<script", "</script>"), ("<style", "</style>"), ("<!--", "-->"))  # dropped whole, with their content
_TITLE_OPEN = re.compile(r"<(?:title|h1)", re.IGNORECASE)
_TITLE_CLOSE = re.compile(r"</(?:title|h1)>", re.IGNORECASE)
# str.lower() can change a string's length ("İ" becomes two characters), which would shift every
# offset found in the lowered copy; only ASCII letters are lowered here.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


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
        fill = "\n" if re.match(r"</?(p|div|h\d|li|br|tr|article|section)\b", s, re.IGNORECASE) else " "
        return fill + " " * (len(s) - 1)

    return _TAG.sub(blank, _blank_blocks(html))


def _blank_blocks(html: str) -> str:
    """Scripts, styles and comments blanked (length kept), in one pass: an opener without its
    closer blanks to the end (a regex looking for the closer from every opener was quadratic)."""
    low, out, i = html.translate(_ASCII_LOWER), [], 0
    while (j := low.find("<", i)) >= 0:
        block = next(((o, c) for o, c in _BLOCKS if low.startswith(o, j)), None)
        if block is None:
            out.append(html[i : j + 1])
            i = j + 1
            continue
        k = low.find(block[1], j + len(block[0]))
        end = len(html) if k < 0 else k + len(block[1])
        out.append(html[i:j] + "".join(ch if ch == "\n" else " " for ch in html[j:end]))
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
