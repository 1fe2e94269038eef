"""Turning a follow-up into a standalone question for retrieval, without a model call.

"And how many were injured?" after "How many attackers stormed the Karachi Police
Office?" carries no subject of its own. When a question leans on the conversation
(opens with "and"/"what about", uses a pronoun, or is very short), the subject of the
previous question (its names and content words) is appended as context. A question that
stands on its own is used as it is.

>>> standalone_question("And how many were injured?", ["How many attackers stormed the Karachi Police Office?"])
'And how many were injured? (about: attackers stormed Karachi Police Office)'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_LEANS = re.compile(
    r"^(and|but|also|so|what about|how about|and what about|then)\b|\b(it|its|they|them|their|he|him|his|she|her|that|those|this|these|there)\b",
    re.IGNORECASE,
)


_NOT_SUBJECT = frozenset(
    "what when where which there were many much does about have with from that this they them their into after before"
    " said says tell told know".split()
)


def _subject(question: str) -> str:
    """The names of a question (after its first word) and its other content words, in order:
    "How many gunmen stormed the Karachi Police Office?" → "gunmen stormed Karachi Police Office"."""
    body = question.split(" ", 1)[1] if " " in question else ""
    names = re.findall(r"\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*", body)
    in_names = {w.lower() for n in names for w in n.split()}
    words = [w for w in re.findall(r"[A-Za-z][\w’'-]*", body) if len(w) > 3 and w.lower() not in _NOT_SUBJECT]
    out: list[str] = []
    for w in words:
        name = next((n for n in names if n.split()[0] == w), None)
        if name:
            out.append(name)
        elif w.lower() not in in_names:
            out.append(w)
    return " ".join(dict.fromkeys(out))


def standalone_question(question: str, history: Sequence[str]) -> str:
    """`question` made self-contained using the previous user questions (most recent last)."""
    if not history:
        return question
    content = [w for w in re.findall(r"[A-Za-z]+", question) if len(w) > 3]
    if not (_LEANS.search(question) or len(content) <= 3):
        return question
    for prev in reversed(history):
        subject = _subject(prev)
        if subject and subject.lower() not in question.lower():
            return f"{question} (about: {subject})"
    return question
