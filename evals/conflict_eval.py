"""Disagreement finding alone, on every case set: retrieval + `rag.conflicts.find_conflicts`, no model.

The answer's disagreement line is built from what `find_conflicts` returns (the model's draft
can add versions of its own; this does not count those). So a change to how versions are found
can be judged on every corpus and every phrasing in a few minutes, before the slow end-to-end
eval, and on the same footing for all of them:

    python -m evals.conflict_eval            # every case set (evals/retrieval_eval.case_sets)

Per case set: conflict cases whose answer would show at least two of the expected competing
values (the end-to-end "conflict surfacing" rule), and answerable non-conflict cases that would
get a disagreement line anyway (false conflicts). Follow-ups are left out (they need their history).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

from evals import metrics as M
from evals.cases import Case, load_cases, read_corpus_texts
from evals.retrieval_eval import ROOT, case_sets


@dataclass(frozen=True)
class Tally:
    surfaced: int
    conflicts: int
    false: int
    others: int
    misses: tuple[str, ...]  # questions of conflict cases not surfaced, and of false conflicts ("FALSE: …")


def tally(store, embedder, cases: list[Case], top_k: int, per_article: int) -> Tally:
    from rag.answer import article_text
    from rag.conflicts import find_conflicts
    from rag.retrieve import retrieve

    surfaced = conflicts = false = others = 0
    misses: list[str] = []
    for c in cases:
        if c.history:
            continue
        r = retrieve(store, embedder, c.question, top_k, per_article)
        _, mentions, disagree = find_conflicts(
            c.question, [h.sentence for h in r.pool], embedder, share=store.bm25.share, article_text=article_text(store)
        )
        shown = " ; ".join(f"{m.shown} ({m.value})" for m in mentions) if disagree else ""
        if c.expect_conflict and len(c.conflict_values) >= 2:
            conflicts += 1
            ok = M.conflict_surfaced(shown, c.conflict_values)
            surfaced += ok
            if not ok:
                misses.append(c.question)
        elif c.answerable and not c.expect_conflict:
            others += 1
            false += disagree
            if disagree:
                misses.append(f"FALSE: {c.question} -> {shown[:160]}")
    return Tally(surfaced, conflicts, false, others, tuple(misses))


def main(argv: list[str] | None = None) -> int:
    from rag.config import Config
    from rag.wiring import build_embedder, build_index, load_store

    p = argparse.ArgumentParser(prog="python -m evals.conflict_eval", description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=ROOT / "data" / "retrieval-eval", help="where the indexes go")
    p.add_argument("--embedder", default="minilm", help="minilm (the default), mpnet, or a local sentence-transformers folder")
    p.add_argument("-v", "--verbose", action="store_true", help="list the questions missed and the false conflicts")
    args = p.parse_args(argv)
    cfg = Config(embedder=args.embedder)
    embedder = build_embedder(cfg)
    total = Tally(0, 0, 0, 0, ())
    for corpus, cases_path in case_sets():
        cases = load_cases(cases_path, read_corpus_texts(corpus))
        ecfg = dataclasses.replace(cfg, corpus=corpus, data_dir=args.data_dir / corpus.name)
        build_index(ecfg, corpus, embedder=embedder)
        t = tally(load_store(ecfg, embedder), embedder, cases, cfg.top_k, cfg.per_article)
        print(f"{cases_path.stem:18s} surfaced {t.surfaced:3d}/{t.conflicts:<3d} false conflicts {t.false:3d}/{t.others}", flush=True)
        if args.verbose:
            print("".join(f"    {m}\n" for m in t.misses), end="")
        total = Tally(total.surfaced + t.surfaced, total.conflicts + t.conflicts, total.false + t.false, total.others + t.others, ())
    print(f"{'all':18s} surfaced {total.surfaced:3d}/{total.conflicts:<3d} false conflicts {total.false:3d}/{total.others}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
