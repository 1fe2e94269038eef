"""Sentence splitting with exact character offsets.

`split_sentences(text)` returns `(start, end)` spans such that `text[start:end]` is one
sentence with no surrounding whitespace. Lines are hard boundaries (news files put
headings and paragraphs on their own lines); inside a line a sentence ends at `.`, `!`
or `?` (plus closing quotes or brackets) followed by whitespace and a plausible sentence
start, unless the period belongs to an abbreviation, an initial or a number. A run longer
than MAX_SENTENCE_CHARS is cut into pieces. Every step costs time linear in the length of
the text, so one hostile article (a megabyte on one line, thousands of periods, no spaces)
cannot stall a build.

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
_NEXT_START = re.compile(r"\s+(?=[\"'“‘(\[]?[A-Z0-9])")  # the whitespace before a plausible sentence start
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.")


def _word_before(line: str, dot: int) -> str:
    """The run of ASCII letters and periods that ends at `line[dot]` and starts with a letter.

    Scanning back from the period costs the length of that run only. The splitter asks only
    about periods followed by whitespace, so no two runs overlap and a whole line costs
    linear time (a regex searching from the start of the line for every period was quadratic).

    >>> _word_before("said Gen. Asim", 8)
    'Gen'
    """
    i = dot
    while i > 0 and line[i - 1] in _WORD_CHARS:
        i -= 1
    while i < dot and line[i] == ".":
        i += 1
    return line[i:dot]


def _is_abbreviation(line: str, dot: int) -> bool:
    """True when the period at `line[dot]` closes an abbreviation or an initial."""
    word = _word_before(line, dot)
    if not word:
        return False
    if word.lower().rstrip(".") in ABBREVIATIONS:
        return True
    # A single capital letter ("A. B. Khaliq") is an initial.
    return len(word) == 1 and word.isupper()


def _split_line(line: str, offset: int) -> list[tuple[int, int]]:
    """The sentence spans of one line, shifted by `offset`. A sentence ends on its punctuation
    and the next starts after the whitespace, so only the line's ends need trimming."""
    out: list[tuple[int, int]] = []
    start = len(line) - len(line.lstrip())
    for m in _END.finditer(line):
        nxt = _NEXT_START.match(line, m.end())
        if not nxt or (m.group(0) == "." and _is_abbreviation(line, m.start())):
            continue
        out.append((offset + start, offset + m.end()))
        start = nxt.end()
    end = len(line.rstrip())
    if end > start:
        out.append((offset + start, offset + end))
    return out


# No sentence longer than this reaches the index. The longest sentence in the bundled and eval
# corpora has 303 characters; news style guides aim for 25-35 words (about 200). A run of
# 1,000 characters is about 250 tokens: a prompt's sentences and chunk windows stay well inside
# the model's context window, and any longer run is not a sentence (a table flattened onto one
# line, a paste without full stops, hostile input), so it is cut into pieces.
MAX_SENTENCE_CHARS = 1000

_LAST_SPACE = re.compile(r".*\s", re.DOTALL)  # matched on a bounded window: ends after its last whitespace
_LAST_MARK = re.compile(r".*[^\w\s]", re.DOTALL)  # ... after its last punctuation mark
_SPACES = re.compile(r"\s*")


def _cut(text: str, start: int) -> int:
    """Where a piece of at most MAX_SENTENCE_CHARS starting at `start` ends: at the last
    whitespace in the second half of the window, else after the last punctuation mark there,
    else at the cap (a run with neither, such as a long URL or text without spaces)."""
    lo, hi = start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS
    if m := _LAST_SPACE.match(text, lo, hi):
        return m.end() - 1
    if m := _LAST_MARK.match(text, lo, hi):
        return m.end()
    return hi


def _capped(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The trimmed span `text[start:end]` as pieces of at most MAX_SENTENCE_CHARS, each trimmed
    and non-empty. Each step looks at one window of the cap's size, so a run of any length
    costs linear time.

    >>> t = "word " * 300
    >>> [e - s for s, e in _capped(t, 0, len(t) - 1)]
    [999, 499]
    """
    out = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = _cut(text, start)
        piece = text[start:cut]
        out.append((start, start + len(piece.rstrip())))
        start = _SPACES.match(text, cut, end).end()
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
                if e - s <= MAX_SENTENCE_CHARS:
                    spans.append((s, e))
                else:
                    spans.extend(_capped(text, s, e))
        pos += len(line)
    return spans
