"""Per-item scoring, aggregation, the report files, the gate and the output adapters, without models."""

import dataclasses
import json

import pytest

from evals import gate
from evals.cases import Case
from evals.report import markdown, write
from evals.scoring import aggregate, score_item
from evals.systems import CachingGenerator, Cited, Output, Unit, peer_outputs
from rag.errors import RagError

TEXTS = {
    "a.txt": "The mill burned. Three workers died in the fire. The cause is unknown.",
    "b.txt": "Five workers died, police said. The mill is in Eastmere.",
}


def _case(**kw):
    base = dict(
        id="c1",
        type="conflict",
        question="How many died?",
        history=(),
        gold_sources=("a.txt", "b.txt"),
        gold_sentences=("Three workers died", "Five workers died"),
        gold_spans=(("a.txt", 17, 35), ("b.txt", 0, 17)),
        key_facts=("three|3", "five|5"),
        answerable=True,
        expect_conflict=True,
        conflict_values=("three|3", "five|5"),
    )
    base.update(kw)
    return Case(**base)


def words_supported(claim, passages):
    have = set(" ".join(passages).lower().replace(",", "").replace(".", "").split())
    return set(claim.lower().rstrip(".").split()) <= have


def test_score_item_by_hand():
    out = Output(
        case_id="c1",
        answer="Three workers died [1]. Five workers died [2].",
        abstained=False,
        citations=[
            Cited(1, "a.txt", 17, 48, "Three workers died in the fire."),
            Cited(2, "b.txt", 0, 99, "Five workers died, police said."),
        ],
        retrieved=[Unit("b.txt", 32, 56), Unit("a.txt", 17, 48), Unit("b.txt", 0, 31)],
        conflict_values=["3", "5"],
        claims_verified=2,
        claims_total=2,
        ttft_s=0.5,
        total_s=2.0,
        gen_tokens=11,
        decode_s=1.0,
        extra={"conflicts": [{"topic": "x"}]},
    )
    s = score_item(_case(), out, TEXTS, words_supported)
    assert s["article_hit@1"] == 1.0 and s["article_mrr"] == 1.0  # b.txt is gold
    assert s["sentence_hit@1"] == 0.0 and s["sentence_mrr"] == 0.5
    assert s["sentence_ndcg@10"] == pytest.approx((1 / 1.5849625 + 1 / 2) / (1 + 1 / 1.5849625), rel=1e-6)
    assert s["key_fact_recall"] == 1.0
    assert s["conflict_surfaced"] == 1.0
    assert s["unexpected_versions"] == [0, 2]
    assert s["abstention"] == [False, False]
    assert s["span_validity"] == [1, 2]  # citation 2 has offsets past the quote
    assert s["citation_recall"] == [2, 2] and s["citation_precision"] == [2, 2]
    assert s["claims_verified"] == [2, 2]
    assert s["decode_rate"] == 10.0
    assert "false_conflict" not in s


def test_a_sentence_naming_a_gap_is_not_a_claim_to_cite():
    out = Output(
        "c1",
        "Three workers died [1]. The articles do not say who owned the mill.",
        False,
        [Cited(1, "a.txt", 17, 48, "Three workers died in the fire.")],
        [],
    )
    s = score_item(_case(), out, TEXTS, words_supported)
    assert s["citation_recall"] == [1, 1]


def test_abstention_on_unanswerable_case_has_no_retrieval_or_citation_scores():
    case = _case(
        type="unanswerable",
        gold_sources=(),
        gold_sentences=(),
        gold_spans=(),
        key_facts=(),
        answerable=False,
        expect_conflict=False,
        conflict_values=(),
    )
    out = Output("c1", "The articles do not say.", True, [], [], total_s=0.1)
    s = score_item(case, out, TEXTS, words_supported)
    assert s["abstention"] == [True, True]
    assert not any(k.startswith(("article", "sentence", "citation", "span", "key_fact")) for k in s)
    assert "ttft_s" not in s


def test_aggregate_reports_undefined_instead_of_zero():
    s1 = {"key_fact_recall": 1.0, "abstention": [False, False], "total_s": 1.0}
    s2 = {"key_fact_recall": 0.0, "abstention": [False, False], "total_s": 3.0}
    m = aggregate([s1, s2])
    assert m["key_fact_recall"]["value"] == 0.5 and m["key_fact_recall"]["n"] == 2
    assert "undefined" in m["abstention_f1"] and "never abstained" in m["abstention_f1"]["undefined"]
    assert "undefined" in m["conflict_surfaced"] and m["conflict_surfaced"]["n"] == 0
    assert m["total_p50"]["value"] == 2.0
    for v in m.values():  # never NaN
        assert "value" not in v or v["value"] == v["value"]


def _report(metrics, n_cases=3, sha="abc"):
    return {
        "corpus": "corpus",
        "corpus_name": "corpus",
        "cases_file": "cases.jsonl",
        "cases_sha256": sha,
        "n_cases": n_cases,
        "created_at": "now",
        "model": "m",
        "retrieval": "hybrid",
        "machine": {"cpu": "cpu", "cores": 2, "memory_gib": 1, "python": "3.11", "load_average_at_start": [0, 0, 0]},
        "systems": {"ours": {"metrics": metrics, "items": [], "resources": {}, "by_type": {}}},
        "notes": [],
    }


def _m(value, half):
    return {"value": value, "lo": value - half, "hi": value + half, "n": 10}


def test_gate_passes_within_noise_and_fails_beyond():
    base = gate.baseline_from(_report({k: _m(0.8, 0.05) for k in gate.GATED}))
    assert base["metrics"]["key_fact_recall"] == {"value": 0.8, "half_width": 0.05, "n": 10}
    ok = gate.check(_report({k: _m(0.76, 0.05) for k in gate.GATED}), base)
    assert all(c.passed for c in ok)
    metrics = {k: _m(0.8, 0.05) for k in gate.GATED}
    metrics["citation_recall"] = _m(0.6, 0.05)
    metrics["conflict_surfaced"] = {"undefined": "no items", "n": 0}
    failed = {c.metric for c in gate.check(_report(metrics), base) if not c.passed}
    assert failed == {"citation_recall", "conflict_surfaced"}
    assert "FAIL" in gate.render(gate.check(_report(metrics), base))
    with pytest.raises(RagError, match="--limit"):
        gate.check(_report(metrics, n_cases=2, sha="zzz"), base)


def test_gate_cli_round_trip(tmp_path):
    rp, bp = tmp_path / "r.json", tmp_path / "b.json"
    rp.write_text(json.dumps(_report({k: _m(0.8, 0.05) for k in gate.GATED})))
    assert gate.main(["--write", str(rp), str(bp)]) == 0
    assert gate.main(["--check", str(rp), str(bp)]) == 0
    worse = _report({k: _m(0.5, 0.01) for k in gate.GATED})
    rp.write_text(json.dumps(worse))
    assert gate.main(["--check", str(rp), str(bp)]) == 1


def test_report_files(tmp_path):
    metrics = aggregate(
        [
            {"key_fact_recall": 1.0, "abstention": [True, True], "total_s": 1.0, "ttft_s": 0.5},
            {"key_fact_recall": 0.5, "abstention": [False, False], "total_s": 2.0, "ttft_s": 0.7},
        ]
    )
    r = _report(metrics)
    r["systems"]["ours"]["items"] = [
        {
            "case_id": "c9",
            "type": "single_fact",
            "scores": {"key_fact_recall": 0.5, "abstention": [False, False]},
            "output": {"answer": "Half right.", "abstained": False, "error": ""},
        }
    ]
    md = markdown(r)
    assert "| Key-fact recall ↑ | 0.75 [" in md
    assert "`c9` (single_fact): key facts 0.50" in md
    assert "Abstention F1 ↑ | undefined" not in md or "undefined (n=" in md
    paths = write(r, tmp_path)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths["json"].read_text())["n_cases"] == 3


def test_caching_generator_replays_identical_prompts():
    class Counting:
        name = "counting"
        calls = 0

        def stream(self, messages, max_tokens=160):
            Counting.calls += 1
            yield from ["a ", "b"]

    g = CachingGenerator(Counting())
    msgs = [{"role": "user", "content": "q"}]
    assert "".join(g.stream(msgs)) == "a b"
    assert "".join(g.stream(msgs)) == "a b"
    assert "".join(g.stream([{"role": "user", "content": "other"}])) == "a b"
    assert Counting.calls == 2 and g.hits == 1
    recorder = CachingGenerator(Counting(), replay=False)
    replayer = CachingGenerator(Counting(), cache=recorder.cache)
    assert "".join(recorder.stream(msgs)) == "a b" and "".join(recorder.stream(msgs)) == "a b"
    assert Counting.calls == 4 and recorder.hits == 0  # the recorder never replays
    assert "".join(replayer.stream(msgs)) == "a b" and Counting.calls == 4 and replayer.hits == 1


def test_peer_outputs_locate_chunks_and_flag_bad_markers():
    raw = {
        "outputs": [
            {
                "case_id": "c1",
                "query": "q",
                "answer": "Three workers died [1]. Six died [3].",
                "ttft_s": 1.0,
                "total_s": 2.0,
                "gen_tokens": 9,
                "decode_s": 1.0,
                "error": "",
                "sources": [
                    {"n": 1, "source": "a.txt", "text": "Source 1:\nThree workers died in the fire.\n", "score": 0.5},
                    {"n": 2, "source": "b.txt", "text": "Source 2:\nFive  workers died\n", "score": 0.4},
                ],
            }
        ]
    }
    (o,) = peer_outputs(raw, TEXTS, words_supported)
    assert o.retrieved[0] == Unit("a.txt", 17, 48)
    assert o.retrieved[1] == Unit("b.txt", None, None)  # altered whitespace: not in the file
    assert [c.n for c in o.citations] == [1, 3]
    assert o.citations[1].quote == "" and o.citations[1].source == ""
    assert o.claims_total == 2 and o.claims_verified == 1
    assert not o.abstained
    s = score_item(_case(), o, TEXTS, words_supported)
    assert s["span_validity"] == [1, 2]
    assert s["citation_recall"] == [1, 2]


def test_a_version_no_expected_value_matches_is_counted_apart_from_surfacing():
    out = Output("c1", "Reports differ: three [1]; five [2]; 84 [3].", False, [], [], conflict_values=["3", "5", "84"])
    s = score_item(_case(), out, TEXTS, words_supported)
    assert s["conflict_surfaced"] == 1.0  # two expected values are shown
    assert s["unexpected_versions"] == [1, 3]  # and one that is no version of this figure


def test_a_version_matches_by_its_value_or_by_the_words_it_shows():
    case = dataclasses.replace(_case(), conflict_values=("around 50|about 50", "a grenade|one grenade"))
    versions = [{"value": "50", "shown": "around 50"}, {"value": "1", "shown": "a grenade"}, {"value": "4", "shown": "four"}]
    out = Output("c1", "Reports differ.", False, [], [], conflict_values=["50", "1", "4"], extra={"conflicts": [{"versions": versions}]})
    assert score_item(case, out, TEXTS, words_supported)["unexpected_versions"] == [1, 3]
