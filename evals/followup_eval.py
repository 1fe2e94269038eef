"""Follow-ups, rewritten three ways, judged by what retrieval then finds.

Each conversation of `evals/followups.jsonl` (earlier questions, one follow-up, a corpus
folder, gold phrases found verbatim in the answering sentences) is turned into a search query
by each method: "none" (the follow-up as typed), "heuristic" (the previous question's subject
appended) and "model" (the reader rewrites it, `rag.followup`). The query goes through the
product's own retrieval over that corpus's index; a hit is a gold phrase in one of the first
six sentences (what the model reads with the default `prompt_sentences`).

    python -m evals.followup_eval                          # none and heuristic (no model)
    python -m evals.followup_eval --method model           # the configured reader (profile best)
    python -m evals.followup_eval --method model --profile fast --out data/followup-eval/fast.jsonl

Prints, per method: hit@6 over answerable items (and per kind), "found" (a hit that also
passes the relevance gate, so the question is not refused before the model reads), topic-switch errors (a
follow-up that names its own subject but whose query carries words of the earlier questions),
rewrites the guard rails rejected, and milliseconds per rewrite.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "evals" / "followups.jsonl"
K = 6
OWN_SUBJECT = ("new_subject", "standalone")  # kinds that must not inherit the old subject


def load_items(path: Path = SET) -> list[dict]:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not items:
        raise ValueError(f"no conversations in {path}")
    for it in items:
        if not it["history"] or not it["followup"].strip():
            raise ValueError(f"{it['id']}: a conversation needs earlier questions and a follow-up")
    return items


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def gold_hit(texts: list[str], gold: list[str]) -> bool:
    """Whether a gold phrase occurs in one of `texts` (case and spacing ignored).

    >>> gold_hit(["Two  guards were killed."], ["two guards"])
    True
    """
    return any(_norm(g) in _norm(t) for t in texts for g in gold)


def _words(text: str) -> set[str]:
    from rag.followup import _content, _stem

    return {_stem(w) for w in _content(text)}


def inherited(query: str, followup: str, history: list[str]) -> bool:
    """Whether `query` carries content words of the earlier questions that the follow-up lacks.

    >>> inherited("Who is the governor? (about: Karachi attack)", "Who is the governor?", ["How did the Karachi attack end?"])
    True
    """
    from_history = set().union(*(_words(h) for h in history)) - _words(followup)
    return bool(_words(query) & from_history)


def make_rewriter(method: str, generator=None):
    """A function (question, history) -> (query, how) for `method`."""
    from rag.followup import heuristic_question, leans, model_question

    def rewrite(question: str, history: list[str]) -> tuple[str, str]:
        if method == "none" or not leans(question, history):
            return question, "as typed"
        if method == "heuristic":
            return heuristic_question(question, history), "heuristic"
        return model_question(question, history, generator)

    return rewrite


def run(items: list[dict], method: str, stores: dict, embedder, cfg, generator=None) -> list[dict]:
    from rag.retrieve import retrieve
    from rag.scope import is_relevant

    rewrite = make_rewriter(method, generator)
    rows = []
    for it in items:
        t0 = time.perf_counter()
        query, how = rewrite(it["followup"], it["history"])
        ms = (time.perf_counter() - t0) * 1000
        r = retrieve(stores[it["corpus"]], embedder, query, cfg.top_k, cfg.per_article, mode=cfg.retrieval)
        texts = [h.sentence.text for h in r.hits[:K]]
        rows.append(
            {
                "id": it["id"],
                "kind": it["kind"],
                "method": method,
                "query": query,
                "how": how,
                "ms": round(ms, 1),
                "hit": gold_hit(texts, it["gold"]) if it["gold"] else None,
                "topic_switch_error": inherited(query, it["followup"], it["history"]) if it["kind"] in OWN_SUBJECT else None,
                "gate_passes": bool(r.hits) and is_relevant(r.max_similarity, r.lexical_overlap, cfg.min_similarity),
            }
        )
    return rows


def summary(rows: list[dict]) -> str:
    scored = [r for r in rows if r["hit"] is not None]
    own = [r for r in rows if r["topic_switch_error"] is not None]
    if not scored or not own:
        raise ValueError("undefined metric: no answerable or no own-subject items")
    rewritten = [r for r in rows if r["how"] != "as typed"]
    rejected = [r for r in rows if r["how"].startswith("heuristic:")]
    model_ms = [r["ms"] for r in rewritten] or [0.0]
    kinds = sorted({r["kind"] for r in scored})
    per_kind = "  ".join(f"{k}={sum(r['hit'] for r in scored if r['kind'] == k)}/{sum(r['kind'] == k for r in scored)}" for k in kinds)
    unans = [r for r in rows if r["hit"] is None]
    found = sum(r["hit"] and r["gate_passes"] for r in scored)
    return (
        f"{rows[0]['method']:9s} hit@{K}={sum(r['hit'] for r in scored)}/{len(scored)} ({sum(r['hit'] for r in scored) / len(scored):.2f})"
        f"  found (hit and past the relevance gate)={found}/{len(scored)}"
        f"  topic-switch errors={sum(r['topic_switch_error'] for r in own)}/{len(own)}"
        f"  rewritten={len(rewritten)}/{len(rows)}  guard-rejected={len(rejected)}"
        f"  ms/rewrite p50={statistics.median(model_ms):.0f} max={max(model_ms):.0f}"
        f"  gate passes: answerable {sum(r['gate_passes'] for r in scored)}/{len(scored)},"
        f" unanswerable {sum(r['gate_passes'] for r in unans)}/{len(unans)}\n          {per_kind}"
    )


def main(argv: list[str] | None = None) -> int:
    from rag.config import Config
    from rag.wiring import build_embedder, build_generator, build_index, load_store

    p = argparse.ArgumentParser(prog="python -m evals.followup_eval", description=__doc__.splitlines()[0])
    p.add_argument("--method", action="append", choices=("none", "heuristic", "model"), help="repeatable; default none + heuristic")
    p.add_argument("--profile", default="best", choices=("best", "fast"), help="the bundled reader used by --method model")
    p.add_argument("--data-dir", type=Path, default=ROOT / "data" / "followup-eval", help="where the indexes go")
    p.add_argument("--set", type=Path, default=SET, help="the conversations (JSONL)")
    p.add_argument("--out", type=Path, help="write every item's query and score here (JSONL)")
    p.add_argument("--summarise", type=Path, help="only print the summary of a file written by --out")
    args = p.parse_args(argv)
    if args.summarise:
        saved = [json.loads(line) for line in args.summarise.read_text(encoding="utf-8").splitlines() if line.strip()]
        for method in dict.fromkeys(r["method"] for r in saved):
            print(summary([r for r in saved if r["method"] == method]))
        return 0
    methods = args.method or ["none", "heuristic"]
    items = load_items(args.set)
    cfg = Config(profile=args.profile)
    embedder = build_embedder(cfg)
    stores = {}
    for name in sorted({it["corpus"] for it in items}):
        corpus = ROOT / name
        ecfg = dataclasses.replace(cfg, corpus=corpus, data_dir=args.data_dir / re.sub(r"\W", "_", name))
        build_index(ecfg, corpus, embedder=embedder)
        stores[name] = load_store(ecfg, embedder)
    generator = None
    if "model" in methods:
        from rag.wiring import build_rewriter

        generator = build_rewriter(cfg, build_generator(cfg))
    all_rows = []
    for method in methods:
        rows = run(items, method, stores, embedder, cfg, generator)
        all_rows += rows
        print(summary(rows), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in all_rows), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
