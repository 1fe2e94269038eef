"""The worst phrasing, not only the mean: one question asked three ways must hold every time.

`evals/cases_phrasings.jsonl` asks every fact and conflict case of `evals/cases.jsonl` in two
more phrasings (field `phrasing_of`). Given the report of the original cases and the report of
the phrasings (both from `rag eval`), this groups each case with its rephrasings and reports,
per metric, the mean over all phrasings and the mean of each group's WORST phrasing.

    rag eval --no-baselines --out evals/reports/orig
    rag eval --no-baselines --cases evals/cases_phrasings.jsonl --out evals/reports/phr
    python -m evals.phrasings evals/reports/orig/report-corpus.json evals/reports/phr/report-corpus.json
"""

from __future__ import annotations

import json
import random
import sys
from collections import defaultdict
from pathlib import Path

from evals.cases import load_cases, read_corpus_texts

METRICS = ("key_fact_recall", "conflict_surfaced")


def _value(scores: dict, metric: str) -> float | None:
    v = scores.get(metric)
    if v is None:
        return None
    if isinstance(v, list):  # [hits, n] pairs
        return v[0] / v[1] if v[1] else None
    return float(v)


def groups(original: dict, rephrased: dict, phrasing_of: dict[str, str]) -> dict[str, list[dict]]:
    """Original case id -> its items (the original and its rephrasings) from the 'ours' system."""
    out: dict[str, list[dict]] = defaultdict(list)
    for it in original["systems"]["ours"]["items"]:
        out[it["case_id"]].append(it)
    for it in rephrased["systems"]["ours"]["items"]:
        parent = phrasing_of.get(it["case_id"])
        if parent in out:
            out[parent].append(it)
    return {k: v for k, v in out.items() if len(v) > 1}


def _ci(values: list[float]) -> list[float]:
    rng = random.Random(0)
    boots = sorted(sum(rng.choices(values, k=len(values))) / len(values) for _ in range(1000))
    return [round(boots[25], 3), round(boots[974], 3)]


def worst_case_table(by_group: dict[str, list[dict]]) -> dict[str, dict]:
    table: dict[str, dict] = {}
    for metric in METRICS:
        means, worsts = [], []
        for items in by_group.values():
            vals = [v for it in items if (v := _value(it["scores"], metric)) is not None]
            if vals:
                means.extend(vals)
                worsts.append(min(vals))
        if not worsts:
            table[metric] = {"n_groups": 0, "mean": None, "worst": None}
            continue
        table[metric] = {
            "n_groups": len(worsts),
            "mean": round(sum(means) / len(means), 3),
            "mean_ci95": _ci(means),
            "worst": round(sum(worsts) / len(worsts), 3),
            "worst_ci95": _ci(worsts),
        }
    return table


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    original, rephrased = (json.loads(Path(p).read_text()) for p in argv)
    cases = load_cases(Path(rephrased["cases_file"]), read_corpus_texts(Path(rephrased["corpus"])))
    phrasing_of = {c.id: str(c.extra.get("phrasing_of", "")) for c in cases}
    table = worst_case_table(groups(original, rephrased, phrasing_of))
    for metric, row in table.items():
        if row["worst"] is None:
            print(f"{metric}: undefined (no groups)")
        else:
            print(
                f"{metric}: mean {row['mean']:.3f} {row['mean_ci95']}, worst phrasing {row['worst']:.3f} {row['worst_ci95']} ({row['n_groups']} questions × 3 phrasings)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
