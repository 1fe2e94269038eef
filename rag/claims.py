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
    """The draft's sentences with any model-made citation markers removed."""
    text = _MARKER.sub("", draft).strip()
    claims = []
    for s, e in split_sentences(text):
        c = text[s:e].strip().lstrip("-*• ").strip()
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
