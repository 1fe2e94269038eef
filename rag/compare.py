"""Disagreements found by comparing what each article says, anchored on the answer itself.

The question's wording is a poor guide to what is disputed ("how many gunmen" when the
articles say "terrorists"). The answer's own verified claim is a better one: it states a
value (a number, a colour, a clock time) in the articles' words ("three militants stormed
the building"). Every other article is then read for a value of the same kind in the same
frame: a sentence close to the claim, with the value's neighbouring words close to the
claim's (the embedder judges "three militants stormed" and "six terrorists stormed" alike).
Different values from different articles are different versions: no list of topics, no
wording rules for the question.

Frames must be about the same thing: "34 died in Jajarkot" and "35 died in Rukum West" are
two counts, not two versions of one, so when the claim's clause names a place or a person, a
version's clause must name it too; and when the claim or the question says what happened to
the people counted (killed, injured, missing, arrested, rescued), a version must say the same.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.conflicts import _HEDGE, _WORD, ANOTHER_TIME, Mention, Slot, _heads, _outcomes_of, another_time
from rag.numbers import Number, find_numbers
from rag.types import Sentence
from rag.verify import COLOURS, names_in

_COLOUR = re.compile(r"\b(" + "|".join(COLOURS) + r")\b", re.IGNORECASE)
_CLOCK_ANY = re.compile(r"\b(\d{1,2}(?:[:.]\d\d)?\s*(?:am|pm|a\.m\.|p\.m\.)|(?:[01]?\d|2[0-3]):[0-5]\d)(?![\w:])", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[,;:()—–]|\b(?:while|whereas|but|and|which|who|according)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Value:
    kind: str  # count | colour | time
    key: str  # normalised, for comparison
    shown: str
    start: int
    end: int


def values_in(text: str) -> list[Value]:
    """Counts (not years, ordinals or parts of ages), colours and clock times, in text order."""
    out: list[Value] = []
    for n in find_numbers(text):
        if n.ordinal or (n.lo == n.hi and 1900 <= n.lo <= 2100) or _is_attribute(text, n):
            continue
        out.append(Value("count", n.label, n.text, n.start, n.end))
    for m in _COLOUR.finditer(text):
        out.append(Value("colour", m.group(1).lower().replace("gray", "grey"), m.group(1), m.start(), m.end()))
    for m in _CLOCK_ANY.finditer(text):
        key = re.sub(r"[\s.]", "", m.group(1).lower()).replace(":00", "")
        out.append(Value("time", key, m.group(1), m.start(), m.end()))
    # A clock time's digits are not also a count.
    times = [(v.start, v.end) for v in out if v.kind == "time"]
    out = [v for v in out if v.kind != "count" or not any(a <= v.start < b for a, b in times)]
    return sorted(out, key=lambda v: v.start)


def _is_attribute(text: str, n: Number) -> bool:
    """'35-year-old', '4-hour' numbers describe, they do not count; 'including two policemen'
    and 'two of the militants' count a part of a group, not the group."""
    after = text[n.end : n.end + 12].lower()
    if re.search(r"\bincluding\s+$", text[max(0, n.start - 12) : n.start], re.IGNORECASE) or re.match(r"\s+of\s+(the|them|those)\b", after):
        return True
    return bool(
        re.match(r"-?\s?(year|hour|minute|day|week|month|storey|story|floor|km|kilomet|metre|meter|mile|percent|%|per cent)", after)
    )


def _window(text: str, v: Value) -> str:
    """The clause around a value, the value masked: "the death toll rose to _"."""
    starts = [m.end() for m in _CLAUSE_END.finditer(text, 0, v.start)]
    start = starts[-1] if starts else 0
    m = _CLAUSE_END.search(text, v.end)
    end = m.start() if m else len(text)
    return (text[start : v.start] + "_" + text[v.end : end]).strip()


def _names(window: str) -> set[str]:
    return {n.lower() for n in names_in(window)}


@dataclass
class _Vectors:
    embedder: object
    cache: dict[str, np.ndarray]

    def of(self, texts: Sequence[str]) -> list[np.ndarray]:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            for t, v in zip(todo, self.embedder.embed(todo), strict=True):  # type: ignore[attr-defined]
                self.cache[t] = np.asarray(v)
        return [self.cache[t] for t in texts]


def versions(
    claims: Sequence[tuple[str, Sequence[Sentence]]],
    pool: Sequence[Sentence],
    embedder,
    question: str = "",
    frame_min: float = 0.45,
    window_min: float = 0.6,
) -> tuple[Slot | None, list[Mention]]:
    """For the first verified claim that states a value: every article's own value in that frame.
    `claims` are (claim text, its cited sentences). Returns (slot, mentions) when at least two
    articles give different values, else (None, [])."""
    vec = _Vectors(embedder, {})
    for claim, cited in claims:
        for target in values_in(claim):
            mentions = _mentions_like(claim, target, cited, pool, vec, frame_min, window_min, question)
            keys: OrderedDict[str, set[str]] = OrderedDict()
            for m in mentions:
                keys.setdefault(m.value, set()).add(m.sentence.article_id)
            if len(keys) >= 2 and len({a for arts in keys.values() for a in arts}) >= 2:
                return Slot(target.kind, "", "", _topic(claim, target)), mentions
    return None, []


def _mentions_like(
    claim: str,
    target: Value,
    cited: Sequence[Sentence],
    pool: Sequence[Sentence],
    vec: _Vectors,
    frame_min: float,
    window_min: float,
    question: str,
) -> list[Mention]:
    asked = _outcomes_of(question)
    frame = claim[: target.start] + "_" + claim[target.end :]
    window = _window(claim, target)
    thing = _coloured(claim, target) if target.kind == "colour" else ""
    names = _names(window)
    outcomes = _outcomes_of(window) | (asked if target.kind == "count" else set())
    dated = bool(ANOTHER_TIME.search(question)) or bool(ANOTHER_TIME.search(claim))
    candidates = [
        (s, v)
        for s in pool
        for vs in [values_in(s.text)]
        for v in vs
        if v.kind == target.kind and (dated or not another_time(s.text, v.start, v.end, [(x.start, x.end) for x in vs if x is not v]))
    ]  # "a bombing that claimed 84 lives last month" is another event's figure
    if not candidates:
        return []
    sentences = list(dict.fromkeys(s.text for s, _ in candidates))
    frame_v, window_v = vec.of([frame, window])
    s_sim = dict(zip(sentences, (float(x @ frame_v) for x in vec.of(sentences)), strict=True))
    best: dict[str, tuple[float, Mention]] = {}  # one value per article: its closest
    cited_ids = {s.id for s in cited}
    for s, v in candidates:
        if s.id not in cited_ids and s_sim[s.text] < (COLOUR_FRAME_MIN if thing else frame_min):
            continue
        w = _window(s.text, v)
        other = _names(w)
        if names and not names & other and not thing:
            continue  # the claim counts something it names; a version must be about it too
        if outcomes and not outcomes & _outcomes_of(w):
            continue  # the injured are not a version of the dead
        if thing:  # a colour is the colour of the thing named right after it: a car and a vehicle alike
            other_thing = _coloured(s.text, v)
            # on the window's scale (COLOURED_MIN maps to window_min), so the claim's own value (1.0) still ranks first
            sim = float(np.dot(*vec.of([thing, other_thing]))) + window_min - COLOURED_MIN if other_thing else 0.0
        else:
            sim = float(vec.of([w])[0] @ window_v)
        if s.id in cited_ids and v.key == target.key:
            sim = max(sim, 1.0)  # the claim's own value, from its own sentence
        if sim < window_min:
            continue
        m = Mention(v.key, _shown(s.text, v), s, bool(_HEDGE.search(s.text)))
        if s.article_id not in best or sim > best[s.article_id][0]:
            best[s.article_id] = (sim, m)
    return [m for _, m in sorted(best.values(), key=lambda x: -x[0])]


# A colour's sentence need only be about the same scene: the thing coloured is checked itself
# ("the terrorists reached the KPO … in a white Toyota Corolla car" 0.39 against "the gunmen drove a _ car").
COLOUR_FRAME_MIN = 0.3
COLOURED_MIN = 0.75  # MiniLM, head nouns: car/vehicle 0.87, vehicle/truck 0.77; car/truck 0.69, car/motorcycle 0.58


def _coloured(text: str, v: Value) -> str:
    """The head noun right after a colour ("a silver Indus Corolla car" → "car"), or ""."""
    head = _heads(_WORD.findall(text[v.end :]), "")
    return head[0].lower() if head else ""


def _shown(text: str, v: Value) -> str:
    """The value as the article writes it, with a qualifier just before it ("at least six")."""
    before = text[: v.start]
    q = re.search(r"(at least|up to|over|more than|around|about|nearly|almost|some|approximately)\s+$", before, re.IGNORECASE)
    return (q.group(1) + " " if q else "") + v.shown


def _topic(claim: str, v: Value) -> str:
    after = [w.strip(".,;:") for w in claim[v.end :].split()[:3]]
    noun = next((w for w in after if w.isalpha() and w.lower() not in {"of", "the", "a", "an", "and", "were", "was", "people's"}), "")
    if v.kind == "count":
        return f"the number of {noun}" if noun else "the figure"
    if v.kind == "colour":
        thing = _coloured(claim, v)
        return f"the colour of the {thing}" if thing else "the colour"
    return "the time"
