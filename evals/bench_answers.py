"""Answer latency on the bundled corpus: ours, the physical floor, and the llama-index peer.

The floor is what the model alone needs for the same prompt on this machine: prompt tokens
/ measured prefill rate (time to first token) + answer tokens / measured generation rate
(total). Two floors are shown: with the full prompt (an empty cache) and with only the part
after the fixed instructions and examples (what a reused prefix cache leaves to compute).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evals.metrics import percentile

log = logging.getLogger(__name__)

EVALS = Path(__file__).resolve().parent
KINDS = ("single_fact", "conflict", "multi_article", "partial")


def chatml(messages: list[dict[str, str]], open_reply: bool = True) -> str:
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + ("<|im_start|>assistant\n" if open_reply else "")


class Recorder:
    """Passes generation through and keeps the last prompt (to count its tokens)."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.name = inner.name
        self.last: list[dict[str, str]] = []

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 160) -> Iterator[str]:
        self.last = messages
        yield from self.inner.stream(messages, max_tokens)


def pick_questions(n: int, texts: dict[str, str]) -> list[tuple[str, str]]:
    """(id, question) of answerable single-turn cases, taking the kinds in turn so all are represented."""
    from evals.cases import load_cases

    cases = [c for c in load_cases(EVALS / "cases.jsonl", texts) if c.answerable and not c.history]
    queues = {k: [c for c in cases if c.type == k] for k in KINDS}
    out: list[tuple[str, str]] = []
    while len(out) < n and any(queues.values()):
        for k in KINDS:
            if queues[k] and len(out) < n:
                c = queues[k].pop(0)
                out.append((c.id, c.question))
    return out


def model_rates(llm: Any, sample: str, repeats: int = 3) -> tuple[float, float]:
    """(prefill tokens/s on a 512-token prompt, generation tokens/s), the best of `repeats` runs.

    The best, not the median: a floor is what the hardware can do, and on a shared machine
    the slower runs measure the neighbours.
    """
    tokens = llm.tokenize(sample.encode("utf-8"), add_bos=False)[:512]
    prefill, gen = [], []
    for _ in range(repeats):
        llm.reset()
        t = time.perf_counter()
        llm.eval(tokens)
        prefill.append(len(tokens) / (time.perf_counter() - t))
        llm.reset()
        prompt = "<|im_start|>user\nWrite a long story about a river and a town.<|im_end|>\n<|im_start|>assistant\n"
        stamps = []
        for _ in llm.create_completion(prompt, max_tokens=96, temperature=0.0, top_k=1, stream=True):
            stamps.append(time.perf_counter())
        if len(stamps) > 2:
            gen.append((len(stamps) - 1) / (stamps[-1] - stamps[0]))
    llm.reset()
    return max(prefill), max(gen)


def _summary(ttft: list[float], total: list[float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ttft:
        out.update(ttft_p50_s=round(percentile(ttft, 50), 3), ttft_p95_s=round(percentile(ttft, 95), 3), n_ttft=len(ttft))
    if total:
        out.update(total_p50_s=round(percentile(total, 50), 3), total_p95_s=round(percentile(total, 95), 3), n=len(total))
    return out


def bench_answers(cfg: Any, n_questions: int = 12, peer: bool = True) -> dict[str, Any]:
    from evals.cases import read_corpus_texts
    from rag.answer import answer
    from rag.wiring import build_engine, build_generator

    texts = read_corpus_texts(cfg.corpus)
    questions = pick_questions(n_questions + 1, texts)
    warmup, questions = questions[-1], questions[:-1]
    rec = Recorder(build_generator(cfg))
    engine = build_engine(cfg, generator=rec)
    llm = getattr(rec.inner, "llm", None)
    count = getattr(rec.inner, "count_tokens", None)
    result: dict[str, Any] = {"n_questions": len(questions), "questions": [q for _, q in questions]}
    sample = next(iter(texts.values()))
    prefill = gen = None
    if llm is not None:
        prefill, gen = model_rates(llm, sample)
    peer_proc = _start_peer(cfg) if peer and cfg.backend != "openai" else None
    answer(warmup[1], engine)  # fills the prefix cache, as any earlier question in a session would
    peer_raw: list[dict[str, Any]] = []
    if peer_proc is not None:
        peer_proc.ask("warmup", warmup[1])

    ttft: list[float] = []
    total: list[float] = []
    floor_full: list[float] = []
    floor_cached: list[float] = []
    floor_total: list[float] = []
    rows: list[dict[str, Any]] = []
    for cid, q in questions:
        first: list[float] = []
        t0 = time.perf_counter()

        def on_token(_piece: str, t0: float = t0, first: list[float] = first) -> None:
            if not first:
                first.append(time.perf_counter() - t0)

        a = answer(q, engine, on_token=on_token)
        elapsed = time.perf_counter() - t0
        total.append(elapsed)
        row: dict[str, Any] = {"id": cid, "total_s": round(elapsed, 3), "ttft_s": round(first[0], 3) if first else None}
        if first:
            ttft.append(first[0])
        if first and count:
            row.update(
                prompt_tokens=count(chatml(rec.last)),
                prefix_tokens=count(chatml(rec.last[:-1], open_reply=False)),
                answer_tokens=count(a.draft) if a.draft else 0,
            )
        rows.append(row)
        if peer_proc is not None:  # interleaved, so a busy neighbour slows both alike
            peer_raw.append(peer_proc.ask(cid, q))
    peer_summary = peer_proc.close() if peer_proc is not None else None
    if llm is not None and prefill and gen:  # measured again after the runs; the best of both stands
        p2, g2 = model_rates(llm, sample)
        prefill, gen = max(prefill, p2), max(gen, g2)
        result.update(prefill_tok_s=round(prefill, 1), generation_tok_s=round(gen, 1))
        floor_full.clear()
        floor_cached.clear()
        floor_total.clear()
        for row in rows:
            if "prompt_tokens" in row:
                floor_full.append(row["prompt_tokens"] / prefill)
                floor_cached.append((row["prompt_tokens"] - row["prefix_tokens"]) / prefill)
                floor_total.append(row["prompt_tokens"] / prefill + row["answer_tokens"] / gen)
    result["ours"] = _summary(ttft, total)
    result["per_question"] = rows
    if floor_full:
        result["floor"] = {
            "ttft_full_p50_s": round(percentile(floor_full, 50), 3),
            "ttft_full_p95_s": round(percentile(floor_full, 95), 3),
            "ttft_cached_p50_s": round(percentile(floor_cached, 50), 3),
            "total_p50_s": round(percentile(floor_total, 50), 3),
            "total_p95_s": round(percentile(floor_total, 95), 3),
        }
    if peer_summary is not None:
        result.update(_peer_summary(peer_raw, peer_summary, prefill, gen))
    return result


def _start_peer(cfg: Any) -> Any:
    from evals.peer import PeerProcess, PeerSettings
    from evals.run import _peer_embedder, _peer_model

    settings = PeerSettings(
        str(Path(cfg.corpus).resolve()), _peer_model(cfg) or "", _peer_embedder(cfg), cfg.max_answer_tokens, cfg.n_ctx, cfg.threads
    )
    return PeerProcess(settings)


def _peer_summary(raw_outputs: list[dict[str, Any]], summary: dict[str, Any], prefill: float | None, gen: float | None) -> dict[str, Any]:
    raw = {"outputs": raw_outputs, **summary}
    outs = [o for o in raw["outputs"] if not o["error"]]
    out: dict[str, Any] = {
        "peer": _summary([o["ttft_s"] for o in outs if o["ttft_s"] is not None], [o["total_s"] for o in outs]),
        "peer_peak_rss_mb": round(raw["peak_rss_mb"], 1),
    }
    if prefill and gen:
        ft = [o["prompt_tokens"] / prefill for o in outs]
        tot = [o["prompt_tokens"] / prefill + o["gen_tokens"] / gen for o in outs]
        out["peer_floor"] = {
            "ttft_full_p50_s": round(percentile(ft, 50), 3),
            "ttft_full_p95_s": round(percentile(ft, 95), 3),
            "total_p50_s": round(percentile(tot, 50), 3),
            "total_p95_s": round(percentile(tot, 95), 3),
        }
        out["peer_prompt_tokens_p50"] = percentile([o["prompt_tokens"] for o in outs], 50)
    return out
