"""Article text as HTML with cited spans marked, by character offsets only.

A citation carries `start`/`end` into `Article.text`; the mark wraps exactly
`text[start:end]`, so what is highlighted is by construction what was quoted. There is
no searching for the quote in the text: a span that does not fit the text is reported,
not guessed.

>>> highlight("One. Two. Three.", [Mark(5, 9, "cite-active")])
'One. <mark class="cite-active">Two.</mark> Three.'
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Mark:
    """A span of the text to wrap in `<mark>`; `attrs` become extra HTML attributes."""

    start: int
    end: int
    cls: str = ""
    attrs: tuple[tuple[str, str], ...] = ()


def _open_tag(m: Mark) -> str:
    parts = ["<mark"]
    if m.cls:
        parts.append(f' class="{html.escape(m.cls)}"')
    for k, v in m.attrs:
        parts.append(f' {k}="{html.escape(v)}"')
    return "".join(parts) + ">"


def highlight(text: str, marks: Sequence[Mark]) -> str:
    """`text` HTML-escaped, with each mark's span wrapped in `<mark>`.

    Marks are applied in order of `start`; a mark that overlaps an earlier one is left
    out (the first one wins), so the result is always well-formed. A mark outside the
    text raises ValueError.

    >>> highlight("a<b & c", [Mark(2, 3)])
    'a&lt;<mark>b</mark> &amp; c'
    """
    for m in marks:
        if not (0 <= m.start < m.end <= len(text)):
            raise ValueError(f"span {m.start}:{m.end} is outside a text of {len(text)} characters")
    out, pos = [], 0
    for m in sorted(marks, key=lambda m: (m.start, m.end)):
        if m.start < pos:
            continue
        out.append(html.escape(text[pos : m.start], quote=False))
        out.append(_open_tag(m) + html.escape(text[m.start : m.end], quote=False) + "</mark>")
        pos = m.end
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)
