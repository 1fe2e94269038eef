"""Retrieval alone, on every case set: is a gold sentence among what the model reads?

Most wrong answers on unseen phrasings start here: the sentence that answers was never
retrieved. This runs no model, only the embedder and the hybrid retriever, so one pass over
every case set takes a minute or two and an embedder or fusion change can be judged before
the slow end-to-end eval.

    python -m evals.retrieval_eval                       # the configured (bundled) embedder
    python -m evals.retrieval_eval --embedder mpnet      # or any local sentence-transformers folder

Prints gold-sentence hit@k (k = 1, 3, 5, 6, 8) per case set and their macro mean; hit@6 is
what the model reads with the default `prompt_sentences`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from evals import metrics as M
from evals.cases import load_cases, read_corpus_texts

ROOT = Path(__file__).resolve().parent.parent
KS = (1, 3, 5, 6, 8)


def case_sets(root: Path = ROOT) -> list[tuple[Path, Path]]:
    """(corpus folder, cases file) for the bundled eval, its phrasings and every evals/corpus_NAME."""
    sets = [(root / "corpus", root / "evals" / "cases.jsonl"), (root / "corpus", root / "evals" / "cases_phrasings.jsonl")]
    for corpus in sorted((root / "evals").glob("corpus_*")):
        cases = root / "evals" / f"cases_{corpus.name.removeprefix('corpus_')}.jsonl"
        if cases.exists():
            sets.append((corpus, cases))
    return sets


def hits_at(store, embedder, cases, top_k: int, per_article: int) -> dict[int, float]:
    """Share of cases with a gold sentence among the first k retrieved, for each k in KS."""
    from rag.retrieve import retrieve

    counts = dict.fromkeys(KS, 0.0)
    for c in cases:
        r = retrieve(store, embedder, c.question, top_k, per_article)
        gains = M.span_gains([(h.sentence.article_id, h.sentence.start, h.sentence.end) for h in r.hits], c.gold_spans)
        rel = [g > 0 for g in gains]
        for k in KS:
            counts[k] += M.hit_at_k(rel, k)
    return {k: v / len(cases) for k, v in counts.items()}


def main(argv: list[str] | None = None) -> int:
    from rag.config import Config
    from rag.wiring import build_embedder, build_index, load_store

    p = argparse.ArgumentParser(prog="python -m evals.retrieval_eval", description=__doc__.splitlines()[0])
    p.add_argument("--embedder", default="minilm", help="minilm (the default), mpnet, or a local sentence-transformers folder")
    p.add_argument("--data-dir", type=Path, default=ROOT / "data" / "retrieval-eval", help="where the indexes go")
    args = p.parse_args(argv)
    cfg = Config(embedder=args.embedder)
    embedder = build_embedder(cfg)
    results: dict[str, dict[int, float]] = {}
    for corpus, cases_path in case_sets():
        cases = [c for c in load_cases(cases_path, read_corpus_texts(corpus)) if c.gold_spans]
        ecfg = dataclasses.replace(cfg, corpus=corpus, data_dir=args.data_dir / corpus.name)
        build_index(ecfg, corpus, embedder=embedder, rebuild=True)
        store = load_store(ecfg, embedder)
        res = hits_at(store, embedder, cases, cfg.top_k, cfg.per_article)
        results[cases_path.stem] = res
        print(f"{cases_path.stem:18s} n={len(cases):3d}  " + "  ".join(f"@{k}={res[k]:.2f}" for k in KS), flush=True)
    macro = {k: sum(r[k] for r in results.values()) / len(results) for k in KS}
    print(f"{'macro mean':18s} {'':5s}  " + "  ".join(f"@{k}={macro[k]:.2f}" for k in KS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
