"""Assembling the final answer: numbered citations, verified claims, disagreements.

Hygiene by construction: a number is handed out only when a sentence is actually cited,
in order of first use, so there is no marker without a source, no source without a
marker, and no number out of range.
"""

from __future__ import annotations

from collections import OrderedDict

from rag.claims import Attribution
from rag.conflicts import Mention, Slot
from rag.numbers import find_numbers
from rag.types import Article, Citation, Claim, Conflict, Sentence, Version

ABSTAIN_TEXT = "The articles do not say."


class Numbering:
    """Hands out citation numbers to sentences in order of first use."""

    def __init__(self, articles: dict[str, Article]):
        self.articles = articles
        self.order: OrderedDict[str, tuple[Sentence, float]] = OrderedDict()

    def cite(self, sentence: Sentence, score: float) -> int:
        if sentence.id not in self.order:
            self.order[sentence.id] = (sentence, score)
        return list(self.order).index(sentence.id) + 1

    def citations(self) -> tuple[Citation, ...]:
        out = []
        for n, (s, score) in enumerate(self.order.values(), start=1):
            a = self.articles[s.article_id]
            out.append(
                Citation(
                    n=n,
                    source=s.article_id,
                    title=a.title,
                    start=s.start,
                    end=s.end,
                    quote=s.text,
                    score=round(float(score), 3),
                    supported=True,
                    date=a.date,
                )
            )
        return tuple(out)


def markers(ns: list[int] | tuple[int, ...]) -> str:
    return "".join(f"[{n}]" for n in ns)


def _version_note(mentions: list[Mention], articles: dict[str, Article]) -> str:
    notes = []
    if all(m.hedged for m in mentions):
        notes.append("early or unconfirmed report")
    dates = sorted({d for m in mentions if (d := articles[m.sentence.article_id].date)})
    if dates:
        notes.append("dated " + ", ".join(dates))
    else:
        notes.append("undated")
    return "; ".join(notes)


def _earliest(ms: list[Mention], articles: dict[str, Article]) -> str:
    """Sort key of a version: its earliest article date; undated versions last."""
    dates = [d for m in ms if (d := articles[m.sentence.article_id].date)]
    return min(dates) if dates else "9999"


def conflict_from(slot: Slot, mentions: list[Mention], numbering: Numbering) -> tuple[Conflict, str]:
    """The conflict record and its sentence for the answer text."""
    groups: OrderedDict[str, list[Mention]] = OrderedDict()
    for m in mentions:
        groups.setdefault(m.value, []).append(m)
    # A timeline: versions in the order of their articles' dates (a toll that "rose to" a new
    # figure reads in order); undated ones last, in the order found.
    ordered = sorted(groups.items(), key=lambda kv: _earliest(kv[1], numbering.articles))
    versions, parts = [], []
    for value, ms in ordered:
        ns = tuple(sorted({numbering.cite(m.sentence, 1.0) for m in ms}))
        shown = max((m.shown for m in ms), key=len)
        note = _version_note(ms, numbering.articles)
        sources = tuple(sorted({m.sentence.article_id for m in ms}))
        shown = f"“{shown}”" if slot.kind == "polarity" else shown
        versions.append(Version(value=value, citations=ns, sources=sources, note=note, shown=shown))
        parts.append(f"{shown}{' (' + note + ')' if note else ''} {markers(ns)}")
    text = f"Reports differ on {slot.topic}: " + "; ".join(parts) + "."
    return Conflict(topic=slot.topic, versions=tuple(versions)), text


def states_slot_value(claim: str, slot: Slot, mentions: list[Mention]) -> bool:
    if slot.kind in ("polarity", "spelling"):
        return False  # the model's claims stay; the conflict line adds the other reports
    if slot.kind == "count":
        values = {m.value for m in mentions}
        return any(n.label in values for n in find_numbers(claim))
    if slot.kind == "measure":  # its keys are normalised to a base unit; compare the figures as written
        shown = {n.label for m in mentions for n in find_numbers(m.shown)}
        return any(n.label in shown for n in find_numbers(claim))
    return any(m.value.lower() in claim.lower() for m in mentions)


def assemble(
    attributions: list[Attribution], slot: Slot | None, conflict_mentions: list[Mention], articles: dict[str, Article]
) -> tuple[str, tuple[Citation, ...], tuple[Claim, ...], tuple[Conflict, ...]]:
    """Answer text with [n] markers, its citations, its claims and its conflicts."""
    numbering = Numbering(articles)
    conflicts: tuple[Conflict, ...] = ()
    lines: list[str] = []
    if slot and conflict_mentions:
        conflict, text = conflict_from(slot, conflict_mentions, numbering)
        conflicts = (conflict,)
        lines.append(text)
    claims = []
    for att in attributions:
        if not att.support.supported:
            claims.append(Claim(att.claim, (), False, att.support.score))
            continue
        if conflicts and slot and states_slot_value(att.claim, slot, conflict_mentions):
            continue  # the conflict sentence already states every version with its sources
        ns = tuple(numbering.cite(s, att.support.score) for s in att.sentences)
        claims.append(Claim(att.claim, ns, True, att.support.score))
        lines.append(f"{att.claim.rstrip('.')}{' ' + markers(ns) if ns else ''}.")
    return " ".join(lines), numbering.citations(), tuple(claims), conflicts
