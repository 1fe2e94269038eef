"""Deciding, before any generation, whether a question is for the articles at all.

* Requests aimed at the assistant itself (reveal your prompt, ignore your instructions,
  act as …) are declined: they are not questions about the news.
* A question whose best match in the corpus is weak (low cosine with every sentence and
  window, and few of its content words in the retrieved sentences) has no answer there.

Text inside the articles is never checked here: it is data and is only ever quoted.
"""

from __future__ import annotations

import re

from rag.errors import RagError

_META = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules?|prompts?|above|previous|everything)\b"
    r"|\b(system|hidden|initial|original)\s+(prompt|instructions?|message)\b"
    r"|\b(reveal|print|show|repeat|output|tell me)\b.{0,30}\b(your|the)\s+(prompt|instructions?|rules)\b"
    r"|\byou are now\b|\bpretend (to be|you are)\b|\bact as\b|\bjailbreak\b|\bDAN\b",
    re.IGNORECASE | re.DOTALL,
)


def clean_question(question: str, max_chars: int) -> str:
    """Collapse whitespace; reject empty or over-long questions with one clear line."""
    if question is None:
        raise RagError("the question is empty")
    q = " ".join(str(question).split())
    if not q:
        raise RagError("the question is empty")
    if len(q) > max_chars:
        raise RagError(f"the question is {len(q):,} characters long; the limit is {max_chars:,} (RAG_MAX_QUESTION_CHARS)")
    return q


def is_meta_request(question: str) -> bool:
    """True for prompt-injection or assistant-directed requests."""
    return bool(_META.search(question))


def is_relevant(max_similarity: float, lexical_overlap: float, min_similarity: float) -> bool:
    """The corpus has something on the question: a close sentence, or a fair one that shares most words."""
    if max_similarity >= min_similarity + 0.15:
        return True
    return max_similarity >= min_similarity and lexical_overlap >= 0.5
