"""Does this evidence support this claim? The check behind every citation.

No NLI model ships in a package here, so the default `HeuristicVerifier` combines:

* hard checks that must all pass: every number in the claim appears in the evidence
  (normalised: "three" = 3, "half a dozen" = 6, "eight to 10" = 8–10); every proper
  name in the claim appears in the evidence (tolerating transliteration, e.g. Muqadas ~
  Muqaddas); the claim does not negate what the evidence affirms, or the reverse;
* a soft score: 0.6 × share of the claim's content words found in the evidence
  (stemmed) + 0.4 × embedding cosine between claim and evidence.

Anyone with an NLI model can pass their own object with the same `support()` method.
What this cannot catch: a claim that reuses the evidence's words and numbers in a
different relation ("A attacked B" vs "B attacked A"), or paraphrases with no shared words.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.lexical import tokens
from rag.numbers import find_numbers, numbers_covered, same_number, word_value
from rag.roles import misplaced, role_swap

# Words by which a report holds a fact at arm's length; a claim that drops them overstates it.
HEDGES = re.compile(
    r"\b(may|might|could|possibly|probably|suspected|suspects?|allegedly|alleged|believed|believes|unconfirmed|reportedly|apparently|likely|unclear|thought to|appears? to|seems? to|is said to|are said to)\b",
    re.IGNORECASE,
)
NEGATIONS = re.compile(r"\b(not|no|never|none|nobody|nothing|neither|nor|without|cannot|unclear|unknown)\b|n't\b", re.IGNORECASE)
_CAP = re.compile(r"\b[A-Z][a-zA-Z’'\-]+(?:\s+[A-Z][a-zA-Z’'\-]+)*")
# Capitalised words that are not names worth checking.
COMMON_CAPS = frozenset(
    "The A An In On At Of And But Or It He She They We I This That These Those There According However Also After Before During "
    "While When Where Who What Which Why How Yes No Reports Report Sources Source Officials Police Both Some Many Most All Meanwhile "
    "Earlier Later Then Today Yesterday Overall Initially Finally According".split()
)

COLOURS = (
    "white",
    "black",
    "silver",
    "grey",
    "gray",
    "red",
    "blue",
    "green",
    "yellow",
    "brown",
    "golden",
    "gold",
    "orange",
    "purple",
    "pink",
    "maroon",
    "beige",
)


@dataclass(frozen=True)
class Support:
    supported: bool
    score: float
    reason: str = ""


class Verifier(Protocol):
    def support(self, claim: str, evidence: list[str]) -> Support:
        """Whether the evidence sentences, taken together, support the claim."""
        ...


def names_in(text: str) -> list[str]:
    """Proper names: capitalised words other than common sentence openers and number words.
    A capitalised first word counts too ("Tauqeer led the operation"); evidence is matched
    case-insensitively, so an ordinary word there ("Security forces…") costs nothing."""
    names: list[str] = []
    for m in _CAP.finditer(text):
        names.extend(w.strip("’'-") for w in m.group(0).split() if w not in COMMON_CAPS and len(w) > 1 and word_value(w) is None)
    return names


def name_words(text: str) -> set[str]:
    """The lower-cased words of a text a name is looked up in, hyphenated ones also in parts."""
    words = {w.lower().strip("’'") for w in re.findall(r"[\w’'-]+", text)}
    return words | {p for w in words for p in w.split("-")}


def _name_found(name: str, evidence_words: set[str]) -> bool:
    n = name.lower()
    if n in evidence_words:
        return True
    for part in n.split("-"):
        if len(part) > 2 and part in evidence_words:
            return True
    close = difflib.get_close_matches(n, list(evidence_words), n=1, cutoff=0.8)
    return bool(close)


def hard_checks(claim: str, evidence: str) -> tuple[bool, str]:
    """Numbers, names and polarity. Returns (passed, reason for failure)."""
    ok, missing = numbers_covered(claim, evidence)
    if not ok:
        return False, f"number not in evidence: {', '.join(missing)}"
    words = name_words(evidence)
    absent = [n for n in names_in(claim) if not _name_found(n, words)]
    if absent:
        return False, f"name not in evidence: {', '.join(absent)}"
    colours = [c for c in COLOURS if re.search(rf"\b{c}\b", claim, re.IGNORECASE) and not re.search(rf"\b{c}\b", evidence, re.IGNORECASE)]
    if colours:
        return False, f"colour not in evidence: {', '.join(colours)}"
    claim_neg = bool(NEGATIONS.search(claim))
    if claim_neg and not NEGATIONS.search(evidence):
        return False, "negation differs"
    if not claim_neg and _negates_claim(evidence, claim):
        return False, "negation differs"
    unbound = _unbound_number(claim, evidence)
    if unbound:
        return False, f"{unbound} counts something else in the evidence"
    if not HEDGES.search(claim) and _governs(HEDGES, evidence, claim):
        return False, "the evidence hedges what the claim states as fact"
    swapped = role_swap(claim, evidence) or misplaced(claim, evidence)
    if swapped:
        return False, swapped
    return True, ""


def _unbound_number(claim: str, evidence: str) -> str:
    """A number of the claim whose neighbouring words share nothing with the words around that
    number in the evidence ("12 dead" from "12 injured and 3 dead"). Returns it, or ''."""
    for n in find_numbers(claim):
        if n.ordinal:
            continue
        c_ctx = _window_tokens(claim, n.start, n.end, 2, 3)
        if not c_ctx:
            continue
        found_any = False
        for h in find_numbers(evidence):
            if same_number(n, h):
                found_any = True
                if c_ctx & _window_tokens(evidence, h.start, h.end, 4, 4):
                    break
        else:
            if found_any:
                return n.text
    return ""


def _window_tokens(text: str, start: int, end: int, before: int, after: int) -> set[str]:
    """Content tokens of the `before` words ahead of a span and the `after` words behind it."""
    left = text[:start].split()[-before:]
    right = text[end:].split()[:after]
    return _content(" ".join(left + right))


def _governs(pattern: re.Pattern[str], evidence: str, claim: str, within: int = 6) -> bool:
    """Whether a match of `pattern` in the evidence governs words of the claim (within `within` words)."""
    claim_words = _content(claim)
    for m in pattern.finditer(evidence):
        scope = " ".join(evidence[m.end() :].split()[:within])
        if _content(scope) & claim_words:
            return True
    return False


def _negates_claim(evidence: str, claim: str) -> bool:
    """Whether a negation in the evidence governs words of the claim (within four words).
    "…equipped with weapons, but they never got the chance" does not negate "equipped"."""
    return _governs(NEGATIONS, evidence, claim, within=4)


def _content(text: str) -> set[str]:
    """Stemmed content tokens without numbers (numbers are checked exactly elsewhere)."""
    return {t for t in tokens(text) if word_value(t) is None}


def coverage(claim: str, evidence: str) -> float:
    """Share of the claim's content tokens present in the evidence (0.0 for an empty claim)."""
    c = _content(claim)
    if not c:
        return 0.0
    return len(c & _content(evidence)) / len(c)


class HeuristicVerifier:
    """Lexical + embedding similarity with strict number/name/negation checks."""

    def __init__(self, embedder=None, threshold: float = 0.55, min_coverage: float = 0.75):
        self.embedder = embedder
        self.threshold = threshold
        self.min_coverage = min_coverage

    def _cosine(self, claim: str, evidence: str) -> float:
        if self.embedder is None:
            return coverage(claim, evidence)
        v = self.embedder.embed([claim, evidence])
        return float(np.dot(v[0], v[1]))

    def support(self, claim: str, evidence: list[str]) -> Support:
        text = " ".join(evidence)
        cov = coverage(claim, text)
        score = 0.6 * cov + 0.4 * max(self._cosine(claim, text), 0.0)
        passed, reason = hard_checks(claim, text)
        if not passed:
            return Support(False, score, reason)
        if cov < self.min_coverage:
            return Support(False, score, f"only {cov:.0%} of the claim's words are in the evidence")
        if score < self.threshold:
            return Support(False, score, f"support score {score:.2f} below {self.threshold}")
        return Support(True, score)


class AnswersQuestion:
    """Wraps any verifier for one question: the words a claim adds beyond the question are
    its information, so at least half of them must be in the evidence as well. Without this,
    "It is located in the Karachi Police Office building" passes on the strength of words it
    merely repeats from "Where is the Karachi Police Office located?".

    A name the claim only repeats from the question ("The Karachi Police Office is near …",
    from a sentence that says "the office is near …") is the question's frame, not the claim's
    information: when `article_text(evidence)` (the text of the articles the evidence comes
    from) names it too, it need not be in the cited sentence itself. A question name that
    article never mentions still fails (a claim about "the Lahore office" from a Karachi report)."""

    def __init__(self, inner: Verifier, question: str, min_new: float = 0.5, article_text: Callable[[list[str]], str] | None = None):
        self.inner, self.question_words, self.min_new = inner, _content(question), min_new
        self.question_names = {n.lower() for n in names_in(question)}
        self.article_text = article_text

    def support(self, claim: str, evidence: list[str]) -> Support:
        s = self.inner.support(claim, evidence)
        if not s.supported and self.article_text is not None and s.reason.startswith("name not in evidence"):
            framed = self._framing_names(claim, evidence)
            if framed:  # checked again with those names granted; every other check still applies
                s = self.inner.support(claim, [*evidence, " ".join(framed)])
        new = _content(claim) - self.question_words
        if s.supported and new:
            found = new & _content(" ".join(evidence))
            if len(found) < self.min_new * len(new):
                return Support(False, s.score, f"the claim's new words are not in the evidence: {', '.join(sorted(new - found))}")
        return s

    def _framing_names(self, claim: str, evidence: list[str]) -> list[str]:
        """The claim's names missing from the evidence, if every one of them comes from the
        question and is named in the evidence's articles; else []."""
        words = name_words(" ".join(evidence))
        missing = [n for n in names_in(claim) if not _name_found(n, words)]
        if not missing or any(n.lower() not in self.question_names for n in missing):
            return []
        assert self.article_text is not None
        context = name_words(self.article_text(evidence))
        return missing if all(_name_found(n, context) for n in missing) else []
