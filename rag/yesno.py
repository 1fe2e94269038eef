"""Yes/no questions: which articles say it happened and which say it did not.

"Was the classroom door locked?", "did the grandmother survive?", "has the ferry been found?":
the question's core is its subject's head noun and its predicate (the verb or adjective it asks
about), read from the dependency parse (spaCy's small pipeline, `rag.roles`). An evidence
sentence that names both is one article's answer: "no" when a negation stands right before
the predicate ("the door was in fact not locked", "nobody was killed", "had never been
found"), "yes" otherwise ("the classroom door was locked"). Articles whose answers differ are a
disagreement. Matching the core, not all the question's words, lets a short sentence answer
a long question ("was the door of the classroom where the gunman holed up actually locked?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.types import Sentence

_YESNO = re.compile(r"^\s*(?:was|were|is|are|did|does|do|has|have|had)\b", re.IGNORECASE)
# A negation within a few words before the predicate ("was not locked", "had never been found",
# "nobody was killed", "no officer stopped").
_NEGATION = re.compile(r"\b(?:not|no|never|nobody|none|neither|nor|without|failed|fails|fail)\b|n[’']t\b", re.IGNORECASE)
# Words that make the predicate a possibility, an intention or an open question, not an answer
# ("whether officers could have stopped him", "the door was meant to be locked").
_OPEN = re.compile(r"\b(?:whether|if|could|would|might|may|should|meant|supposed|expected|expect|unclear|hoped?)\b", re.IGNORECASE)
_SUBJECT_DEPS = ("nsubj", "nsubjpass", "attr")
# Outcomes that exclude each other: "did the grandmother survive?" is answered "no" by "his
# grandmother was killed", "was the guard killed?" "no" by "the guard survived".
_DEATH = frozenset({"kill", "die", "dead", "murder"})
_SURVIVAL = frozenset({"survive", "rescue", "save"})
_OPPOSITE = {**dict.fromkeys(_DEATH, _SURVIVAL), **dict.fromkeys(_SURVIVAL, _DEATH)}


@dataclass(frozen=True)
class Core:
    subject: str  # lemma of the subject's head noun ("door")
    predicate: str  # lemma of the verb or adjective asked about ("lock", "survive")
    modifiers: frozenset[str] = frozenset()  # what kind of subject ("classroom" of "the door of the classroom")


def _modifiers(head) -> frozenset[str]:
    """Lemmas of the nouns and adjectives that say which one the head is: "classroom door",
    "outside door", "the door of the classroom"."""
    out = {c.lemma_.lower() for c in head.children if c.dep_ in ("compound", "amod", "nmod") and c.pos_ in ("NOUN", "PROPN", "ADJ")}
    for prep in (c for c in head.children if c.dep_ == "prep" and c.lower_ == "of"):
        out |= {p.lemma_.lower() for p in prep.children if p.dep_ == "pobj" and p.pos_ in ("NOUN", "PROPN")}
    return frozenset(out)


def core_of(question: str, parse) -> Core | None:
    """The subject head and predicate of a yes/no question, or None (not a yes/no question, or
    no noun subject: "was it locked?" names nothing to look for). `parse(text)` is a spaCy pipeline."""
    if not _YESNO.search(question):
        return None
    doc = parse(question)
    if doc is None:
        return None
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None:
        return None
    predicate = root
    if root.pos_ == "AUX":  # "Was the door locked": the root is the copula; its complement is asked
        predicate = next((c for c in root.children if c.dep_ in ("acomp", "attr", "oprd") and c.pos_ in ("ADJ", "VERB")), None)
    if predicate is None or predicate.pos_ not in ("VERB", "ADJ"):
        return None
    subject = next((c for c in [*predicate.children, *root.children] if c.dep_ in _SUBJECT_DEPS and c.pos_ in ("NOUN", "PROPN")), None)
    if subject is None:
        return None
    return Core(subject.lemma_.lower(), predicate.lemma_.lower(), _modifiers(subject))


def answers(core: Core, sentence: str, parse, previous: str = "") -> str | None:
    """ "yes" or "no" when the sentence names the core's subject and predicate, else None.
    `previous`: the text just before the sentence; a sentence opening with "He", "She", "They"
    or "It" speaks of the subject when the last sentence of `previous` names it."""
    doc = parse(sentence)
    if doc is None:
        return None
    # The subject must be there, and not another one of its kind ("an outside door" is not
    # "the door of the classroom"; a bare "the door" may be either).
    if not any(_is_subject(core, t) for t in doc):
        if not (_PRONOUN.match(sentence) and _names_subject(core, _last_sentence(previous), parse)):
            return None
        doc = parse(f"{core.subject.capitalize()} {sentence.split(' ', 1)[-1]}" if " " in sentence else sentence)
    return _answer(core, doc)


_PRONOUN = re.compile(r"^\s*(?:he|she|they|it)\b", re.IGNORECASE)


def _last_sentence(text: str) -> str:
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return parts[-1] if parts else ""


def _names_subject(core: Core, text: str, parse) -> bool:
    doc = parse(text) if text else None
    return doc is not None and any(_is_subject(core, t) for t in doc)


def _is_subject(core: Core, t) -> bool:
    """Whether the token is the core's subject, and not another one of its kind."""
    return t.lemma_.lower() == core.subject and _same_kind(core, _modifiers(t))


def _negated(doc, t) -> bool | None:
    """Whether a negation governs the predicate token (None: a possibility or an intention, no answer)."""
    before = doc[max(t.i - 4, 0) : t.i].text
    if _OPEN.search(before):
        return None
    return bool(_NEGATION.search(before)) or any(c.dep_ == "neg" for c in t.children)


def _answer(core: Core, doc) -> str | None:
    for t in doc:
        if t.lemma_.lower() == core.predicate and t.pos_ in ("VERB", "ADJ"):
            negated = _negated(doc, t)
            return None if negated is None else "no" if negated else "yes"
    return _opposite(core, doc)


def _opposite(core: Core, doc) -> str | None:
    """ "no" when the sentence gives the subject the outcome that excludes the asked one ("his
    grandmother was killed" for "did she survive"), "yes" when it denies that outcome or gives
    the asked one in other words ("two guards died" for "was the guard killed"); the outcome
    must be the subject's own (its subject or object, or "the dead grandmother")."""
    opposite = _OPPOSITE.get(core.predicate)
    if opposite is None:
        return None
    same = _DEATH if core.predicate in _DEATH else _SURVIVAL  # "two guards died" answers "was the guard killed"
    for t in doc:
        lemma = t.lemma_.lower()
        if lemma not in opposite | same or t.pos_ not in ("VERB", "ADJ"):
            continue
        own = [c for c in t.children if c.dep_ in ("nsubj", "nsubjpass", "dobj")] + ([t.head] if t.dep_ == "amod" else [])
        if not any(_is_subject(core, o) for o in own):
            continue
        negated = _negated(doc, t)
        return None if negated is None else "yes" if negated == (lemma in opposite) else "no"
    return None


def _same_kind(core: Core, modifiers: frozenset[str]) -> bool:
    return not core.modifiers or not modifiers or bool(core.modifiers & modifiers)


def yesno_versions(core: Core, evidence: list[Sentence], parse, previous=None) -> list[tuple[str, Sentence]]:
    """(answer, sentence) for each evidence sentence that answers the question whose core this is.
    `previous(sentence)`: the text before it in its article (for "She survived"), if known."""
    out = []
    for s in evidence:
        a = answers(core, s.text, parse, previous(s) if previous is not None else "")
        if a is not None:
            out.append((a, s))
    return out
