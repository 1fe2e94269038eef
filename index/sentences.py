"""Sentence splitting with exact character offsets.

`split_sentences(text)` returns `(start, end)` spans such that `text[start:end]` is one
sentence with no surrounding whitespace. Lines are hard boundaries (news files put
headings and paragraphs on their own lines); inside a line a sentence ends at `.`, `!`
or `?` (plus closing quotes or brackets) followed by whitespace and a plausible sentence
start, unless the period belongs to an abbreviation, an initial or a number.

>>> t = "Dr. A. B. Khan said 4.5 km. It rained."
>>> [t[s:e] for s, e in split_sentences(t)]
['Dr. A. B. Khan said 4.5 km.', 'It rained.']
"""

from __future__ import annotations

import re

# Words that end with a period but rarely end a sentence.
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof gen brig lt col capt cpt maj sgt cmdr adm gov sen rep st jr sr inc ltd co corp
    vs etc e.g i.e no nos vol fig approx dept univ est mt ft jan feb mar apr jun jul aug sep sept oct nov dec
    u.s u.k u.n a.m p.m insp supt dist govt rs""".split()
)

_END = re.compile(r"[.!?]+[\"'”’)\]]*")
_NEXT_START = re.compile(r"\s+[\"'“‘(\[]?[A-Z0-9]")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")


def _is_abbreviation(line: str, dot: int) -> bool:
    """True when the period at `line[dot]` closes an abbreviation or an initial."""
    # Only the word right before the period matters: look back a bounded stretch (searching
    # from the start of the line for every period made a long line quadratic).
    window = max(0, dot - 64)
    m = _WORD_BEFORE.search(line, window, dot)
    if not m or (m.start() == window and window > 0 and line[window - 1].isalpha()):
        return False
    word = m.group(1).lower().rstrip(".")
    if word in ABBREVIATIONS:
        return True
    # A single capital letter ("A. B. Khaliq") is an initial.
    return len(m.group(1)) == 1 and m.group(1).isupper()


def _split_line(line: str, offset: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(line):
        end = m.end()
        nxt = _NEXT_START.match(line, end)
        if not nxt:
            continue
        if line[m.start()] == "." and m.group(0) == "." and _is_abbreviation(line, m.start()):
            continue
        spans.append((start, end))
        start = end
    spans.append((start, len(line)))
    out = []
    for s, e in spans:
        piece = line[s:e]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        if piece.strip():
            out.append((offset + s + lead, offset + e - trail))
    return out


MAX_SENTENCE_CHARS = 1000  # longer runs without a sentence end are cut at a space (no real sentence is this long)


def _capped(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + MAX_SENTENCE_CHARS
        out.append((start, len(text[start:cut].rstrip()) + start))
        start = cut + len(text[cut:end]) - len(text[cut:end].lstrip())
    if end > start:
        out.append((start, end))
    return out


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split `text` into sentence spans; every span slices back to a trimmed sentence of at
    most MAX_SENTENCE_CHARS characters."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            for s, e in _split_line(line, pos):
                spans.extend(_capped(text, s, e))
        pos += len(line)
    return spans
