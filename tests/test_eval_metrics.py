"""The eval's pure metric functions against values computed by hand."""

import math

import pytest

from evals import metrics as M


def test_normalize_and_fact_matching():
    assert M.normalize("Shahrah-e-Faisal’s  road [3]") == "shahrah e faisal's road"
    assert M.contains_fact("It is on Shahrah-e-Faisal [2].", "Shahrae Faisal|Shahrah-e-Faisal")
    assert M.contains_fact("It is on Sharae Faisal.", "Shahrae Faisal|Sharae Faisal")
    assert not M.contains_fact("It is on Faisal Road.", "Shahrae Faisal|Sharae Faisal")
    # whole words only: "six" is not in "sixty", "mat" is not in "format"
    assert not M.contains_fact("sixty people", "six")
    assert not M.contains_fact("the format", "mat")
    # citation markers are not numbers of the answer
    assert not M.contains_fact("Three were killed [2].", "2")
    assert M.contains_fact("Two were killed [3].", "two|2")


def test_key_fact_recall_and_exact_match():
    text = "Zala Noor blew himself up; Kifayatullah was shot."
    assert M.key_fact_recall(text, ["Zala Noor", "Kifayatullah", "Datakhel"]) == pytest.approx(2 / 3)
    assert M.key_fact_recall(text, ["zala noor"]) == 1.0
    with pytest.raises(M.UndefinedMetric):
        M.key_fact_recall(text, [])
    assert M.exact_match("The mill is in Eastmere.", "Eastmere")
    assert not M.exact_match("The mill is in Eastmere.", "Westmere")


def test_ranking_metrics_by_hand():
    assert M.hit_at_k([False, False, True], 2) == 0.0
    assert M.hit_at_k([False, False, True], 3) == 1.0
    assert M.reciprocal_rank([False, False, True]) == pytest.approx(1 / 3)
    assert M.reciprocal_rank([False, False]) == 0.0
    # gains [1, 0, 1], two relevant: DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3)
    assert M.ndcg_at_k([1, 0, 1], 2) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert M.ndcg_at_k([0, 1], 1) == pytest.approx(1 / math.log2(3))
    assert M.ndcg_at_k([1, 1], 2) == pytest.approx(1.0)
    # cut at k: the relevant item at rank 3 is outside k=2
    assert M.ndcg_at_k([0, 0, 1], 1, k=2) == 0.0
    with pytest.raises(M.UndefinedMetric):
        M.ndcg_at_k([1], 0)


def test_span_gains_credit_each_gold_span_once():
    gold = [("a.txt", 10, 20), ("b.txt", 0, 5)]
    ranked = [("a.txt", 0, 9), ("a.txt", 15, 30), ("a.txt", 12, 14), ("b.txt", 4, 8), ("b.txt", None, None)]
    # (0,9) misses; (15,30) overlaps gold 0; (12,14) overlaps gold 0 again → no gain; (4,8) overlaps gold 1
    assert M.span_gains(ranked, gold) == [0.0, 1.0, 0.0, 1.0, 0.0]
    assert M.span_gains([("b.txt", 10, 20)], gold) == [0.0]  # same offsets, other file


def test_abstention_precision_recall_f1_by_hand():
    pairs = [(True, True), (True, False), (False, True), (False, False), (True, True)]
    p, r, f1 = M.abstention_prf(pairs)  # tp=2, fp=1, fn=1
    assert (p, r, f1) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    p, r, f1 = M.abstention_prf([(True, True), (False, True)])
    assert (p, r, f1) == pytest.approx((1.0, 0.5, 2 / 3))
    with pytest.raises(M.UndefinedMetric, match="never abstained"):
        M.abstention_prf([(False, True), (False, False)])
    assert M.abstention_recall([(False, True), (False, False)]) == 0.0  # recall is defined without abstentions
    with pytest.raises(M.UndefinedMetric, match="no case should be declined"):
        M.abstention_prf([(True, False)])


def test_conflict_surfaced_needs_two_values():
    groups = ["eight to 10|8 to 10", "three|3", "six|6"]
    assert M.conflict_surfaced("Sources said eight to 10; officials said three [2].", groups)
    assert not M.conflict_surfaced("Three attackers came [1].", groups)
    assert M.conflict_surfaced("Reports differ.", groups, structured_values=["8–10", "3"])
    with pytest.raises(M.UndefinedMetric):
        M.conflict_surfaced("x", ["one"])


def test_span_validity():
    text = "Alpha beta. Gamma delta."
    assert M.span_valid(text, 12, 24, "Gamma delta.")
    assert not M.span_valid(text, 11, 24, "Gamma delta.")
    assert not M.span_valid(text, 12, 99, "Gamma delta.")
    assert M.span_valid(text, None, None, "beta. Gamma")  # no offsets: verbatim anywhere
    assert not M.span_valid(text, None, None, "beta Gamma")
    assert not M.span_valid(text, 0, 0, "")


def test_answer_claims_and_markers():
    assert M.answer_claims("It was white [1]. Three came [2][3].") == [("It was white.", [1]), ("Three came.", [2, 3])]
    # markers after the full stop belong to the sentence before; ranges expand
    assert M.answer_claims("Water is wet. [2] It is red [1-3].") == [("Water is wet.", [2]), ("It is red.", [1, 2, 3])]
    assert M.answer_claims("Yes.") == []  # one word is not a claim
    assert M.answer_claims("No citation here at all.") == [("No citation here at all.", [])]


def test_alce_citation_recall_and_precision_by_hand():
    passages = {1: "alpha beta", 2: "gamma", 3: "delta"}

    def supports(claim, texts):  # every claim word must be in the passages
        have = set(" ".join(texts).split())
        return set(claim.rstrip(".").split()) <= have

    claims = [
        ("alpha beta.", [1, 2]),  # supported; [1] alone supports, [2] is redundant → 1 precise of 2
        ("gamma delta.", [2, 3]),  # needs both → 2 precise
        ("epsilon.", [3]),  # unsupported
        ("alpha.", []),  # no citation: not recalled
        ("gamma.", [9]),
    ]  # out of range: not recalled
    c = M.alce_citation_counts(claims, passages, supports)
    assert (c.claims, c.supported, c.citations, c.precise) == (5, 2, 6, 3)


def test_percentile_matches_linear_interpolation():
    assert M.percentile([1, 2, 3, 4], 50) == 2.5
    assert M.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert M.percentile([7], 95) == 7
    with pytest.raises(M.UndefinedMetric):
        M.percentile([], 50)


def test_bootstrap_interval_and_undefined():
    e = M.mean_estimate([1.0, 1.0, 1.0])
    assert (e.value, e.lo, e.hi, e.n) == (1.0, 1.0, 1.0, 3)
    e = M.mean_estimate([0.0, 1.0] * 20)
    assert e.value == 0.5 and e.lo < 0.5 < e.hi and e.n == 40
    assert M.mean_estimate([0.0, 1.0] * 20) == e  # seeded: repeatable
    with pytest.raises(M.UndefinedMetric, match="n = 0"):
        M.mean_estimate([])
    # ratio: micro average, items with a zero denominator do not count
    r = M.ratio_estimate([(1, 2), (3, 4), (0, 0)])
    assert r.value == pytest.approx(4 / 6) and r.n == 2
    with pytest.raises(M.UndefinedMetric):
        M.ratio_estimate([(0, 0)])


def test_looks_abstained():
    assert M.looks_abstained("I don't know.")
    assert M.looks_abstained("None of the sources are helpful.")
    assert M.looks_abstained("")
    assert M.looks_abstained("I'm sorry, but I can't assist with that.")
    assert not M.looks_abstained("Three attackers came in a white car [1].")


def test_gate_calibration_table_counts_refusals_and_stops_per_threshold():
    from evals.calibration import table

    rows = [
        dict(answerable=True, sim=0.9, lex=1.0),
        dict(answerable=True, sim=0.32, lex=0.6),  # a fair match sharing most words: refused from 0.35 up
        dict(answerable=False, sim=0.1, lex=0.0),  # stopped everywhere
        dict(answerable=False, sim=0.5, lex=0.0),  # stopped once 0.5 is below threshold + 0.15
    ]
    lines = {line.split(" |")[0].strip("| ").split(" ")[0]: line for line in table(rows, 0.3).splitlines()[2:]}
    assert "| 0.000 (0) | 0.500 (1) |" in lines["0.3"] and "(current)" in lines["0.3"]
    assert "| 0.500 (1) | 0.500 (1) |" in lines["0.35"]
    assert "| 0.500 (1) | 1.000 (2) |" in lines["0.4"]
