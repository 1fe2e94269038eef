"""The benchmark's own logic (no timings asserted: speed belongs in the report, not in tests)."""

from pathlib import Path

import numpy as np
import pytest

from evals import bench, bench_vectors
from evals.bench_answers import chatml, pick_questions
from evals.cases import read_corpus_texts

ROOT = Path(__file__).resolve().parent.parent


def test_clustered_vectors_are_unit_length_and_repeatable():
    centers = np.random.default_rng(1).standard_normal((5, 8)).astype(np.float32)
    x = bench_vectors.clustered(250, 2, centers, block=100)
    assert x.shape == (250, 8) and x.dtype == np.float32
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(x, bench_vectors.clustered(250, 2, centers, block=100))


def test_bench_size_reports_flat_hnsw_and_the_automatic_choice():
    row = bench_vectors.bench_size(2000, n_queries=20)
    assert row["auto_kind"] == "flat"
    for key in ("flat_p50_ms", "flat_p95_ms", "hnsw_p50_ms", "hnsw_build_s", "flat_save_s", "hnsw_load_s", "auto_p50_ms"):
        assert row[key] >= 0, key
    assert row["flat_p50_ms"] <= row["flat_p95_ms"]
    assert 0.0 <= row["hnsw_recall@10"] <= 1.0
    assert row["auto_recall@10"] == 1.0  # flat is exact


def test_bench_vectors_skips_what_would_not_fit(monkeypatch):
    monkeypatch.setattr(bench_vectors, "mem_available_bytes", lambda: 10_000_000)
    (row,) = bench_vectors.bench_vectors([100_000], n_queries=5)
    assert "skipped" in row and "GiB" in row["skipped"]
    monkeypatch.undo()
    rows = bench_vectors.bench_vectors([500, 5000], n_queries=5, hnsw_budget_s=0.0)
    assert "hnsw_build_s" in rows[0]  # nothing to extrapolate from yet
    assert "exceeds" in rows[1]["hnsw_skipped"]


def test_targets_say_by_how_much_a_target_is_missed():
    r = {
        "help": {"p50_s": 0.4},
        "ask_cold": {"first_token_s": 7.5},
        "ingestion": {"ratio_default": 0.8},
        "vectors": [
            {"n": 100_000, "auto_kind": "flat", "auto_p50_ms": 12.0, "flat_p50_ms": 12.0},
            {"n": 1_000_000, "auto_kind": "hnsw", "auto_p50_ms": 1.0, "auto_recall@10": 0.97},
        ],
        "answers": {"ours": {"ttft_p50_s": 1.2, "total_p50_s": 6.0}, "peer": {"total_p50_s": 5.0}, "floor": {}},
    }
    t = {x["target"]: x for x in bench.targets(r)}
    assert t["rag --help"]["met"] is True and t["rag --help"]["miss"] == ""
    cold = t["cold rag ask, process start to first token"]
    assert cold["met"] is False and cold["miss"] == "missed by 1.5 s (25%)"
    assert t["ingestion throughput vs raw encode (default embedder)"]["miss"] == "missed by 0.1 × (11%)"
    assert t["retrieval p50 at 100,000 vectors (auto = flat)"]["miss"].startswith("missed by 2 ms")
    assert t["recall@10 at 1,000,000 vectors (auto)"]["met"] is True
    assert t["whole answer p50 vs peer (ratio ours/peer)"]["measured"] == 1.2
    md = bench.markdown(
        {
            "created_at": "now",
            "machine": {"cpu": "c", "cores": 2, "memory_gib": 1, "os": "l", "python": "3", "load_average_at_start": None},
            "targets": bench.targets(r),
            **r,
        }
    )
    assert "**missed by 1.5 s (25%)**" in md and "| 100,000 | flat |" in md


def test_answer_questions_cover_the_kinds_and_prompts_render_as_chatml():
    qs = pick_questions(8, read_corpus_texts(ROOT / "corpus"))
    assert len(qs) == 8 and len({q for _, q in qs}) == 8
    assert {cid.split("-")[1] for cid, _ in qs} == {"sf", "cf", "mu", "pa"}
    text = chatml([{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}])
    assert text == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"


@pytest.mark.models
def test_help_and_cold_ask_run_as_fresh_processes():
    # A fresh clone has no index yet; `make bench` builds it first, so does this test.
    if not (ROOT / "data" / "index" / "manifest.json").exists():
        import subprocess
        import sys

        subprocess.run([sys.executable, "-m", "rag", "index"], cwd=ROOT, check=True, capture_output=True)
    h = bench.bench_help(runs=1)
    assert len(h["runs_s"]) == 1
    cold = bench.bench_ask_cold()
    assert "error" not in cold, cold
    assert cold["first_token_s"] is not None and cold["first_token_s"] <= cold["total_s"]
    assert cold["first_token_no_prompt_cache_s"] is not None  # the run that wrote the prompt cache


def test_hybrid_bench_sentences_vary_and_its_report_has_cold_warm_and_whole_call():
    from evals import bench_hybrid

    texts = bench_hybrid.synthetic_sentences(ROOT / "corpus", 3000, seed=1)
    assert texts == bench_hybrid.synthetic_sentences(ROOT / "corpus", 3000, seed=1)
    assert len(set(texts)) > 1500  # names and numbers varied, not 147 sentences repeated
    row = bench_hybrid.bench_size(ROOT / "corpus", 2000, n_queries=5, cold_runs=1)
    for key in ("build_s", "cold_load_ms", "cold_first_query_ms", "warm_p50_ms", "hybrid_cold_ms", "hybrid_warm_p50_ms"):
        assert row[key] >= 0, key
    assert row["vocabulary"] > 1000 and row["warm_p50_ms"] <= row["warm_p95_ms"]
    md = "\n".join(bench_hybrid.markdown([row, {"n": 1_000_000, "hybrid_skipped": "too big"}]))
    assert "| 2,000 |" in md and "too big" in md
