"""Documents that are not plain text: PDF, DOCX and RTF through llama-index's file readers, EPUB
through ebooklib, each turned into our `Extracted` text (llama-index types stay in here).

The readers are imported on first use, at index and upload time only: importing llama-index
takes seconds, and `rag ask` / `rag chat` never read a document.

llama-index's `EpubReader` needs html2text (not installed, and it would wrap lines at 78
characters and add Markdown marks to citations), so EPUB chapters go through our HTML reader.
A PDF's lines are re-joined into paragraphs (the sentence splitter never crosses a line).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = (".pdf", ".docx", ".epub", ".rtf")


@dataclass(frozen=True)
class Extracted:
    """What a reader found in a file: the text the index stores, and what it knows about it."""

    text: str
    title: str = ""
    date: str | None = None
    meta: dict[str, str] = field(default_factory=dict)


def reflow(lines: list[str]) -> str:
    """Lines of a laid-out page joined back into paragraphs.

    A line break stays where a line is clearly shorter than the text's full lines (a heading, or
    a paragraph's last line); a word hyphenated across lines is joined without a space.

    >>> reflow(["Quake hits valley", "An earthquake struck the northern valley early on Sunday,", "the centre said.", "Rescue teams came."])
    'Quake hits valley\\nAn earthquake struck the northern valley early on Sunday, the centre said.\\nRescue teams came.'
    """
    lines = [" ".join(line.split()) for line in lines]
    full = max((len(line) for line in lines), default=0) * 0.8
    out: list[str] = []
    last = ""  # the previous line as laid out (out[-1] may be a whole paragraph by now)
    for line in lines:
        if not line:
            if out and out[-1] != "\n":
                out.append("\n")
            last = ""
            continue
        if out and out[-1] != "\n":
            if len(last) >= full:  # a full line: the paragraph goes on
                joined = last.endswith("-") and last[-2:-1].isalpha() and line[:1].islower()
                out[-1] += line if joined else " " + line
                last = line
                continue
            out.append("\n")
        out.append(line)
        last = line
    return "".join(out).strip()


def _pdf(path: Path) -> Extracted:
    from llama_index.readers.file import PDFReader

    pages = PDFReader(return_full_document=False).load_data(path)
    return Extracted(text=reflow([line for page in pages for line in page.text.splitlines()]))


def _docx(path: Path) -> Extracted:
    from llama_index.readers.file import DocxReader

    return Extracted(text="\n".join(d.text for d in DocxReader().load_data(path)))


def _rtf(path: Path) -> Extracted:
    from llama_index.readers.file import RTFReader

    return Extracted(text="\n".join(d.text for d in RTFReader().load_data(path)))


def _epub(path: Path) -> Extracted:
    import ebooklib
    from ebooklib import epub

    from index.webpage import plain_text

    book = epub.read_epub(str(path), options={"ignore_ncx": True})
    chapters = []
    for item_id, _linear in book.spine:
        item = book.get_item_with_id(item_id)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT or isinstance(item, epub.EpubNav):
            continue
        chapters.append(plain_text(item.get_content().decode("utf-8", errors="replace")))
    titles = book.get_metadata("DC", "title")
    dates = book.get_metadata("DC", "date")
    m = re.match(r"(?:19|20)\d\d-[01]\d-[0-3]\d", dates[0][0]) if dates else None
    return Extracted(text="\n\n".join(c for c in chapters if c), title=titles[0][0] if titles else "", date=m.group(0) if m else None)


_READERS = {".pdf": _pdf, ".docx": _docx, ".rtf": _rtf, ".epub": _epub}


def read_document(path: Path) -> Extracted:
    """The text of a PDF, DOCX, RTF or EPUB file; ValueError (one line) when it cannot be read."""
    reader = _READERS[path.suffix.lower()]
    try:
        return reader(path)
    except ImportError as e:
        raise ValueError(f"reading {path.suffix} files needs a package that is not installed ({e})") from None
    except Exception as e:  # encrypted, truncated or not really this format: the file is skipped, the build goes on
        cause = e.last_attempt.exception() if hasattr(e, "last_attempt") else e  # PDFReader retries: the real error
        raise ValueError(f"not a readable {path.suffix.lstrip('.').upper()} file ({type(cause).__name__}: {str(cause)[:120]})") from None
