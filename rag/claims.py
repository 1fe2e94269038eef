"""From the model's draft to claims attributed to exact corpus sentences.

The model's own `[n]` markers are ignored (a 0.5B model gets them wrong half the time).
Each draft sentence is a claim; the system scores it against every candidate sentence
with the verifier, cites the best one, and, when one sentence is not enough, adds the
candidate that covers what is still missing (a claim may join facts from two sentences).

>>> split_claims("The car was white [2]. It came at 7pm.")
['The car was white.', 'It came at 7pm.']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.lexical import tokens
from index.sentences import split_sentences
from rag.types import Sentence
from rag.verify import Support, Verifier, coverage

_MARKER = re.compile(r"\s*\[\s*\d+(?:\s*[,-]\s*\d+)*\s*\]")
_ORDINAL = r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|\d+(?:st|nd|rd|th)?)"
# The prompt's own scaffolding restated in a claim ("According to the first excerpt, …",
# "(excerpt 3)"): it says where the model read something, not what the articles say, and an
# ordinal in it would read as a number to verify.
_SCAFFOLD = re.compile(
    rf"^\s*(?:according to|as (?:stated|said|reported) in|in|from)\s+(?:the\s+)?(?:{_ORDINAL}\s+)?excerpts?(?:\s*\[?\d+\]?)?(?:\s+and\s+(?:{_ORDINAL}\s+)?\[?\d*\]?)?\s*,\s*"
    rf"|\s*\((?:see\s+)?(?:the\s+)?(?:{_ORDINAL}\s+)?excerpts?(?:\s*\[?\d+\]?)?\)",
    re.IGNORECASE,
)
UNKNOWN = re.compile(
    r"\b(i don'?t know|i do not know|(?:do|does) not (?:say|mention|specify|provide|contain|state)|no information|not (?:mentioned|specified|stated|provided)|cannot (?:be )?(?:answer|determine)|can'?t (?:answer|determine|say)|unable to)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Attribution:
    claim: str
    sentences: tuple[Sentence, ...]
    support: Support


def split_claims(draft: str) -> list[str]:
    """The draft's sentences with any model-made citation markers and excerpt references removed.

    >>> split_claims("According to the first excerpt, around 60 staff work there (excerpt 2).")
    ['Around 60 staff work there.']
    """
    text = _MARKER.sub("", draft).strip()
    claims = []
    for s, e in split_sentences(text):
        c = _SCAFFOLD.sub("", text[s:e].strip().lstrip("-*• ").strip()).strip()
        c = c[:1].upper() + c[1:]
        if len(re.findall(r"\w+", c)) >= 2:
            claims.append(c if c[-1] in ".!?" else c + ".")
    return claims


def says_unknown(text: str) -> bool:
    return bool(UNKNOWN.search(text))


def attribute(claim: str, candidates: list[Sentence], verifier: Verifier) -> Attribution:
    """Cite the candidate sentence(s) that best support `claim`, verified."""
    if not candidates:
        return Attribution(claim, (), Support(False, 0.0, "no evidence"))
    # Rank candidates cheaply by word coverage, then verify the best few properly.
    ranked = sorted(candidates, key=lambda s: -coverage(claim, s.text))[:6]
    scored = [(verifier.support(claim, [s.text]), s) for s in ranked]
    scored.sort(key=lambda x: (not x[0].supported, -x[0].score))
    best_support, best = scored[0]
    if best_support.supported:
        return Attribution(claim, (best,), best_support)
    # Repair: the sentence just before or after may carry what the first lacks (a name, a
    # number, what "it" is). Only a neighbour in the same article: words gathered from
    # unrelated sentences can be stitched into a claim that no sentence makes.
    for _, first in scored[:3]:
        for other in candidates:
            if other.article_id != first.article_id or abs(other.n - first.n) != 1:
                continue
            pair = sorted((first, other), key=lambda s: s.n)
            joint = verifier.support(claim, [s.text for s in pair])
            if joint.supported:
                return Attribution(claim, tuple(pair), joint)
    return Attribution(claim, (best,), best_support)


LIGHT_WORDS = frozenset(tokens("happen happened occur occurred take took place get got go went come came did do does done make made"))


def extractive_answer(question: str, evidence: list[Sentence], has_kind) -> Sentence | None:
    """The evidence sentence that best answers a typed question ("where", "when", "how long")
    on its own: it holds the wanted kind of value and at least 60% of the question's content
    words. Used when the model's draft holds no such value."""
    q = set(tokens(question)) - LIGHT_WORDS
    if not q:
        return None
    best, best_cov = None, 0.6
    for s in evidence:
        if has_kind(s.text):
            cov = len(q & set(tokens(s.text))) / len(q)
            if cov >= best_cov and (best is None or cov > best_cov):
                best, best_cov = s, cov
    return best


# "The DIG said that …", "Police told reporters …": who reported the claim, not what it states.
_REPORTED_BY = re.compile(
    r"^(?:the\s+)?(?:[A-Z][\w.'’-]*\s+){1,4}(?:said|says|told\s+\w+|added|stated|confirmed|reported)(?:\s+that)?\s+(?=\S)"
)


def quoted(claim: str, question: str, evidence: list[Sentence], min_cover: float = 0.66) -> Sentence | None:
    """The evidence sentence that states what an unverified claim adds to the question, or None.

    A paraphrase the verifier cannot confirm is not shown; the article's own sentence can be,
    when it holds at least `min_cover` (two in three) of the claim's new content words (those the
    question does not already give; all its words when a figure is all it adds) and every number
    and name the claim adds. The answer then quotes
    that sentence, which is its own citation: grounded by construction, whatever the wording."""
    from rag.numbers import find_numbers, same_number
    from rag.verify import _content, _name_found, name_words, names_in

    asked = find_numbers(question)
    numbers = [n for n in find_numbers(claim) if not any(same_number(n, q) for q in asked)]
    # The quote is the article's own sentence, so who the draft says reported it need not be in
    # that sentence (it is often the one before); the names of what the claim states must be.
    stated = _REPORTED_BY.sub("", claim, count=1)
    names = [n for n in names_in(stated) if n.lower() not in question.lower()]
    new = _content(stated) - _content(question) - LIGHT_WORDS
    if not new and numbers:  # "The death toll is 143": the figure is all it adds; its words must be there too
        new = _content(stated) - LIGHT_WORDS
    if not new:
        return None
    best, best_cov = None, min_cover
    for s in evidence:
        cov = len(new & _content(s.text)) / len(new)
        if cov < best_cov or (best is not None and cov == best_cov):
            continue
        have = find_numbers(s.text)
        if not all(any(same_number(n, h) for h in have) for n in numbers):
            continue
        words = name_words(s.text)
        if all(_name_found(n, words) for n in names):
            best, best_cov = s, cov
    return best
