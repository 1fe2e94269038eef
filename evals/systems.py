"""Running the systems under test and turning what they return into one plain record.

`Output` is the same for our pipeline, its dense-only variant and the llama-index peer, so
every metric is computed by the same code for all of them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from evals.cases import Case

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cited:
    """A citation as the user sees it: the number in the text and the passage behind it."""

    n: int
    source: str
    start: int | None  # None when the system gives no offsets (the peer)
    end: int | None
    quote: str


@dataclass(frozen=True)
class Unit:
    """One retrieved unit (a sentence for us, a chunk for the peer), in rank order."""

    source: str
    start: int | None
    end: int | None


@dataclass
class Output:
    case_id: str
    answer: str
    abstained: bool
    citations: list[Cited]
    retrieved: list[Unit]
    conflict_values: list[str] = field(default_factory=list)  # structured versions, when the system has them
    claims_verified: int | None = None
    claims_total: int | None = None
    ttft_s: float | None = None  # None when nothing was generated
    total_s: float = 0.0
    gen_tokens: int | None = None
    decode_s: float | None = None
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CachingGenerator:
    """Wraps a generator and replays the reply to a prompt it has already seen.

    The dense-only baseline uses it: when its retrieval yields the same evidence as the
    main run, the prompt is identical and greedy decoding would give the same draft, so
    there is no need to pay for it twice. (Its speed is therefore not reported.)
    """

    def __init__(self, inner: Any, cache: dict[str, list[str]] | None = None, replay: bool = True):
        self.inner = inner
        self.name = inner.name
        self.cache: dict[str, list[str]] = {} if cache is None else cache
        self.replay = replay  # False: only record (the system whose speed is measured never replays)
        self.hits = 0

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 160) -> Iterator[str]:
        key = json.dumps([messages, max_tokens], sort_keys=True)
        if self.replay and key in self.cache:
            self.hits += 1
            yield from self.cache[key]
            return
        pieces = []
        for p in self.inner.stream(messages, max_tokens):
            pieces.append(p)
            yield p
        self.cache[key] = pieces  # only reached when the reply was consumed to the end

    def count_tokens(self, text: str) -> int | None:
        f = getattr(self.inner, "count_tokens", None)
        return f(text) if f else None


def progress(iterable, label: str):
    from tqdm import tqdm

    return tqdm(iterable, desc=label, unit="case", file=sys.stderr, leave=False, disable=None)


def answer_case(engine: Any, case: Case) -> Output:
    """One case through `rag.answer.answer` (earlier turns as history), timed from the call."""
    from rag.answer import answer
    from rag.errors import RagError

    count = getattr(engine.generator, "count_tokens", None)
    first: list[float] = []
    t0 = time.perf_counter()

    def on_token(piece: str) -> None:
        if not first:
            first.append(time.perf_counter() - t0)

    try:
        a = answer(case.question, engine, history=case.history, on_token=on_token)
    except RagError as e:
        return Output(case.id, "", True, [], [], total_s=time.perf_counter() - t0, error=str(e))
    total = time.perf_counter() - t0
    tm = a.timings_ms
    tokens = (count(a.draft) if count else None) if a.draft else None
    decode = (tm["generate"] - tm["first_token"]) / 1000 if a.draft and "generate" in tm else None
    return Output(
        case_id=case.id,
        answer=a.answer,
        abstained=a.abstained,
        citations=[Cited(c.n, c.source, c.start, c.end, c.quote) for c in a.citations],
        retrieved=[Unit(h.sentence.article_id, h.sentence.start, h.sentence.end) for h in a.retrieved],
        conflict_values=[v.value for c in a.conflicts for v in c.versions],
        claims_verified=a.claims_verified,
        claims_total=a.claims_total,
        ttft_s=first[0] if first else None,
        total_s=total,
        gen_tokens=tokens,
        decode_s=decode,
        extra={
            "standalone_question": a.standalone_question,
            "draft": a.draft,
            "conflicts": [c.to_dict() for c in a.conflicts],
            "timings_ms": {k: round(v, 1) for k, v in tm.items()},
        },
    )


def run_ours(engine: Any, cases: list[Case], label: str = "ours") -> list[Output]:
    """Each case through `answer_case` with the engine's models (loaded once)."""
    return [answer_case(engine, c) for c in progress(cases, label)]


def peer_outputs(raw: dict[str, Any], texts: dict[str, str], supports, loose: bool = False) -> list[Output]:
    """The peer's raw results as `Output`s. Its citations are chunks: numbered "Source n" texts.

    The chunks carry no offsets, so each is located in its file (verbatim search) for the
    retrieval metrics; its claims are checked against all the chunks it was given. `loose`
    (the tuned peer, whose sentence windows are joined by single spaces) also finds a chunk
    whose words are in the file with other whitespace, and cites the file's own text there.
    """
    from evals.metrics import answer_claims, looks_abstained

    outs = []
    for r in raw["outputs"]:
        passages = {s["n"]: _strip_label(s["text"]) for s in r["sources"]}
        by_n = {s["n"]: s for s in r["sources"]}
        units = []
        for s in r["sources"]:
            body, text = passages[s["n"]], texts.get(s["source"], "")
            span = locate(body, text, loose)
            if span is not None and loose:
                passages[s["n"]] = text[span[0] : span[1]]
            units.append(Unit(s["source"], *(span or (None, None))))
        claims = answer_claims(r["answer"])
        numbers = sorted({n for _, ns in claims for n in ns})
        cited = []
        for n in numbers:
            u = units[n - 1] if n in by_n else None
            cited.append(
                Cited(n, by_n[n]["source"] if n in by_n else "", u.start if u else None, u.end if u else None, passages.get(n, ""))
            )
        verified = sum(1 for c, _ in claims if supports(c, list(passages.values()))) if passages else 0
        outs.append(
            Output(
                case_id=r["case_id"],
                answer=r["answer"],
                abstained=looks_abstained(r["answer"]),
                citations=cited,
                retrieved=units,
                claims_verified=verified,
                claims_total=len(claims),
                ttft_s=r["ttft_s"],
                total_s=r["total_s"],
                gen_tokens=r["gen_tokens"],
                decode_s=r["decode_s"],
                error=r["error"],
                extra={"query": r["query"]},
            )
        )
    return outs


def locate(body: str, text: str, loose: bool = False) -> tuple[int, int] | None:
    """Where `body` is in `text`: verbatim, or (`loose`) with any whitespace between its words.

    >>> locate("a b", "x a  b", loose=True)
    (2, 6)
    """
    if not body:
        return None
    i = text.find(body)
    if i >= 0:
        return i, i + len(body)
    words = body.split()
    if not loose or not words:
        return None
    m = re.search(r"\s+".join(map(re.escape, words)), text)
    return (m.start(), m.end()) if m else None


def _strip_label(text: str) -> str:
    """ "Source 3:\\n<chunk>\\n" → "<chunk>" (the label and trailing newline are the engine's, not the file's)."""
    body = text.split("\n", 1)[1] if text.startswith("Source ") and "\n" in text else text
    return body[:-1] if body.endswith("\n") else body
