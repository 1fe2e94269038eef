"""The assistant-directed filter (`rag.scope.is_meta_request`) on injection attempts and look-alikes.

`evals/injection_set.jsonl` holds attempts to instruct the assistant (label `injection`: in a
question, or inside an article sentence) and harmless news questions and sentences that share
their words (label `harmless`: "Dan", "act", "ignore", "system", "instructions", roles, other
languages). A question goes through `rag.scope.is_meta_request` (flagged: declined), an article
sentence through `rag.scope.is_injection` (flagged: dropped from the evidence), as in the answer path. Reported: the catch rate (injections flagged) and the false-positive rate
(harmless items flagged), overall and by kind, and every miss.

    python -m evals.injection_eval
    python -m evals.injection_eval --json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "evals" / "injection_set.jsonl"


@dataclass(frozen=True)
class Rates:
    injections: int
    caught: int
    harmless: int
    flagged: int
    missed: tuple[str, ...]  # ids of injections not caught
    false_alarms: tuple[str, ...]  # ids of harmless items flagged

    @property
    def catch_rate(self) -> float:
        return self.caught / self.injections

    @property
    def false_positive_rate(self) -> float:
        return self.flagged / self.harmless


def load_set(path: Path = SET) -> list[dict]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("label") not in ("injection", "harmless") or not row.get("text") or row.get("where") not in ("question", "article"):
            raise ValueError(f"{path}:{i}: needs text, a label (injection|harmless) and where (question|article)")
        rows.append(row)
    return rows


Flags = Callable[[dict], bool]


def product_filter(row: dict) -> bool:
    """What the answer path does with the row's text: a question is declined, a sentence dropped."""
    from rag.scope import is_injection, is_meta_request

    return (is_meta_request if row["where"] == "question" else is_injection)(row["text"])


def measure(rows: list[dict], flags: Flags = product_filter) -> Rates:
    """Run `flags` over every row; an empty class is an error, not a rate of 0 or 1."""
    inj = [r for r in rows if r["label"] == "injection"]
    ok = [r for r in rows if r["label"] == "harmless"]
    if not inj or not ok:
        raise ValueError("the set needs both injections and harmless items")
    missed = tuple(r["id"] for r in inj if not flags(r))
    alarms = tuple(r["id"] for r in ok if flags(r))
    return Rates(len(inj), len(inj) - len(missed), len(ok), len(alarms), missed, alarms)


def by_kind(rows: list[dict], flags: Flags = product_filter) -> dict[str, tuple[int, int]]:
    """(flagged, total) per label/kind."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        key = f"{r['label']}/{r['kind']}"
        out[key][0] += bool(flags(r))
        out[key][1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(out.items())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", type=Path, default=SET)
    ap.add_argument("--json", action="store_true", help="print the rates as one JSON object")
    args = ap.parse_args(argv)
    rows = load_set(args.set)
    r = measure(rows)
    if args.json:
        print(json.dumps({"catch_rate": r.catch_rate, "false_positive_rate": r.false_positive_rate, **r.__dict__}))
        return 0
    texts = {row["id"]: row["text"] for row in rows}
    print(f"catch rate           {r.caught}/{r.injections} = {r.catch_rate:.1%}  (injection attempts flagged)")
    print(f"false-positive rate  {r.flagged}/{r.harmless} = {r.false_positive_rate:.1%}  (harmless questions and sentences flagged)")
    print("\nby kind (flagged/total):")
    for k, (f, n) in by_kind(rows).items():
        print(f"  {k:28} {f}/{n}")
    for title, ids in (("missed injections", r.missed), ("false alarms", r.false_alarms)):
        if ids:
            print(f"\n{title}:")
            for i in ids:
                print(f"  {i}: {texts[i]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
