"""Whole-answer latency at scale: the same questions answered over two stores, interleaved.

`make bench`'s `million` part asks whether answering stays as fast over the ~1M-sentence archive
as over the bundled corpus. Each question is answered over the small store, then over the big
one, before the next question (so a busy neighbour on the shared cores slows both alike); one
warm-up question first over each (it fills the reader's prefix cache and the page cache). The
reader, embedder and verifier are the same objects for both: only the store differs.

    engines = {"bundled": small, "big": dataclasses.replace(small, store=big_store)}
    report = interleaved_latency(engines, questions, warmup)
    report["ratio"]["total_p50"]  # big over bundled
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from evals.metrics import percentile

log = logging.getLogger(__name__)


def _timed(question: str, engine: Any, answer_fn: Callable[..., Any]) -> tuple[float | None, float, Any]:
    """(seconds to the first token or None, seconds in all, the answer)."""
    first: list[float] = []
    t0 = time.perf_counter()

    def on_token(_piece: str) -> None:
        if not first:
            first.append(time.perf_counter() - t0)

    a = answer_fn(question, engine, on_token=on_token)
    return (first[0] if first else None), time.perf_counter() - t0, a


def _summary(ttft: list[float], total: list[float]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(total), "n_ttft": len(ttft)}
    if ttft:
        out.update(ttft_p50_s=round(percentile(ttft, 50), 3), ttft_p95_s=round(percentile(ttft, 95), 3))
    if total:
        out.update(total_p50_s=round(percentile(total, 50), 3), total_p95_s=round(percentile(total, 95), 3))
    return out


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float | None]:
    """b over a for each percentile both have (None where a is zero or either is missing)."""
    out: dict[str, float | None] = {}
    for key in ("ttft_p50", "ttft_p95", "total_p50", "total_p95"):
        x, y = a.get(f"{key}_s"), b.get(f"{key}_s")
        out[key] = round(y / x, 3) if x and y is not None else None
    return out


def interleaved_latency(
    engines: Mapping[str, Any],
    questions: Sequence[tuple[str, str]],
    warmup: str,
    answer_fn: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Answer `questions` ((id, text) pairs) over every engine in turn, question by question.

    Returns per-engine first-token and total p50/p95, the last engine's over the first's
    (`ratio`), and per question each engine's times and the ids of the sentences it retrieved
    (so a reader of the report can see both stores were really asked)."""
    if answer_fn is None:
        from rag.answer import answer as answer_fn
    names = list(engines)
    for name in names:  # warm-up, untimed in the summary
        _timed(warmup, engines[name], answer_fn)
    ttft: dict[str, list[float]] = {n: [] for n in names}
    total: dict[str, list[float]] = {n: [] for n in names}
    rows: list[dict[str, Any]] = []
    for cid, q in questions:
        row: dict[str, Any] = {"id": cid}
        for name in names:
            first, elapsed, a = _timed(q, engines[name], answer_fn)
            total[name].append(elapsed)
            if first is not None:
                ttft[name].append(first)
            row[name] = {
                "ttft_s": None if first is None else round(first, 3),
                "total_s": round(elapsed, 3),
                "abstained": a.abstained,
                "retrieved": [h.sentence.id for h in a.retrieved[:5]],
            }
        log.info("latency: %s %s", cid, {n: row[n]["total_s"] for n in names})
        rows.append(row)
    out: dict[str, Any] = {"n_questions": len(questions), "stores": names}
    out.update({name: _summary(ttft[name], total[name]) for name in names})
    for name in names:  # answers that abstained (short): the stores' answers need not be alike
        out[name]["abstained"] = sum(row[name]["abstained"] for row in rows)
    if len(names) >= 2:
        out["ratio"] = _ratio(out[names[0]], out[names[-1]])
    out["per_question"] = rows
    return out


def markdown(a: dict[str, Any] | None) -> list[str]:
    """The table of `interleaved_latency`'s report as `evals/bench_million.py` writes it (none without a ratio)."""
    if not a or "ratio" not in a:
        return []
    sizes, ratio = a.get("sentences", {}), a["ratio"]
    rows = [
        f"| {name} ({sizes.get(name, 0):,} sentences) | {a[name].get('ttft_p50_s')} / {a[name].get('ttft_p95_s')} "
        f"| {a[name].get('total_p50_s')} / {a[name].get('total_p95_s')} | {a[name].get('abstained')} |"
        for name in a.get("stores", [])
    ]
    return [
        "",
        f"Whole answers ({a.get('reader')}, {a.get('n_questions')} questions, interleaved, one warm-up each; "
        f"load average {a.get('load_average', {}).get('before')}):",
        "",
        "| store | first token p50 / p95 s | total p50 / p95 s | abstained |",
        "|---|---|---|---|",
        *rows,
        f"| big / bundled | {ratio.get('ttft_p50')} / {ratio.get('ttft_p95')} | {ratio.get('total_p50')} / {ratio.get('total_p95')} | |",
    ]
