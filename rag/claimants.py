"""Who each article says claimed an attack or was behind it.

"Who took credit for the attack?", "was any group behind the raid?", "who was responsible?":
reports disagree on this more than on most things: one names the group that claimed it,
another says no group has, a third quotes officials who blame someone else. The question is
recognised by its words of responsibility (responsible, credit, behind, blame, perpetrator);
each evidence sentence is read for a claim ("X claimed responsibility", "X took credit"), its
absence ("no group has claimed responsibility") or an accusation ("officials blamed X", "X
was behind the attack"). Each differing answer is a version with its articles; an acronym
and its words ("TTP", "Tehreek-i-Taliban Pakistan") are one claimant.
"""

from __future__ import annotations

import re

from index.lexical import tokens
from rag.types import Sentence
from rag.verify import COMMON_CAPS

_ASKS = re.compile(r"\b(?:responsib\w*|credit|behind|blam\w*|perpetrat\w*|culprits?)\b", re.IGNORECASE)
# Who did it: "who …", "which group …", "has any organisation …", "was anyone …" (not "which
# spokesperson denied …" or "what did officials say about …", which ask something else).
_GROUP = r"(?:\w+\s+)?(?:group|organi[sz]ation|outfit|faction|movement|network|militants?|side|party|country)s?"
_WHO = re.compile(
    rf"^\s*(?:who\b|(?:which|what)\s+{_GROUP}\b|(?:has|have|did|was|were|is|are)\s+(?:any|a|an|anyone|anybody|someone)\b)",
    re.IGNORECASE,
)
_CLAIMED = re.compile(
    r"\b(?:has\s+|have\s+|had\s+)?(?:claimed|claims|claim|took|taken|accepted|owned)\s+(?:the\s+|its\s+)?(?:responsibility|credit)\b",
    re.IGNORECASE,
)
_NONE = re.compile(
    r"\b(?:no\s+(?:\w+\s+){0,2}(?:group|organi[sz]ation|one|outfit|faction)|nobody|none)\b[^.;]{0,40}?\b(?:has|have|had|was|were)?\s*(?:yet\s+)?(?:claimed|taken|accepted|owned)\b"
    r"|\b(?:not|yet\s+to)\s+(?:been\s+)?(?:claimed|claim)\b",
    re.IGNORECASE,
)
_BLAMED = re.compile(r"\b(?:blamed|accused)\s+(?:the\s+attack\s+on\s+|it\s+on\s+)?", re.IGNORECASE)
_BEHIND = re.compile(r"\s+(?:was|were|is|are)\s+(?:\w+\s+)?(?:behind|responsible\s+for|to\s+blame)\b", re.IGNORECASE)
_RUN = re.compile(r"(?:[A-Z][\w’'.\-]*|of|the|al|el|i|e)(?:\s+(?:[A-Z][\w’'.\-]*|of|al|el|i|e|\([A-Z][\w.\-]*\)))*")
_NOT_NAMES = frozenset("Thursday Friday Saturday Sunday Monday Tuesday Wednesday Officials Authorities Police".split())


def asks_claimant(question: str) -> bool:
    """A question of who claimed or was behind something."""
    return bool(_ASKS.search(question)) and bool(_WHO.match(question))


def _name(text: str) -> str:
    """The claimant's name in a run of capitalised words, without leading articles and openers."""
    words = [w for w in text.split() if w]
    while words and (words[0] in COMMON_CAPS or words[0].islower() or words[0] in _NOT_NAMES):
        words.pop(0)
    while words and words[-1].islower():
        words.pop()
    return " ".join(words).strip(" ,.")


def _last_run(before: str) -> str:
    runs = [m.group(0) for m in _RUN.finditer(before) if _name(m.group(0))]
    if not runs or not before.rstrip().endswith(runs[-1].rstrip()):
        return ""
    return _name(runs[-1])


def _first_run(after: str) -> str:
    m = _RUN.match(after)
    return _name(m.group(0)) if m else ""


def claims_in(sentence: Sentence) -> list[tuple[str, str]]:
    """(key, as shown) for each claim, absence of a claim or accusation in the sentence."""
    text = sentence.text
    if none := _NONE.search(text):
        return [("no claim", none.group(0))]
    out: list[tuple[str, str]] = []
    for m in _CLAIMED.finditer(text):
        before = text[: m.start()]
        acronym = re.search(r"\s*\(([A-Z][\w.\-]{1,8})\)\s*$", before)  # "… Pakistan (TTP) claimed": one claimant, two names
        name = _last_run(before[: acronym.start()] if acronym else before)
        if name and acronym:
            name = f"{name} ({acronym.group(1)})"
        if name:
            out.append((name, f"{name} claimed responsibility"))
    for m in _BLAMED.finditer(text):
        name = _first_run(text[m.end() :])
        if name:
            out.append((name, f"blamed {name}"))
    for m in _BEHIND.finditer(text):
        name = _last_run(text[: m.start()])
        if name:
            out.append((name, f"{name} was behind it"))
    return out


def _initials(name: str) -> str:
    return "".join(p[0] for p in re.split(r"[\s\-]+", name) if p and p[0].isupper())


def same_claimant(a: str, b: str) -> bool:
    """The same name, a shorter form of it, or an acronym of its words ("TTP" / "Tehreek-i-Taliban Pakistan")."""
    if a == "no claim" or b == "no claim":
        return a == b
    aliases = lambda n: [x.strip() for x in re.split(r"[()]", n) if x.strip()]  # noqa: E731  "Pakistani Taliban (TTP)"
    if len(aliases(a)) > 1 or len(aliases(b)) > 1:
        return any(same_claimant(x, y) for x in aliases(a) for y in aliases(b))
    ta, tb = set(tokens(a)), set(tokens(b))
    if ta and tb and (ta <= tb or tb <= ta):
        return True
    for short, long in ((a, b), (b, a)):
        s = short.replace(".", "")
        if s.isupper() and 2 <= len(s) <= 6 and s == _initials(long):
            return True
    return False
