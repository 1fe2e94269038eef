"""The verifier on adversarial (claim, evidence) pairs: how often it is fooled.

Each pair of `evals/verifier_pairs.jsonl` goes through the same attribution step the answer
path uses (`rag.claims.attribute`: cite the best sentence, or a permitted pair), with the
verifier the product wires up. Reported: false "supported" (an unsupported claim passed: the
dangerous error, target 0) and false "unsupported" (a true claim refused), overall and by kind,
with 95% bootstrap intervals, and every miss.

    python -m evals.verifier_eval                    # the default heuristic verifier
    python -m evals.verifier_eval --out evals/reports/verifier.json
    python -m evals.verifier_eval --judge            # with the model judge the answer path uses (rag/judge.py)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

from rag.types import Sentence

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ROOT / "evals" / "verifier_pairs.jsonl"


def load_pairs(path: Path = PAIRS) -> list[dict]:
    rows = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if row.get("label") not in ("supported", "unsupported") or not row.get("evidence"):
                raise ValueError(f"{path}:{i}: needs a label (supported|unsupported) and evidence")
            rows.append(row)
    return rows


def evidence_of(row: dict) -> list[Sentence]:
    """The pair's evidence as corpus sentences (article id + position, so adjacency is known)."""
    out, offset = [], 0
    for e in row["evidence"]:
        text = e["text"]
        out.append(
            Sentence(
                id=f"{e['article']}#{e['index']}",
                article_id=e["article"],
                n=int(e["index"]),
                start=offset,
                end=offset + len(text),
                text=text,
            )
        )
        offset += len(text) + 1
    return out


def judge_pairs(rows: list[dict], verifier, judge=None, threshold: float = 0.8) -> list[dict]:
    """Each pair through the answer path's attribution step, then (with `judge`) its model check."""
    from rag.claims import attribute
    from rag.judge import confirmed

    results = []
    for row in rows:
        a = attribute(row["claim"], evidence_of(row), verifier)
        if judge is not None:
            a = confirmed([a], judge, threshold)[0]
        results.append(
            {
                "id": row["id"],
                "kind": row["kind"],
                "label": row["label"],
                "supported": a.support.supported,
                "cited": [s.id for s in a.sentences],
                "reason": a.support.reason,
                "claim": row["claim"],
            }
        )
    return results


def _rate(flags: list[bool], seed: int = 0) -> dict:
    if not flags:
        return {"n": 0, "value": None, "ci95": None}
    rng = random.Random(seed)
    boots = sorted(sum(rng.choices(flags, k=len(flags))) / len(flags) for _ in range(1000))
    return {"n": len(flags), "value": sum(flags) / len(flags), "ci95": [boots[25], boots[974]]}


def summarise(results: list[dict]) -> dict:
    unsupported = [r for r in results if r["label"] == "unsupported"]
    supported = [r for r in results if r["label"] == "supported"]
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_kind[r["kind"]].append(r)
    return {
        "false_supported": _rate([r["supported"] for r in unsupported]),
        "false_unsupported": _rate([not r["supported"] for r in supported]),
        "by_kind": {
            k: {"label": v[0]["label"], "n": len(v), "wrong": sum(r["supported"] != (r["label"] == "supported") for r in v)}
            for k, v in sorted(by_kind.items())
        },
        "misses": [r for r in results if r["supported"] != (r["label"] == "supported")],
    }


def _fmt(m: dict) -> str:
    if m["value"] is None:
        return "undefined (no pairs)"
    return f"{m['value']:.3f} [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}] (n={m['n']})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.verifier_eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pairs", type=Path, default=PAIRS)
    ap.add_argument("--out", type=Path, default=ROOT / "evals" / "reports" / "verifier.json")
    ap.add_argument("--judge", action="store_true", help="also the product's model judge (the default 1.5B reader, as `rag ask` wires it)")
    ap.add_argument("--embedder", default="minilm", help="minilm (the default), mpnet, or a local sentence-transformers folder")
    args = ap.parse_args(argv)
    from index.embedding import load_embedder
    from rag.config import load_config
    from rag.verify import HeuristicVerifier

    judge, threshold = None, 0.8
    if args.judge:
        from rag.judge import ModelJudge
        from rag.models import bundled_gguf, packaged_model

        cfg = load_config()
        judge, threshold = ModelJudge(bundled_gguf(cfg.models_dir, packaged_model(cfg.profile)), cfg.threads or None), cfg.judge_threshold
    results = judge_pairs(
        load_pairs(args.pairs), HeuristicVerifier(load_embedder(args.embedder, load_config().models_dir)), judge, threshold
    )
    summary = summarise(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    print(f"false supported:   {_fmt(summary['false_supported'])}")
    print(f"false unsupported: {_fmt(summary['false_unsupported'])}")
    for kind, k in summary["by_kind"].items():
        print(f"  {kind:20s} {k['label']:12s} wrong {k['wrong']}/{k['n']}")
    for r in summary["misses"]:
        print(
            f"  miss {r['id']} ({r['kind']}): judged {'supported' if r['supported'] else 'unsupported'}: {r['claim'][:90]}", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
