"""What each article says caused it.

"What caused the fire?", "why did the ferry capsize?", "what was blamed for the crash?": reports
often give different causes (a short circuit against a gas cylinder; a signal fault against
human error). Each evidence sentence is read for a cause phrase in the ways English states one:
"caused by X", "X caused the fire", "due to X", "because of X", "the result of X", "blamed … on
X", "pointed to X", "under the weight of X". Causes that share no content word and that the
embedder does not find alike are different versions, each with its articles.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from index.lexical import tokens
from rag.types import Sentence

# "Who was blamed" / "who was responsible" ask for a claimant (rag/claimants.py), not a cause.
_ASKS = re.compile(
    r"^\s*(?:why\b|what\s+(?:\w+\s+){0,2}(?:caused|causes|cause|triggered|sparked|led\s+to|was\s+blamed|is\s+blamed|were\s+blamed)\b"
    r"|what\s+(?:was|is)\s+behind\b)"
    r"|\b(?:the\s+)?(?:cause|reason)s?\s+(?:of|for)\b",
    re.IGNORECASE,
)
_PHRASE = r"(?P<c>(?:(?!\b(?:and|but|that|which|who|while|after|before|when|as|said|says|according)\b)[\w’'-]+[ ]?){1,8})"
_AFTER = [
    re.compile(rf"\b(?:caused|triggered|sparked|started)\s+by\s+(?:an?\s+|the\s+)?{_PHRASE}", re.IGNORECASE),
    re.compile(rf"\b(?:due|owing)\s+to\s+(?:an?\s+|the\s+)?{_PHRASE}", re.IGNORECASE),
    re.compile(rf"\bbecause\s+of\s+(?:an?\s+|the\s+)?{_PHRASE}", re.IGNORECASE),
    re.compile(rf"\b(?:result|product)\s+of\s+(?:an?\s+|the\s+)?{_PHRASE}", re.IGNORECASE),
    re.compile(rf"\bblam\w*\s+(?:[\w’'-]+\s+){{0,5}}?on\s+(?:an?\s+|the\s+)?{_PHRASE}", re.IGNORECASE),
    re.compile(rf"\bpointed\s+to\s+(?:an?\s+|the\s+)?{_PHRASE}", re.IGNORECASE),
    re.compile(rf"\bunder\s+the\s+weight\s+of\s+(?:the\s+)?{_PHRASE}", re.IGNORECASE),
]
# "an electrical short circuit in the dyeing unit most likely caused the fire": the cause is the subject.
_BEFORE = re.compile(
    r"(?P<c>[^,;:.]{3,120}?)\s+(?:(?:most\s+|very\s+)?\w+ly\s+|may\s+have\s+|might\s+have\s+|had\s+)?(?:caused|triggered|sparked)\s+(?:the|a|an|it)\b",
    re.IGNORECASE,
)
_DETERMINERS = {"a", "an", "the", "that", "this", "it", "its", "their", "his", "her", "which", "what", "who"}
_NO_CAUSE = re.compile(r"\b(?:what|which|whether|unclear|unknown|not\s+(?:yet\s+)?(?:clear|known|determined))\b", re.IGNORECASE)
SAME_MIN = 0.6  # cosine above which two cause phrases are one cause in other words
EFFECT_MIN = 0.55  # a sentence word this close to an effect word names the effect ("accident" ~ "crash" 0.61)
CAUSE_POOL = 30  # the best-ranked sentences of the pool read for causes (further down: other events)


def _content_words(text: str) -> list[str]:
    return list(dict.fromkeys(w.lower() for w in re.findall(r"[A-Za-z][\w-]{2,}", text) if w.lower() not in _DETERMINERS))


def asks_cause(question: str) -> bool:
    return bool(_ASKS.search(question)) and not re.match(r"^\s*who\b", question, re.IGNORECASE)


def _clean(phrase: str) -> str:
    words = phrase.split()
    while words and words[0].lower() in _DETERMINERS:
        words.pop(0)
    return " ".join(words).strip(" ,;:.’'\"")


def causes_in(text: str) -> list[str]:
    """The cause phrases of one sentence, as written."""
    out = [_clean(m.group("c")) for p in _AFTER for m in p.finditer(text)]
    for m in _BEFORE.finditer(text):
        clause = re.split(r"\b(?:that|said|says|say|believe|believed|think|thought)\b", m.group("c"))[-1]
        out.append(_clean(" ".join(clause.split()[-8:])))
    return [c for c in out if tokens(c) and not _NO_CAUSE.search(c)]  # "it is not clear what caused it": none


_CAUSE_VERBS = {"cause", "trigger", "spark", "blame", "lead", "be", "do", "result", "give"}
_SAYING = {"say", "tell", "state", "report", "announce", "claim", "explain", "write"}


def effect_words(question: str, parse) -> frozenset[str]:
    """What the question asks the cause of: its main verb ("why did the train derail": derail)
    and that verb's object, or the object of its cause verb ("what caused the fire": fire; "what
    was blamed for causing the crash": crash; "what was the cause of the fire": fire). Empty
    without a parse."""
    doc = parse(question)
    if doc is None:
        return frozenset()
    out = set()
    for t in doc:
        lemma = t.lemma_.lower()
        if t.dep_ == "ROOT" and t.pos_ == "VERB" and lemma in _SAYING:
            # "why did the governor say the forces were holding off": the cause of the holding off
            out |= {c.lemma_.lower() for c in t.children if c.dep_ == "ccomp" and c.pos_ in ("VERB", "AUX", "ADJ")}
        elif t.dep_ == "ROOT" and t.pos_ == "VERB" and lemma not in _CAUSE_VERBS:
            out.add(lemma)
        if t.dep_ in ("dobj", "pobj") and t.pos_ in ("NOUN", "PROPN") and t.head.lemma_.lower() in _CAUSE_VERBS | {"of", "for"}:
            out.add(t.lemma_.lower())
        if t.dep_ == "dobj" and t.head.dep_ == "ROOT" and t.pos_ == "NOUN":
            out.add(lemma)
    return frozenset(out - {"cause", "reason"})


def cause_versions(
    question: str, evidence: list[Sentence], best: Callable[[str, list[str]], float], effect: frozenset[str] = frozenset()
) -> list[tuple[str, str, Sentence]]:
    """(key, cause as written, sentence) for each cause an evidence sentence gives; causes
    alike in words or meaning share the key of the first one found (evidence in rank order).
    Words of the question are not a cause ("what caused the fire": "the fire" is no cause).
    With `effect` words, a sentence must name the effect too, in those or like words ("the
    accident" for "the crash"): the cause of the fire is no answer to why an inspection failed.
    `best(target, phrases)`: the highest cosine between the target and any phrase (one batch)."""
    asked = set(tokens(question))
    # An effect word most of the evidence holds ("the train" in reports of a train crash) tells
    # no sentence apart; the rarer ones do ("derail"). None left: every sentence is about it.
    held = [set(tokens(s.text)) for s in evidence]
    effect = frozenset(e for e in effect if sum(bool(set(tokens(e)) & h) for h in held) <= 0.4 * len(held))
    keys: list[tuple[str, set[str]]] = []
    out = []
    for s in evidence:
        causes = causes_in(s.text)  # the regexes first: only a sentence giving a cause is read for its effect
        if not causes or (effect and not any(best(e, _content_words(s.text)) >= EFFECT_MIN for e in effect)):
            continue
        for cause in causes:
            words = set(tokens(cause)) - asked
            if not words:
                continue
            key = next((k for k, w in keys if w & words or best(cause, [k]) >= SAME_MIN), None)
            if key is None:
                key = cause
                keys.append((key, words))
            out.append((key, cause, s))
    return out
