"""Score a finished eval run again, without re-running any system: `python -m evals.rescore REPORT_JSON`.

Every output is stored in the report, so a fixed metric or a corrected case file can be
applied to it in seconds (only the verifier's embedder is loaded, for the citation metrics).
The case ids of the report must all still exist in the case file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evals.cases import cases_digest, load_cases, read_corpus_texts
from evals.metrics import looks_abstained
from evals.report import by_type, write
from evals.scoring import SPEED_KEYS, aggregate, score_item
from evals.systems import Cited, Output, Unit
from rag.errors import RagError


def output_from(d: dict[str, Any]) -> Output:
    return Output(**{**d, "citations": [Cited(**c) for c in d["citations"]], "retrieved": [Unit(**u) for u in d["retrieved"]]})


def rescore(report: dict[str, Any], supports) -> dict[str, Any]:
    texts = read_corpus_texts(Path(report["corpus"]))
    cases = {c.id: c for c in load_cases(Path(report["cases_file"]), texts)}
    for name, system in report["systems"].items():
        for it in system["items"]:
            if it["case_id"] not in cases:
                raise RagError(f"case {it['case_id']} of the report is no longer in {report['cases_file']}")
            out = output_from(it["output"])
            if name.startswith("peer"):  # the peers' refusals are read from its text, by the current rules
                out.abstained = it["output"]["abstained"] = looks_abstained(out.answer)
            it["scores"] = score_item(cases[it["case_id"]], out, texts, supports)
        system["metrics"] = aggregate([it["scores"] for it in system["items"]], SPEED_KEYS if name == "dense" else frozenset())
        system["by_type"] = by_type(system["items"])
    ids = [it["case_id"] for it in report["systems"]["ours"]["items"]]
    report["cases_sha256"] = cases_digest(ids, Path(report["cases_file"]))
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.rescore", description=__doc__.split("\n")[0])
    p.add_argument("report", type=Path)
    p.add_argument("--out", type=Path, help="output folder (default: the report's folder)")
    a = p.parse_args(argv)
    from index.embedding import load_embedder
    from rag.verify import HeuristicVerifier

    verifier = HeuristicVerifier(load_embedder("bundled"))
    try:
        report = rescore(json.loads(a.report.read_text()), lambda c, ps: verifier.support(c, ps).supported)
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    paths = write(report, a.out or a.report.parent)
    print("rescored: " + ", ".join(str(x) for x in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
