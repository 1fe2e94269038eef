"""What a count or colour question is about, read from its parse rather than its word order.

"How many gunmen took part in the assault on the KPO?" counts *gunmen*; the figure that answers
it must be about the *assault* on the *KPO*; "took part" is how the question happens to say it,
and a report that writes "six terrorists stormed the office" answers it in other verbs. So the
thing counted (or coloured) is the noun that "many", "number of" or "colour" attaches to, and the
context a figure's sentence is checked against is the question's other nouns and names: never
its verbs. "What colour was the gunmen's car?" colours the *car* (the gunmen only own it); "the
car … what colour was it?" colours what "it" stands for.

The parser is spaCy's small English pipeline (`rag.roles`); without it, `question_frame`
returns None and the caller keeps its word-order rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from index.lexical import tokens

_NOUNS = ("NOUN", "PROPN")
_COLOUR = {"colour", "color", "colours", "colors"}
_COUNTERS = {"many", "much"}
_ASKING = {"number", "total", "count", "figure", "tally", "time", "moment", "way", "member", "members"}
# "How many members of the security forces": the members are counted as what they are members of.
_MEMBERS = {"member", "members"}


@dataclass(frozen=True)
class Frame:
    thing: str  # the counted or coloured noun as written ("gunmen", "car"); "" when none is found
    context: frozenset[str]  # index tokens of the question's other nouns and names
    nouns: frozenset[str]  # every noun and name of the question, lower-cased as written


def question_frame(question: str, parser: Any = None) -> Frame | None:
    """The frame of a count or colour question, or None without a parser. With the default
    parser the frame is kept per question: the answer path asks for it once per drafted claim."""
    if parser is None:
        return _default_frame(question)
    return _frame(parser(question))


@lru_cache(maxsize=256)
def _default_frame(question: str) -> Frame | None:
    from rag.roles import _parser

    parser = _parser()
    return None if parser is None else _frame(parser(question))


def _frame(doc: Any) -> Frame:
    thing = _counted(doc) or _coloured(doc)
    nouns = [t for t in doc if t.pos_ in _NOUNS]
    kept = [t.text for t in nouns if (thing is None or t.i != thing.i) and not _light_object(t)]
    kept = [w for w in kept if w.lower() not in _COLOUR | _ASKING]
    named = _named(thing) if thing is not None else ""
    return Frame(named, frozenset(tokens(" ".join(kept))) - frozenset(tokens(named)), frozenset(t.lower_ for t in nouns))


def _named(thing: Any) -> str:
    """The counted noun as written; what members are members of keeps its compound ("law enforcement")."""
    if thing.head.lower_ == "of" and thing.head.head.lower_ in _MEMBERS:
        return " ".join([*(c.text for c in thing.children if c.dep_ == "compound" and c.i < thing.i), thing.text])
    return thing.text


def _light_object(t: Any) -> bool:
    """A bare object that only completes its verb: "took part", "took place", "gave way"."""
    return t.dep_ == "dobj" and t.head.pos_ == "VERB" and t.pos_ == "NOUN" and not any(True for _ in t.children)


def _counted(doc: Any) -> Any:
    """The noun "many"/"much" modifies ("how many gunmen"), or what "number of" counts."""
    for t in doc:
        if t.lower_ in _COUNTERS and t.head.pos_ in _NOUNS and t.head.i != t.i:
            return _members_of(t.head)
        if (
            (t.lower_ in _COUNTERS or t.lower_ == "number")
            and _of(t, any_word=True) is not None
            and (part := _predicate_noun(t)) is not None
        ):
            return part  # "how many of the dead were foreigners": the foreigners among them are counted
        if t.lower_ == "number" and t.pos_ == "NOUN" and (obj := _of(t)) is not None:
            return _members_of(obj)
    return None


def _members_of(noun: Any) -> Any:
    """What members are members of ("members of the coast guard"); any other noun itself."""
    return (_of(noun) or noun) if noun.lower_ in _MEMBERS else noun


def _of(t: Any, any_word: bool = False) -> Any:
    """The noun of "<t> of <noun>", or None; `any_word`: whatever "<t> of …" takes a part of
    ("many of the dead", "many of those killed")."""
    for prep in t.children:
        if prep.dep_ == "prep" and prep.lower_ == "of":
            obj = next((c for c in prep.children if c.dep_ == "pobj" and (any_word or c.pos_ in _NOUNS)), None)
            if obj is not None:
                return obj
    return None


def _predicate_noun(t: Any) -> Any:
    """In "<t> of the X were Y", the noun Y that says which part of X is counted."""
    if t.dep_ not in ("nsubj", "nsubjpass", "attr") or t.head.lemma_ != "be":
        return None
    return next((c for c in t.head.children if c.dep_ == "attr" and c.i != t.i and c.pos_ in _NOUNS), None)


def _coloured(doc: Any) -> Any:
    """The noun a colour question colours: "the colour of X", "what colour was X", "X … what
    colour was it" (a pronoun stands for the question's first noun); possessors are skipped."""
    colour = next((t for t in doc if t.lower_ in _COLOUR), None)
    if colour is None:
        return None
    for prep in colour.children:
        if prep.dep_ == "prep" and prep.lower_ == "of":
            obj = next((c for c in prep.children if c.dep_ == "pobj"), None)
            if obj is not None and obj.pos_ in _NOUNS:
                return obj
    candidates = [t for t in doc if t.i != colour.i and t.dep_ != "poss" and t.lower_ not in _COLOUR]
    after = [t for t in candidates if t.i > colour.i and t.pos_ in _NOUNS + ("PRON",)]
    if after and after[0].pos_ in _NOUNS:
        return after[0]
    before = [t for t in candidates if t.i < colour.i and t.pos_ in _NOUNS]
    if after and after[0].pos_ == "PRON" and before:  # "the car the militants used … what colour was it?"
        return before[0]
    return before[-1] if before else None
