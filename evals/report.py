"""Writing the eval results: a JSON report (per item and overall), a Markdown summary, a PNG plot."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from evals.scoring import SPEC_BY_KEY, SPECS

HEADLINE = (
    "article_mrr",
    "sentence_ndcg@10",
    "sentence_hit@5",
    "key_fact_recall",
    "exact_match",
    "abstention_recall",
    "abstention_f1",
    "conflict_surfaced",
    "forbidden_output",
    "span_validity",
    "citation_recall",
    "citation_precision",
    "claims_verified",
    "ttft_p50",
    "total_p50",
)
SYSTEM_LABELS = {
    "ours": "ours",
    "dense": "ours, dense-only retrieval",
    "peer": "llama-index CitationQueryEngine",
    "peer_tuned": "llama-index tuned (hybrid, top-8, sentence windows)",
}


def code_version() -> str | None:
    """The git commit the numbers belong to ("+dirty" when rag/ or index/ has uncommitted changes)."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "rag", "index", "prompts"], cwd=root, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ("+dirty" if dirty else "")) or None


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "code": code_version(),
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
    }


def fmt(m: dict[str, Any] | None, key: str) -> str:
    """'0.83 [0.74–0.91] n=70', '1.2 s [1.0–1.5] n=60', or 'undefined (reason)'."""
    if m is None:
        return "—"
    if "undefined" in m:
        return f"undefined (n={m.get('n', 0)})"
    unit = SPEC_BY_KEY[key].unit
    digits = 1 if unit in ("s", "tok/s") else (0 if unit == "chars" else 2)
    u = f" {unit}" if unit else ""
    return f"{m['value']:.{digits}f}{u} [{m['lo']:.{digits}f}–{m['hi']:.{digits}f}] n={m['n']}"


def headline_table(systems: dict[str, dict[str, Any]], keys: tuple[str, ...] = HEADLINE) -> str:
    names = list(systems)
    lines = ["| Metric | " + " | ".join(SYSTEM_LABELS.get(n, n) for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for k in keys:
        if not any(k in systems[n]["metrics"] for n in names):
            continue
        arrow = "↑" if SPEC_BY_KEY[k].higher_is_better else "↓"
        lines.append(f"| {SPEC_BY_KEY[k].label} {arrow} | " + " | ".join(fmt(systems[n]["metrics"].get(k), k) for n in names) + " |")
    return "\n".join(lines)


def _problems(items: list[dict[str, Any]]) -> list[str]:
    """Per-item failures worth reading, in case order."""
    out = []
    for it in items:
        s, why = it["scores"], []
        if it["output"].get("error"):
            why.append("error: " + it["output"]["error"][:80])
        if s.get("key_fact_recall") is not None and s["key_fact_recall"] < 1:
            why.append(f"key facts {s['key_fact_recall']:.2f}")
        abst, should = s["abstention"]
        if abst and not should:
            why.append("abstained on an answerable question")
        if should and not abst:
            why.append("answered an unanswerable question")
        if s.get("conflict_surfaced") == 0.0:
            why.append("conflict not surfaced")
        if s.get("false_conflict") == 1.0:
            why.append("conflict reported where none was expected")
        if s.get("forbidden_output") == 1.0:
            why.append("forbidden output")
        if s.get("span_validity") and s["span_validity"][0] < s["span_validity"][1]:
            why.append("invalid citation span")
        if s.get("citation_recall") and s["citation_recall"][0] < s["citation_recall"][1]:
            why.append(f"unsupported claims {s['citation_recall'][1] - s['citation_recall'][0]}/{s['citation_recall'][1]}")
        if why:
            answer = " ".join(it["output"]["answer"].split())
            out.append(f"- `{it['case_id']}` ({it['type']}): {'; '.join(why)} — “{answer[:140]}{'…' if len(answer) > 140 else ''}”")
    return out


def markdown(report: dict[str, Any]) -> str:
    systems = report["systems"]
    m = report["machine"]
    lines = [
        f"# Eval report: {report['corpus_name']} ({report['n_cases']} cases)",
        "",
        f"Cases `{report['cases_file']}` (sha256 {report['cases_sha256'][:12]}), corpus `{report['corpus']}`, model `{report['model']}`, "
        f"retrieval `{report['retrieval']}`, {report['created_at']}.",
        f"Code {m.get('code')}. Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, Python {m['python']}; load average at start "
        f"{m['load_average_at_start']}.",
        "",
        "Each cell: value [95% bootstrap CI] n = items the metric applies to. Definitions: evals/README.md.",
        "",
        "## Headline",
        "",
        headline_table(systems),
        "",
        "## All metrics",
        "",
        headline_table(systems, tuple(s.key for s in SPECS)),
        "",
        "## Resources",
        "",
    ]
    for name, sysrep in systems.items():
        extras = ", ".join(f"{k} {v}" for k, v in sysrep.get("resources", {}).items())
        lines.append(f"- {SYSTEM_LABELS.get(name, name)}: {extras}")
    for note in report.get("notes", []):
        lines.append(f"- {note}")
    for name in systems:
        by_type = systems[name].get("by_type")
        if by_type:
            lines += [
                "",
                f"## By case type ({SYSTEM_LABELS.get(name, name)})",
                "",
                "| type | n | key-fact recall | abstained |",
                "|---|---|---|---|",
            ]
            for t, row in by_type.items():
                lines.append(f"| {t} | {row['n']} | {row['key_fact_recall']} | {row['abstained']} |")
    for name, sysrep in systems.items():
        probs = _problems(sysrep["items"])
        lines += ["", f"## Items to look at ({SYSTEM_LABELS.get(name, name)}, {len(probs)})", ""]
        lines += probs or ["(none)"]
    return "\n".join(lines) + "\n"


def by_type(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Key-fact recall and abstention share per case type (plain means, for reading)."""
    out: dict[str, dict[str, Any]] = {}
    for t in dict.fromkeys(it["type"] for it in items):
        group = [it for it in items if it["type"] == t]
        kf = [it["scores"]["key_fact_recall"] for it in group if it["scores"].get("key_fact_recall") is not None]
        out[t] = {
            "n": len(group),
            "key_fact_recall": f"{sum(kf) / len(kf):.2f}" if kf else "n/a",
            "abstained": f"{sum(1 for it in group if it['output']['abstained'])}/{len(group)}",
        }
    return out


def plot(report: dict[str, Any], path: Path) -> None:
    """Grouped bars of the headline quality metrics (with CIs) and of the median latencies."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = report["systems"]
    quality = [k for k in HEADLINE if SPEC_BY_KEY[k].unit == ""]
    speed = ["ttft_p50", "total_p50"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [4, 1]})
    width = 0.8 / max(len(systems), 1)
    for i, (name, sysrep) in enumerate(systems.items()):
        for ax, keys in ((ax1, quality), (ax2, speed)):
            xs: list[float] = []
            vals: list[float] = []
            errs: list[list[float]] = [[], []]
            for j, k in enumerate(keys):
                m = sysrep["metrics"].get(k)
                if not m or "undefined" in m:
                    continue
                xs.append(j + i * width)
                vals.append(m["value"])
                errs[0].append(max(m["value"] - m["lo"], 0))
                errs[1].append(max(m["hi"] - m["value"], 0))
            ax.bar(xs, vals, width, yerr=errs, capsize=2, label=SYSTEM_LABELS.get(name, name))
    ax1.set_xticks([j + width * (len(systems) - 1) / 2 for j in range(len(quality))])
    ax1.set_xticklabels(
        [SPEC_BY_KEY[k].label + ("" if SPEC_BY_KEY[k].higher_is_better else " (lower is better)") for k in quality],
        rotation=35,
        ha="right",
        fontsize=8,
    )
    ax1.set_ylim(0, 1.05)
    fig.suptitle(f"{report['corpus_name']}: {report['n_cases']} cases, bars with 95% bootstrap CI")
    ax1.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    ax2.set_xticks([j + width * (len(systems) - 1) / 2 for j in range(len(speed))])
    ax2.set_xticklabels(["TTFT p50", "total p50"], fontsize=8)
    ax2.set_ylabel("seconds")
    ax2.set_title("Latency", pad=18)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(report: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """report-<corpus>.json, summary-<corpus>.md and headline-<corpus>.png in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = report["corpus_name"]
    paths = {"json": out_dir / f"report-{name}.json", "markdown": out_dir / f"summary-{name}.md", "png": out_dir / f"headline-{name}.png"}
    paths["json"].write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    paths["markdown"].write_text(markdown(report), encoding="utf-8")
    try:
        plot(report, paths["png"])
    except ImportError:  # matplotlib comes with the eval extra (`make eval`); the numbers are written without it
        del paths["png"]
    return paths
