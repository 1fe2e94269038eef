"""The out-of-corpus gate (`min_similarity`, rag/scope.py) measured on every case file.

`python -m evals.calibration` retrieves for every case of every eval corpus (no model: the
gate runs before the model) and reports, for several thresholds, the share of answerable
questions the gate would refuse and the share of unanswerable ones it stops. The rest of the
unanswerable ones are left to the model ("I don't know") and to the verifier.

Follow-up turns are asked as their final question alone, so they read lower than in the
answer path (which adds the earlier question's subject first).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

EVALS = Path(__file__).resolve().parent
SETS = [
    ("corpus", "cases.jsonl"),
    ("corpus", "cases_phrasings.jsonl"),
    ("evals/corpus_quake", "cases_quake.jsonl"),
    ("evals/corpus_strike", "cases_strike.jsonl"),
    ("evals/corpus_crash", "cases_crash.jsonl"),
    ("evals/corpus_millfire", "cases_millfire.jsonl"),
]
THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45)


def measure(cfg) -> list[dict]:
    from rag.retrieve import retrieve
    from rag.wiring import build_embedder, build_index, load_store

    emb = build_embedder(cfg)
    rows = []
    for folder, cases in SETS:
        corpus = EVALS.parent / folder
        ecfg = dataclasses.replace(cfg, corpus=corpus, data_dir=Path(cfg.data_dir) / f"eval-{corpus.name}")
        build_index(ecfg, corpus, embedder=emb)
        store = load_store(ecfg, emb)
        for line in (EVALS / cases).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            c = json.loads(line)
            q = c.get("question") or c["turns"][-1]
            r = retrieve(store, emb, q, cfg.top_k, cfg.per_article, mode=cfg.retrieval)
            rows.append(dict(set=cases, id=c["id"], answerable=c["answerable"], sim=r.max_similarity, lex=r.lexical_overlap))
    return rows


def table(rows: list[dict], current: float) -> str:
    from rag.scope import is_relevant

    ans = [r for r in rows if r["answerable"]]
    un = [r for r in rows if not r["answerable"]]
    out = [
        f"| min_similarity | answerable refused by the gate (n={len(ans)}) | unanswerable stopped by it (n={len(un)}) |",
        "|---|---|---|",
    ]
    for t in sorted({*THRESHOLDS, current}):
        refused = sum(not is_relevant(r["sim"], r["lex"], t) for r in ans)
        stopped = sum(not is_relevant(r["sim"], r["lex"], t) for r in un)
        mark = " (current)" if t == current else ""
        out.append(f"| {t}{mark} | {refused / len(ans):.3f} ({refused}) | {stopped / len(un):.3f} ({stopped}) |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    from rag.config import load_config

    ap = argparse.ArgumentParser(prog="python -m evals.calibration", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=EVALS / "reports" / "calibration.md")
    args = ap.parse_args(argv)
    cfg = load_config()
    text = table(measure(cfg), cfg.min_similarity)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
