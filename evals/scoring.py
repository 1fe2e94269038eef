"""Per-item scores for one system's output on one case, and their aggregation.

A per-item score is None when the metric does not apply to the case (no gold sentences
for an unanswerable question, no citations in an abstention); aggregation skips those,
and a metric left with no items is reported as undefined with the reason, never as 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evals import metrics as M
from evals.cases import Case
from evals.systems import Output

Supports = Callable[[str, list[str]], bool]


def score_item(case: Case, out: Output, texts: dict[str, str], supports: Supports) -> dict[str, Any]:
    """All per-item scores of `out` against `case`. Values: float, [num, den], [pred, gold] or None."""
    s: dict[str, Any] = {}
    # Retrieval, article level: the ranked list of distinct sources.
    if case.gold_sources:
        arts = M.dedupe([u.source for u in out.retrieved])
        rel = [a in case.gold_sources for a in arts]
        s["article_hit@1"] = M.hit_at_k(rel, 1)
        s["article_hit@3"] = M.hit_at_k(rel, 3)
        s["article_mrr"] = M.reciprocal_rank(rel)
        s["article_ndcg@10"] = M.ndcg_at_k([float(r) for r in rel], len(case.gold_sources), 10)
    # Retrieval, sentence level: ranked units overlapping gold sentence spans.
    if case.gold_spans:
        gains = M.span_gains([(u.source, u.start, u.end) for u in out.retrieved], case.gold_spans)
        rel = [g > 0 for g in gains]
        s["sentence_hit@1"] = M.hit_at_k(rel, 1)
        s["sentence_hit@5"] = M.hit_at_k(rel, 5)
        s["sentence_mrr"] = M.reciprocal_rank(rel)
        s["sentence_ndcg@10"] = M.ndcg_at_k(gains, len(case.gold_sentences), 10)
    if out.retrieved:
        lengths = [u.end - u.start for u in out.retrieved if u.start is not None and u.end is not None]
        s["retrieved_chars"] = [sum(lengths), len(lengths)]
    # Answers.
    if case.answerable:
        s["key_fact_recall"] = M.key_fact_recall(out.answer, case.key_facts)
    if case.exact:
        s["exact_match"] = float(M.exact_match(out.answer, case.exact))
    s["abstention"] = [out.abstained, not case.answerable]
    if case.expect_conflict:
        s["conflict_surfaced"] = float(M.conflict_surfaced(out.answer, case.conflict_values, out.conflict_values))
        if out.conflict_values:  # a version no expected value matches: another event's figure, a misread one
            versions = [(v.get("value", ""), v.get("shown", "")) for c in out.extra.get("conflicts") or [] for v in c.get("versions", [])]
            forms = versions if len(versions) == len(out.conflict_values) else [(v,) for v in out.conflict_values]
            s["unexpected_versions"] = [M.unexpected_versions(forms, case.conflict_values), len(forms)]
    elif case.answerable and out.extra.get("conflicts") is not None:
        s["false_conflict"] = float(bool(out.extra["conflicts"]))
    if case.must_not_contain:
        s["forbidden_output"] = float(M.contains_forbidden(out.answer + " " + str(out.extra.get("draft", "")), case.must_not_contain))
    # Citations: the [n] markers in the answer text and the passages they point to.
    if not out.abstained:
        # "The articles do not say X." names a gap; it asserts nothing a source could support.
        claims = [(c, ns) for c, ns in M.answer_claims(out.answer) if ns or not M.looks_abstained(c)]
        by_n = {c.n: c for c in out.citations}
        used = sorted({n for _, ns in claims for n in ns})
        if used:
            valid = sum(
                1 for n in used if n in by_n and M.span_valid(texts.get(by_n[n].source, ""), by_n[n].start, by_n[n].end, by_n[n].quote)
            )
            s["span_validity"] = [valid, len(used)]
            s["cited_chars"] = [sum(len(by_n[n].quote) for n in used if n in by_n), len(used)]
        if claims:
            cc = M.alce_citation_counts(claims, {c.n: c.quote for c in out.citations if c.quote}, supports)
            s["citation_recall"] = [cc.supported, cc.claims]
            s["citation_precision"] = [cc.precise, cc.citations]
    if out.claims_total:
        s["claims_verified"] = [out.claims_verified or 0, out.claims_total]
    # Speed.
    if out.ttft_s is not None:
        s["ttft_s"] = out.ttft_s
    if not out.error:
        s["total_s"] = out.total_s
    if out.gen_tokens and out.decode_s and out.gen_tokens > 1:
        s["decode_rate"] = (out.gen_tokens - 1) / out.decode_s
    return s


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: str
    kind: str  # mean | ratio | abst_p | abst_r | abst_f1 | p50 | p95
    source: str  # the per-item score it is computed from
    higher_is_better: bool = True
    unit: str = ""


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec("article_hit@1", "Article hit@1", "mean", "article_hit@1"),
    MetricSpec("article_hit@3", "Article hit@3", "mean", "article_hit@3"),
    MetricSpec("article_mrr", "Article MRR", "mean", "article_mrr"),
    MetricSpec("article_ndcg@10", "Article nDCG@10", "mean", "article_ndcg@10"),
    MetricSpec("sentence_hit@1", "Sentence hit@1", "mean", "sentence_hit@1"),
    MetricSpec("sentence_hit@5", "Sentence hit@5", "mean", "sentence_hit@5"),
    MetricSpec("sentence_mrr", "Sentence MRR", "mean", "sentence_mrr"),
    MetricSpec("sentence_ndcg@10", "Sentence nDCG@10", "mean", "sentence_ndcg@10"),
    MetricSpec("retrieved_chars", "Retrieved unit length", "ratio", "retrieved_chars", False, "chars"),
    MetricSpec("key_fact_recall", "Key-fact recall", "mean", "key_fact_recall"),
    MetricSpec("exact_match", "Exact match (STR-EM)", "mean", "exact_match"),
    MetricSpec("abstention_precision", "Abstention precision", "abst_p", "abstention"),
    MetricSpec("abstention_recall", "Abstention recall", "abst_r", "abstention"),
    MetricSpec("abstention_f1", "Abstention F1", "abst_f1", "abstention"),
    MetricSpec("conflict_surfaced", "Conflict surfacing rate", "mean", "conflict_surfaced"),
    MetricSpec("false_conflict", "False conflict rate", "mean", "false_conflict", False),
    MetricSpec("unexpected_versions", "Versions outside the expected values", "ratio", "unexpected_versions", False),
    MetricSpec("forbidden_output", "Forbidden output rate", "mean", "forbidden_output", False),
    MetricSpec("span_validity", "Citation span validity", "ratio", "span_validity"),
    MetricSpec("citation_recall", "Citation recall (ALCE)", "ratio", "citation_recall"),
    MetricSpec("citation_precision", "Citation precision (ALCE)", "ratio", "citation_precision"),
    MetricSpec("claims_verified", "Claims verified", "ratio", "claims_verified"),
    MetricSpec("cited_chars", "Cited passage length", "ratio", "cited_chars", False, "chars"),
    MetricSpec("ttft_p50", "Time to first token p50", "p50", "ttft_s", False, "s"),
    MetricSpec("ttft_p95", "Time to first token p95", "p95", "ttft_s", False, "s"),
    MetricSpec("total_p50", "Total time p50", "p50", "total_s", False, "s"),
    MetricSpec("total_p95", "Total time p95", "p95", "total_s", False, "s"),
    MetricSpec("tokens_per_s", "Generation speed p50", "p50", "decode_rate", True, "tok/s"),
)
SPEED_KEYS = frozenset({"ttft_p50", "ttft_p95", "total_p50", "total_p95", "tokens_per_s"})


def _abst(index: int):
    fn = (M.abstention_precision, M.abstention_recall, lambda p: M.abstention_prf(p)[2])[index]

    def stat(pairs):
        return fn([(bool(a), bool(b)) for a, b in pairs])

    return stat


def estimate(spec: MetricSpec, values: list[Any]) -> M.Estimate:
    """One metric over the per-item values that apply (raises UndefinedMetric when none do)."""
    what = spec.label
    if spec.kind == "mean":
        return M.mean_estimate([float(v) for v in values], what)
    if spec.kind == "ratio":
        return M.ratio_estimate([(float(a), float(b)) for a, b in values], what)
    if spec.kind.startswith("abst_"):
        return M.bootstrap(values, _abst({"abst_p": 0, "abst_r": 1, "abst_f1": 2}[spec.kind]), what=what)
    if spec.kind in ("p50", "p95"):
        return M.percentile_estimate([float(v) for v in values], float(spec.kind[1:]), what)
    raise ValueError(f"unknown metric kind {spec.kind}")


def aggregate(scores: list[dict[str, Any]], skip: frozenset[str] = frozenset()) -> dict[str, dict[str, Any]]:
    """Every metric over the items: {key: Estimate.to_dict()} or {key: {"undefined": reason}}."""
    out: dict[str, dict[str, Any]] = {}
    for spec in SPECS:
        if spec.key in skip:
            continue
        values = [s[spec.source] for s in scores if s.get(spec.source) is not None]
        try:
            out[spec.key] = estimate(spec, values).to_dict()
        except M.UndefinedMetric as e:
            out[spec.key] = {"undefined": str(e), "n": len(values)}
    return out


SPEC_BY_KEY = {s.key: s for s in SPECS}
