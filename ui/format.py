"""What the chat shows, as HTML strings: answers with linked [n] markers, the verification
badge, "Reports differ" boxes, abstentions, errors, and the sources panel with one
highlighted article view per citation.

Pure functions of `Turn`/`Answer`/`Article`, tested without a server. Every piece of text
from the user, the model or the articles is HTML-escaped here. Messages are single-line
HTML (no blank lines) so the chat's Markdown renderer passes them through untouched.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from rag.types import Answer, Article, Citation
from ui.chat import Session, Turn
from ui.highlight import Mark, highlight

_MARKER = re.compile(r"\[(\d+)\]")


def esc(text: str) -> str:
    """HTML-escaped text with line breaks kept.

    >>> esc("a < b\\nc")
    'a &lt; b<br>c'
    """
    return html.escape(text, quote=True).replace("\r\n", "\n").replace("\n", "<br>")


def cite_key(turn_id: int, n: int) -> str:
    """The id that ties a marker, a source entry and an article view together."""
    return f"{turn_id}-{n}"


def link_markers(text: str, turn_id: int, numbers: Iterable[int]) -> str:
    """Escaped `text` whose `[n]` markers (for known citation numbers) select that citation.

    >>> link_markers("Six died [2].", 0, [2])
    'Six died <a href="#cite-0-2" class="rag-ref" data-cite="0-2" aria-label="citation 2">[2]</a>.'
    """
    valid, out, pos = set(numbers), [], 0
    for m in _MARKER.finditer(text):
        out.append(esc(text[pos : m.start()]))
        digits = m.group(1)
        n = int(digits) if len(digits) <= 9 else None  # a longer run is no citation number (and int() caps at 4300 digits)
        if n is not None and n in valid:
            key = cite_key(turn_id, n)
            out.append(f'<a href="#cite-{key}" class="rag-ref" data-cite="{key}" aria-label="citation {n}">[{n}]</a>')
        else:
            out.append(esc(m.group(0)))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def badge_html(answer: Answer) -> str:
    """ "N/M claims verified", green when all are, amber otherwise; empty without claims."""
    if not answer.claims_total:
        return ""
    ok = answer.claims_verified == answer.claims_total
    cls, mark = ("ok", "✓") if ok else ("partial", "⚠")
    return f'<span class="rag-badge {cls}">{mark} {answer.claims_verified}/{answer.claims_total} claims verified</span>'


def unverified_html(answer: Answer) -> str:
    """The claims of the draft that the articles did not support (left out of the answer)."""
    bad = [c for c in answer.claims if not c.supported]
    if not bad:
        return ""
    items = "".join(f"<li>{esc(c.text)}</li>" for c in bad)
    label = "claim" if len(bad) == 1 else "claims"
    return (
        f'<details class="rag-unverified"><summary>{len(bad)} unverified {label} left out of the answer</summary><ul>{items}</ul></details>'
    )


def conflicts_html(answer: Answer, turn_id: int, linked: bool = True) -> str:
    """A "Reports differ" box per conflict: each version with its citations and source files."""
    out = []
    numbers = [c.n for c in answer.citations]
    for conflict in answer.conflicts:
        items = []
        for v in conflict.versions:
            refs = "".join(f"[{n}]" for n in v.citations)
            refs = link_markers(refs, turn_id, numbers) if linked else esc(refs)
            note = f' <span class="rag-note">({esc(v.note)})</span>' if v.note else ""
            sources = ", ".join(v.sources)
            items.append(f'<li><strong>{esc(v.shown or v.value)}</strong>{note} {refs} <span class="rag-files">{esc(sources)}</span></li>')
        out.append(
            f'<div class="rag-conflict" role="note"><div class="rag-conflict-title">Reports differ on {esc(conflict.topic)}</div>'
            f"<ul>{''.join(items)}</ul></div>"
        )
    return "".join(out)


def searching_html(answer: Answer) -> str:
    """ "Searching for: …" when a follow-up was rewritten into a standalone question."""
    q, s = " ".join(answer.question.split()), " ".join((answer.standalone_question or "").split())
    if not s or s == q:
        return ""
    return f'<div class="rag-searching">Searching for: <q>{esc(s)}</q></div>'


def assistant_html(turn: Turn, linked: bool = True) -> str:
    """The assistant's message for a turn in any state (pending, drafting, done, failed).

    `linked` makes the [n] markers select citations; only the turn shown in the sources
    panel is linked.
    """
    if turn.error:
        return f'<div class="rag-error" role="alert"><strong>⚠ Could not answer.</strong> {esc(turn.error)}</div>'
    a = turn.answer
    if a is None:
        if not turn.started:
            return '<div class="rag-pending">Waiting for the model…</div>'
        if not turn.draft:
            return '<div class="rag-pending">Searching the articles…</div>'
        return (
            f'<div class="rag-draft"><div class="rag-draft-label">Draft: checked against the articles when complete</div>'
            f"{esc(turn.draft.strip())}</div>"
        )
    stopped = '<div class="rag-stopped">Stopped: only the part written before Stop was checked.</div>' if turn.stopped else ""
    if a.abstained:
        return (
            f'{searching_html(a)}<div class="rag-abstain" role="status"><strong>No answer in the articles.</strong> '
            f"{esc(a.answer)}</div>{stopped}"
        )
    text = link_markers(a.answer, turn.id, [c.n for c in a.citations]) if linked else esc(a.answer)
    return (
        f'{searching_html(a)}<div class="rag-answer">{text}</div>{conflicts_html(a, turn.id, linked)}'
        f'<div class="rag-meta-line">{badge_html(a)}</div>{unverified_html(a)}{stopped}'
    )


def chat_messages(session: Session) -> list[dict[str, str]]:
    """The Chatbot value: role/content dicts, one user and one assistant message per turn."""
    shown = session.turns[-1] if session.turns else None
    out = []
    for t in session.turns:
        out.append({"role": "user", "content": esc(t.question)})
        out.append({"role": "assistant", "content": assistant_html(t, linked=t is shown)})
    return out


NOT_VERIFIED = ' <span class="rag-note">(not verified)</span>'
SOURCES_EMPTY = (
    '<div class="rag-sources rag-empty"><h3>Sources</h3><p>The sources of an answer appear here. '
    "Select a citation to read it highlighted in its article.</p></div>"
)


def article_view_html(citation: Citation, article: Article | None, turn_id: int, others: Iterable[Citation] = ()) -> str:
    """The full article with the cited span marked `cite-active` (and the answer's other
    citations in the same article marked lightly), hidden until the citation is selected."""
    key = cite_key(turn_id, citation.n)
    head = (
        f'<div class="rag-view-head"><strong>[{citation.n}] in {esc(citation.source)}</strong>'
        f'{" · " + esc(citation.date) if citation.date else ""} <span class="rag-meta">full text, quote highlighted</span></div>'
    )
    if article is None:
        body = '<p class="rag-missing">This article is no longer in the index.</p>'
    else:
        marks = [Mark(citation.start, citation.end, "rag-hl cite-active", (("data-n", str(citation.n)), ("id", f"rag-hl-{key}")))]
        marks += [
            Mark(o.start, o.end, "rag-hl cite-other", (("data-n", str(o.n)),))
            for o in others
            if o.n != citation.n and not (o.start < citation.end and citation.start < o.end)
        ]
        try:
            text = highlight(article.text, marks)
        except ValueError:
            text = esc(article.text)
            head += '<p class="rag-missing">The cited span does not fit this version of the article.</p>'
        body = f'<div class="rag-article-text" tabindex="0">{text}</div>'
    return f'<section class="rag-view" data-view="{key}" hidden>{head}{body}</section>'


def _source_groups(citations: Iterable[Citation]) -> dict[str, list[Citation]]:
    groups: dict[str, list[Citation]] = {}
    for c in citations:
        groups.setdefault(c.source, []).append(c)
    return groups


def sources_html(turn: Turn | None, articles: Mapping[str, Article]) -> str:
    """The sources panel for a turn: only the cited sources (title, file, date) with each
    citation's quote, plus the hidden article views that selecting a citation reveals."""
    if turn is None or turn.error:
        return SOURCES_EMPTY
    a = turn.answer
    if a is None:
        return '<div class="rag-sources rag-empty"><h3>Sources</h3><p>Waiting for the answer…</p></div>'
    if a.abstained or not a.citations:
        return '<div class="rag-sources rag-none"><h3>Sources</h3><p>No sources: the articles do not answer this question.</p></div>'
    groups = _source_groups(a.citations)
    items = []
    for source, cites in groups.items():
        first = cites[0]
        date = esc(first.date) if first.date else "date unknown"
        quotes = "".join(
            f'<li><button type="button" class="rag-cite" data-cite="{cite_key(turn.id, c.n)}" aria-pressed="false" '
            f'aria-label="Show citation {c.n} in its article">[{c.n}]</button> <q class="rag-quote">{esc(c.quote)}</q>'
            f"{'' if c.supported else NOT_VERIFIED}</li>"
            for c in cites
        )
        items.append(
            f'<li class="rag-source"><div class="rag-source-head"><strong>{esc(first.title or source)}</strong>'
            f'<span class="rag-meta">{esc(source)} · {date}</span></div><ul class="rag-quotes">{quotes}</ul></li>'
        )
    views = "".join(article_view_html(c, articles.get(c.source), turn.id, groups[c.source]) for c in a.citations)
    return (
        f'<div class="rag-sources" data-turn="{turn.id}"><h3>Sources {badge_html(a)}</h3><ul class="rag-source-list">{"".join(items)}</ul>'
        f'<div class="rag-viewer" aria-live="polite"><p class="rag-viewer-hint">Select a citation number to read it in its article.</p>'
        f"{views}</div></div>"
    )


def article_rows(articles: Iterable[Article]) -> list[list[Any]]:
    """Rows for the corpus table: file, title, date, words."""
    return [[a.id, a.title, a.date or "", len(a.text.split())] for a in sorted(articles, key=lambda a: a.id)]
