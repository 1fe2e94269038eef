"""Questions with several parts: answer what the articles cover, say what they do not.

"Where is the office and who designed it?" has two parts. A part counts as answered when
a verified claim shares at least half of its content words (or, for a "where/when/how
many" part, holds a value of that kind and shares one word); every other part is named
in the answer: "The articles do not say who designed it."

>>> question_parts("Where is the office and who designed it?")
['Where is the office', 'who designed it']
"""

from __future__ import annotations

import re

from index.lexical import tokens
from rag.claims import LIGHT_WORDS
from rag.retrieve import answer_type, has_type

_SPLIT = re.compile(r"\?\s+|\s*[,;]?\s+and\s+(?=(?:who|what|when|where|why|how|which|whose)\b)", re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    parts = [p.strip(" ?") for p in _SPLIT.split(question) if p and p.strip(" ?")]
    return parts if len(parts) > 1 else [question.strip(" ?")]


def part_answered(part: str, claims: list[str]) -> bool:
    words = set(tokens(part)) - LIGHT_WORDS
    kind = answer_type(part)
    for c in claims:
        shared = words & set(tokens(c))
        if kind in ("count", "time", "duration", "place") and has_type(c, kind) and shared:
            return True
        if kind not in ("count", "time", "duration", "place") and words and len(shared) >= max(1, len(words) / 2):
            return True
    return False


def unanswered_parts(question: str, claims: list[str]) -> list[str]:
    """The parts of a multi-part question that no verified claim answers ([] for one-part questions)."""
    parts = question_parts(question)
    if len(parts) < 2:
        return []
    return [p for p in parts if not part_answered(p, claims)]


def not_covered_sentence(parts: list[str]) -> str:
    """'The articles do not say who designed it.' (first letter of each part lower-cased)."""
    return "The articles do not say " + " or ".join(p[0].lower() + p[1:] for p in parts) + "."
