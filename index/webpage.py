"""The article in a saved web page: its main text, title and date, with entities decoded.

trafilatura finds the main text (menus, related links, footers and cookie notices dropped)
and the page's metadata (title, date from `<time>` or `article:published_time`, author). When
it finds nothing (a tiny or broken page), a plain extraction keeps every piece of text that is
not a tag, script, style or comment. Both are linear in the page's length: a hostile upload
cannot stall a build.

>>> plain_text("<p>Tom&#8217;s&nbsp;shop</p><script>x</script><p>Open</p>")
'Tom’s shop\\nOpen'
"""

from __future__ import annotations

import html
import logging
import re

from index.formats import Extracted

log = logging.getLogger(__name__)

_TAG = re.compile(r"<[^<>]+>")
# Scripts, styles and comments are dropped whole, with their content. Found with ASCII-only case
# folding: str.lower() can change a string's length ("İ" becomes two characters), and offsets
# found in a lowered copy would then blank the wrong text.
_BLOCK_OPEN = re.compile(r"<script|<style|<!--", re.IGNORECASE | re.ASCII)
_BLOCK_CLOSE = {o: re.compile(c, re.IGNORECASE | re.ASCII) for o, c in (("<script", "</script>"), ("<style", "</style>"), ("<!--", "-->"))}
_BLOCK_TAG = re.compile(  # blanked to a line break
    r"</?(p|div|h\d|li|br|tr|td|th|article|section|title|head|body|header|footer|nav|main|aside|ul|ol|dl|dt|dd|table|"
    r"blockquote|figure|figcaption|pre|form|hr)\b",
    re.IGNORECASE,
)
_NOT_NEWLINE = re.compile(r"[^\n]")
_TITLE_OPEN = re.compile(r"<(?:title|h1)", re.IGNORECASE)
_TITLE_CLOSE = re.compile(r"</(?:title|h1)>", re.IGNORECASE)


def blank_tags(raw: str) -> str:
    """Replace every tag with spaces (newline for block ends) keeping the length."""

    def blank(m: re.Match[str]) -> str:
        s = m.group(0)
        return ("\n" if _BLOCK_TAG.match(s) else " ") + " " * (len(s) - 1)

    return _TAG.sub(blank, blank_blocks(raw))


def blank_blocks(raw: str) -> str:
    """Scripts, styles and comments blanked (length and line breaks kept), in one pass: an opener
    without its closer blanks to the end (a regex looking for the closer from every opener was
    quadratic), and a "<" that opens no block costs nothing.

    >>> blank_blocks("a<SCRIPT>x</script>b<!-- c")
    'a                  b      '
    """
    out, i = [], 0
    while m := _BLOCK_OPEN.search(raw, i):
        close = _BLOCK_CLOSE[m.group(0).lower()].search(raw, m.end())
        end = close.end() if close else len(raw)
        out += [raw[i : m.start()], _NOT_NEWLINE.sub(" ", raw[m.start() : end])]
        i = end
    out.append(raw[i:])
    return "".join(out)


def html_title(raw: str) -> str | None:
    """The text between the first `<title ...>` or `<h1 ...>` and the next `</title>` or `</h1>`.

    Only the first opener needs a look: when it has no `>` or no closer after it, no later one
    has either. (A lazy regex tried every opener to the end of the file: quadratic.)

    >>> html_title("<h1 class=x>Fire <b>at</b> mill</h1>")
    'Fire <b>at</b> mill'
    """
    opener = _TITLE_OPEN.search(raw)
    if not opener:
        return None
    gt = raw.find(">", opener.end())
    closer = _TITLE_CLOSE.search(raw, gt + 1) if gt >= 0 else None
    return raw[gt + 1 : closer.start()] if closer else None


def _clean(s: str | None, limit: int = 0) -> str:
    """Entities decoded, tags and runs of whitespace (NBSP too) made single spaces."""
    out = " ".join(html.unescape(_TAG.sub(" ", s or "")).split())
    return out[:limit] if limit else out


def plain_text(raw: str) -> str:
    """Every text node of a page, entities decoded, one line per block, no blank lines."""
    lines = (" ".join(line.split()) for line in html.unescape(blank_tags(raw)).splitlines())
    return "\n".join(line for line in lines if line)


def extract(raw: str) -> Extracted:
    """The main text and metadata of a page (trafilatura), else its plain text."""
    doc = None
    try:
        import trafilatura

        doc = trafilatura.bare_extraction(
            raw,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            deduplicate=False,
            output_format="python",
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as e:  # a parser failure on a broken page: the plain text still reads
        log.warning("trafilatura could not read the page (%s: %s); using its plain text", type(e).__name__, str(e)[:120])
    text = "\n".join(" ".join(line.split()) for line in (getattr(doc, "text", None) or "").splitlines() if line.strip())
    if text:
        meta = {k: _clean(v, 300) for k, v in (("author", doc.author), ("source", doc.sitename), ("url", doc.url)) if v}
        return Extracted(text=text, title=_clean(doc.title, 120), date=doc.date or None, meta=meta)
    return Extracted(text=plain_text(raw), title=_clean(html_title(raw), 120))
