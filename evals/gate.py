"""The CI gate: fail when a headline metric falls below the committed baseline by more than its noise.

Noise is the larger of the baseline's and the current run's 95% CI half-widths, so a
drop that the bootstrap cannot tell from chance passes and a real regression fails.
Speed is not gated (CI machines differ); `make bench` reports it against the targets.

Write a new baseline from a full report:

    python -m evals.gate --write evals/reports/report-corpus.json evals/baseline.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.scoring import SPEC_BY_KEY
from rag.errors import RagError

GATED = (
    "article_mrr",
    "sentence_ndcg@10",
    "key_fact_recall",
    "abstention_f1",
    "conflict_surfaced",
    "span_validity",
    "citation_recall",
    "citation_precision",
)


@dataclass(frozen=True)
class Check:
    metric: str
    baseline: float
    current: float | None
    noise: float
    passed: bool
    reason: str = ""


def baseline_from(report: dict[str, Any]) -> dict[str, Any]:
    """The committed form: what was run and, per gated metric, its value and CI half-width."""
    ours = report["systems"]["ours"]["metrics"]
    metrics = {}
    for k in GATED:
        m = ours.get(k)
        if not m or "undefined" in m:
            raise RagError(f"cannot write a baseline: {k} is undefined in this report")
        metrics[k] = {"value": m["value"], "half_width": round((m["hi"] - m["lo"]) / 2, 4), "n": m["n"]}
    return {
        "corpus_name": report["corpus_name"],
        "cases_file": _relative(report["cases_file"]),
        "cases_sha256": report["cases_sha256"],
        "n_cases": report["n_cases"],
        "model": report["model"],
        "created_at": report["created_at"],
        "metrics": metrics,
    }


def _relative(path: str) -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return path


def check(report: dict[str, Any], baseline: dict[str, Any]) -> list[Check]:
    """One Check per gated metric in the baseline. Raises when the runs are not comparable."""
    if report["cases_sha256"] != baseline["cases_sha256"] or report["n_cases"] != baseline["n_cases"]:
        raise RagError(
            f"the baseline was computed on {baseline['n_cases']} cases of {baseline['cases_file']} "
            f"(sha256 {baseline['cases_sha256'][:12]}); this run has {report['n_cases']} cases "
            f"(sha256 {report['cases_sha256'][:12]}): run the full case file without --limit, or write a new baseline"
        )
    ours = report["systems"]["ours"]["metrics"]
    out = []
    for k, b in baseline["metrics"].items():
        m = ours.get(k)
        if not m or "undefined" in m:
            out.append(Check(k, b["value"], None, b["half_width"], False, (m or {}).get("undefined", "missing")))
            continue
        noise = max(b["half_width"], (m["hi"] - m["lo"]) / 2)
        if SPEC_BY_KEY[k].higher_is_better:
            passed = m["value"] >= b["value"] - noise
        else:
            passed = m["value"] <= b["value"] + noise
        out.append(Check(k, b["value"], m["value"], noise, passed))
    return out


def render(checks: list[Check]) -> str:
    lines = ["| metric | baseline | now | allowed drop | |", "|---|---|---|---|---|"]
    for c in checks:
        now = "undefined" if c.current is None else f"{c.current:.3f}"
        lines.append(f"| {c.metric} | {c.baseline:.3f} | {now} | {c.noise:.3f} | {'ok' if c.passed else 'FAIL ' + c.reason} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.gate", description="write or check an eval baseline")
    p.add_argument("--write", nargs=2, metavar=("REPORT_JSON", "BASELINE_JSON"), help="write a baseline from a report")
    p.add_argument("--check", nargs=2, metavar=("REPORT_JSON", "BASELINE_JSON"), help="check a report against a baseline")
    a = p.parse_args(argv)
    try:
        if a.write:
            report = json.loads(Path(a.write[0]).read_text())
            Path(a.write[1]).write_text(json.dumps(baseline_from(report), indent=1) + "\n")
            print(f"wrote {a.write[1]}")
            return 0
        if a.check:
            checks = check(json.loads(Path(a.check[0]).read_text()), json.loads(Path(a.check[1]).read_text()))
            print(render(checks))
            return 0 if all(c.passed for c in checks) else 1
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    p.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
