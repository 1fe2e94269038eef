"""The answer path: question → retrieval → prompt → model → verified citations.

The model only drafts; the system decides what is cited, verified, refused and contested.
Everything after the draft is deterministic and tested without a model.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from index.embedding import Embedder
from index.lexical import tokens
from index.store import Store
from rag.citations import ABSTAIN_TEXT, assemble, states_slot_value
from rag.claims import Attribution, attribute, extractive_answer, quoted, says_unknown, split_claims
from rag.compare import versions
from rag.config import Config
from rag.conflicts import _outcomes_of, find_conflicts, question_slot
from rag.followup import standalone_question
from rag.generate import Generator
from rag.judge import Judge, confirmed
from rag.partial import not_covered_sentence, question_parts, unanswered_parts
from rag.prompt import answer_messages
from rag.retrieve import answer_type, has_type, retrieve
from rag.scope import clean_question, is_injection, is_meta_request, is_relevant
from rag.spellings import spelling_versions
from rag.types import Answer, Sentence
from rag.verify import AnswersQuestion, Support, Verifier, names_in


@dataclass
class Engine:
    """The wired-up dependencies of one answerer (built by `rag.wiring`)."""

    store: Store
    embedder: Embedder
    generator: Generator
    verifier: Verifier
    config: Config
    judge: Judge | None = None  # the model as yes/no judge of claims (rag/judge.py); None: heuristics only
    rewriter: Generator | None = None  # rewrites follow-ups when `followup` = "model" (rag/followup.py); None: heuristic


def answer(
    question: str,
    engine: Engine,
    history: Sequence[str] = (),
    on_token: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Answer:
    """Answer one question. `history` holds earlier user questions (for follow-ups); `on_token`
    receives the draft as it streams; `should_stop()` returning True ends generation early."""
    cfg, store, t0 = engine.config, engine.store, time.perf_counter()
    ms = lambda: (time.perf_counter() - t0) * 1000  # noqa: E731
    q = clean_question(question, cfg.max_question_chars)
    standalone = standalone_question(q, history, engine.rewriter, cfg.followup)
    base: dict[str, Any] = dict(question=q, standalone_question=standalone, model=engine.generator.name)
    if is_meta_request(q):
        return Answer(
            answer=ABSTAIN_TEXT + " This assistant only answers questions about the articles.",
            abstained=True,
            citations=(),
            timings_ms={"retrieve": 0.0, "first_token": 0.0, "total": ms()},
            **base,
        )
    r = retrieve(store, engine.embedder, standalone, cfg.top_k, cfg.per_article, mode=cfg.retrieval)
    timings = {"retrieve": ms()}
    if not r.hits or not is_relevant(r.max_similarity, r.lexical_overlap, cfg.min_similarity):
        return Answer(
            answer=ABSTAIN_TEXT,
            abstained=True,
            citations=(),
            retrieved=r.hits,
            timings_ms={**timings, "first_token": 0.0, "total": ms()},
            **base,
        )
    # Values of what the question asks (a count, a colour, a time) are looked for in the wider pool,
    # and the sentences that state them join the evidence, so every version reaches the model and the answer.
    slot, mentions, disagree = find_conflicts(
        standalone,
        [h.sentence for h in r.pool],
        engine.embedder,
        share=store.bm25.share if cfg.retrieval == "hybrid" else None,
        article_text=article_text(store),
    )
    ranked = [h.sentence for h in r.hits]
    hits = by_article_first(ranked) if cfg.evidence_order == "articles" else ranked
    evidence = evidence_sentences(store, pick_evidence(hits, [m.sentence for m in mentions], cfg.top_k))
    draft = ""
    shown = evidence[: cfg.prompt_sentences]  # the model reads the best few; claims are checked against all
    for piece in engine.generator.stream(answer_messages(standalone, [s.text for s in shown]), cfg.max_answer_tokens):
        timings.setdefault("first_token", ms())
        draft += piece
        if on_token:
            on_token(piece)
        if should_stop and should_stop():
            break
    timings.setdefault("first_token", ms())
    timings["generate"] = ms()
    candidates = evidence_sentences(store, evidence, radius=1)
    drafted = [c for c in split_claims(draft) if not says_unknown(c)]  # "X is Y. The excerpts do not say Z." keeps X is Y
    in_article = {s.text: store.articles[s.article_id].text for s in candidates if s.article_id in store.articles}
    verifier = AnswersQuestion(engine.verifier, standalone, article_text=lambda texts: " ".join({in_article.get(t, "") for t in texts}))
    attributions = [attribute(c, candidates, verifier) for c in drafted if responsive(c, standalone)]
    if engine.judge is not None and cfg.judge:  # not the claims a disagreement line will state instead
        replaced = lambda a: disagree and slot and states_slot_value(a.claim, slot, mentions)  # noqa: E731
        attributions = [a if replaced(a) else confirmed([a], engine.judge, cfg.judge_threshold)[0] for a in attributions]
        timings["judge"] = ms()
    if drafted:
        attributions = with_extracted_answer(with_quotes(attributions, standalone, evidence), standalone, evidence)
    if not disagree and cfg.compare_articles:  # each article's value in the frame of the answer's own claim
        verified = [(a.claim, a.sentences) for a in attributions if a.support.supported]
        found, versions_found = versions(verified, [h.sentence for h in r.pool], engine.embedder, standalone)
        if found is not None:
            slot, mentions, disagree = found, versions_found, True
    if not disagree and asks_name(standalone):  # a name the articles spell differently
        verified = [(a.claim, a.sentences) for a in attributions if a.support.supported]
        found, versions_found = spelling_versions(verified, [h.sentence for h in r.pool], {k: a.text for k, a in store.articles.items()})
        if found is not None:
            slot, mentions, disagree = found, versions_found, True
    text, citations, claims, conflicts = assemble(attributions, slot, mentions if disagree else [], store.articles)
    abstained = not citations
    missing = unanswered_parts(q, [c.text for c in claims if c.supported] + [text] * bool(conflicts))
    if missing and not abstained:
        text += " " + not_covered_sentence(missing)
    timings["total"] = ms()
    return Answer(
        answer=ABSTAIN_TEXT if abstained else text,
        abstained=abstained,
        citations=citations,
        claims=claims,
        conflicts=conflicts,
        retrieved=r.hits,
        timings_ms=timings,
        draft=draft,
        **base,
    )


_ASKS_NAME = re.compile(
    r"\b(?:the|his|her|their|its)\s+names?\b|\bwho\s+(?:is|was|were)\s+the\b|\bwhat\s+(?:is|was)\s+\w+\s+called\b", re.I
)


# "What did President Ona Vey say about…": the answer is what that speaker said.
_SAID_Q = re.compile(r"\bwhat\s+(?:did|does|has|have|had)\s+(?P<who>[^?]+?)\s+(?:say|tell|announce|claim|state|write|post|reveal)\b", re.I)
# "What was the car's registration number?", "what is his phone number": an identifier is asked.
_ASKS_IDENTIFIER = re.compile(
    r"\bwhat(?:'s|\s+(?:is|was|were|are))\s+(?:the|his|her|their|its)\s+(?:(?:[\w'’-]+\s+){1,3}number\b|number\b(?!\s+of\b))", re.I
)


# "How much was he paid", "what did the rifles cost": an amount of money, never a figure without its currency.
_ASKS_MONEY = re.compile(
    r"\bhow much\b(?:\s+[\w'’-]+){0,5}?\s+(?:pay|paid|cost|costs|spend|spent|worth|charge|charged|earn|earned|earns|fined|owe|owed)\b"
    r"|\bhow much money\b|\b(?:what|how much) (?:was|is|were|are) the (?:cost|price|fine|ransom|reward|salary|wage|fee|bail|compensation)\b",
    re.I,
)
_MONEY = re.compile(
    r"[$£€¥₹]|\b(?:rupees?|rs\.?|dollars?|euros?|pounds?|yuan|lira|naira|rand|pesos?|dinars?|riyals?|dirhams?|taka|francs?|won|yen|"
    r"rubles?|roubles?|hryvnia|shillings?|usd|eur|gbp|pkr|inr|cents?|pence)\b",
    re.I,
)
# "No group has claimed it", "the hospital was not named": that none is known answers too.
_NONE_YET = re.compile(r"\b(?:no|not|none|nobody|unknown|unclear|unidentified|unnamed|yet to)\b|n[’']t\b", re.I)
# "Which shipyard built it", "what insurance company covered the mill": a named thing of that kind.
_ASKS_NAMED_KIND = re.compile(
    r"\b(?:which|what)\s+(?:[\w'’-]+\s+)?(?:company|firm|shipyard|hospital|agency|organi[sz]ation|group|party|airline|bank|newspaper|"
    r"ministry|court|university|station|airport|port|militia|network|channel|outlet|insurer|manufacturer|brand)\b",
    re.I,
)


def asks_name(question: str) -> bool:
    """Whether a question asks for a person, a place or a name ("who…", "where…", "what is the name of…")."""
    return answer_type(question) in ("person", "place") or bool(_ASKS_NAME.search(question))


def responsive(claim: str, question: str) -> bool:
    """A "when", "how long" or "how old" question needs a time, duration or age in its answer; a
    question for a name needs a name the question does not already give; a count of people to
    whom something happened ("how many were wounded") is not answered by a count of another
    outcome ("two guards were killed"), nor is any question about the dead answered by a claim
    about the injured only ("who was the officer killed" / "the injured were identified as…"),
    and "what did the president say" is not answered by what someone else said; "how much was he
    paid" needs a sum of money, "which shipyard built it" a name the question does not give.
    A claim that fails is true perhaps, but not an answer."""
    parts = question_parts(question)
    if not any(answer_type(p) not in ("time", "duration", "age") or has_type(claim, answer_type(p)) for p in parts):
        return False
    if all(_ASKS_NAME.search(p) for p in parts) and not set(names_in(claim)) - set(names_in(question)):
        return False
    # A rule for what one part asks holds only when every part asks it ("who is the chief, and
    # what is his phone number": a claim naming the chief answers the first part).
    said = [_SAID_Q.search(p) for p in parts]
    if all(said) and not any(set(tokens(m.group("who"))) & set(tokens(claim)) for m in said if m):
        return False  # "what did the president say": what an army spokesman said is another answer
    if all(_ASKS_IDENTIFIER.search(p) and answer_type(p) != "count" for p in parts) and not re.search(r"\d", claim):
        return False  # "what was the car's registration number": an identifier, never a sentence without one
    if all(_ASKS_MONEY.search(p) for p in parts) and not _MONEY.search(claim):
        return False  # "how much was the sweeper paid": "up to 30 officers were present" is a figure, not a sum
    if (
        all(_ASKS_NAMED_KIND.search(p) for p in parts)
        and not set(names_in(claim)) - set(names_in(question))
        and not _NONE_YET.search(claim)
    ):
        return False  # "which shipyard built the ferry": a sentence naming no shipyard (no name at all) is no answer
    slot = question_slot(question)
    asked = _outcomes_of(slot.verb) if slot and slot.kind == "count" else _outcomes_of(question)
    told = _outcomes_of(claim)
    return not (asked and told and not asked & told)


def with_quotes(attributions: list[Attribution], question: str, evidence: list[Sentence]) -> list[Attribution]:
    """A claim the verifier rejects is replaced by the evidence sentence that states what it
    adds (`rag.claims.quoted`), unless an answer sentence already cites that sentence or the
    sentence does not answer the question ("who was killed" is not answered by "the injured were…")."""
    cited = {s.id for a in attributions if a.support.supported for s in a.sentences}
    out = []
    for a in attributions:
        # half of what it adds: measured against two thirds, more answered, no unanswerable question more (README)
        s = None if a.support.supported else quoted(a.claim, question, evidence, min_cover=0.5)
        if s is not None and s.id not in cited and responsive(s.text, question):  # the quote must answer too
            cited.add(s.id)
            a = Attribution(
                s.text, (s,), Support(True, 1.0, "quoted: the article's own sentence, for a draft claim not verified as worded")
            )
        out.append(a)
    return out


def with_extracted_answer(attributions: list[Attribution], question: str, evidence: list[Sentence]) -> list[Attribution]:
    """When a where/when/how-long question's verified claims hold no place or time at all,
    the evidence sentence that answers it best leads the answer (it is its own citation)."""
    kind = answer_type(question)
    if kind not in ("place", "time", "duration") or any(a.support.supported and has_type(a.claim, kind) for a in attributions):
        return attributions
    best = extractive_answer(question, evidence, lambda t: has_type(t, kind))
    return attributions if best is None else [Attribution(best.text, (best,), Support(True, 1.0, "extracted")), *attributions]


def article_text(store: Store) -> Callable[[Sentence], str]:
    """The text of a sentence's article ("" when the store no longer holds it)."""
    return lambda s: store.articles[s.article_id].text if s.article_id in store.articles else ""


def by_article_first(hits: list[Sentence]) -> list[Sentence]:
    """Each article's best hit first (in rank order), then the rest in rank order: the few
    excerpts the model reads hold every article's own account, so a version told by only one
    article reaches the answer whatever words the question used."""
    firsts: dict[str, Sentence] = {}
    for s in hits:
        firsts.setdefault(s.article_id, s)
    return list(dict.fromkeys([*firsts.values(), *hits]))


def pick_evidence(hits: list[Sentence], slot_sentences: list[Sentence], limit: int) -> list[Sentence]:
    """The best half of the hits, then sentences stating the asked-for values, then the rest."""
    head = hits[: max(limit // 2, 1)]
    out = list(dict.fromkeys(head + slot_sentences[: limit - len(head)] + hits))
    return out[:limit]


def evidence_sentences(store: Store, sentences: list[Sentence], radius: int = 0) -> list[Sentence]:
    """The hits in rank order; a hit that opens with a pronoun brings its previous sentence
    (so "He added that…" keeps its speaker); `radius` > 0 adds neighbours on both sides.
    Sentences that read as instructions to an assistant are dropped."""
    out: dict[str, Sentence] = {}
    for s in sentences:
        around = store.neighbours(s, radius) if radius else store.neighbours(s, 1)
        if radius == 0:
            first = s.text.split(" ", 1)[0].strip("“\"'").lower()
            around = [
                x for x in around if x.n == s.n or (x.n == s.n - 1 and first in {"he", "she", "they", "it", "this", "these", "those"})
            ]
        for x in around:
            out.setdefault(x.id, x)
    # An article sentence that gives orders to an assistant is an injection attempt: it is never
    # shown to the model as evidence nor cited as support (the article's other sentences still are).
    return [s for s in out.values() if not is_injection(s.text)]
