"""`rag eval` end to end: the runner with a scripted model, the CLI exit codes, and the llama-index peer."""

import argparse
import json
from pathlib import Path

import pytest
from conftest import ScriptedGenerator

from evals import run as eval_run
from rag.config import load_config
from rag.errors import RagError

ROOT = Path(__file__).resolve().parent.parent
MILL = ROOT / "evals" / "corpus_millfire"
MILL_CASES = ROOT / "evals" / "cases_millfire.jsonl"


def first_excerpt(messages):
    """A stand-in model that answers with the first excerpt it was given, verbatim."""
    user = messages[-1]["content"]
    line = next((x for x in user.splitlines() if x.startswith("[1] ")), "")
    return line[4:] or "I don't know."


class FakePeer:
    """Stands in for the llama-index process: cites the first lines of the mill report as "Source 1"."""

    asked: list = []

    def __init__(self, settings):
        self.settings = settings

    def ask(self, case_id, query, system="stock"):
        FakePeer.asked.append((case_id, query))
        chunk = (MILL / "01_eastmere_tribune.txt").read_text().split("\n\n")[1]
        return {
            "case_id": case_id,
            "query": query,
            "answer": "A fire broke out at the mill [1].",
            "ttft_s": 0.1,
            "total_s": 0.2,
            "gen_tokens": 8,
            "decode_s": 0.1,
            "prompt_tokens": 50,
            "error": "",
            "sources": [{"n": 1, "source": "01_eastmere_tribune.txt", "text": f"Source 1:\n{chunk}\n", "score": 0.5}],
        }

    def close(self):
        return {"import_s": 1.0, "load_s": 1.0, "index_s": 1.0, "peak_rss_mb": 100.0, "global_settings_untouched": True}


@pytest.mark.models
def test_run_eval_scores_every_case_with_a_scripted_model(tmp_path, monkeypatch):
    import evals.peer

    monkeypatch.setattr(evals.peer, "PeerProcess", FakePeer)
    monkeypatch.setattr(eval_run, "_peer_model", lambda cfg: "fake.gguf")
    cfg = load_config(overrides={"data_dir": tmp_path / "data"}, env={})
    gen = ScriptedGenerator([first_excerpt] * 200)
    report = eval_run.run_eval(cfg, MILL, MILL_CASES, dense=True, peer=True, generator=gen)
    assert (tmp_path / "data" / "eval-corpus_millfire" / "index").exists()  # never the user's index
    assert not (tmp_path / "data" / "index").exists()
    assert report["n_cases"] == 18 and set(report["systems"]) == {"ours", "dense", "peer"}
    assert report["model"] == "scripted"
    # follow-ups reach the peer with their earlier questions
    assert (
        "mill-fu-01",
        "Earlier questions: What did the fire marshal's preliminary report find?\nQuestion: How much damage did it estimate?",
    ) in FakePeer.asked
    peer = report["systems"]["peer"]
    assert peer["metrics"]["span_validity"]["value"] == 1.0 and peer["metrics"]["ttft_p50"]["value"] == 0.1
    ours = report["systems"]["ours"]
    assert [it["case_id"] for it in ours["items"]][:2] == ["mill-sf-01", "mill-sf-02"]
    # Every quote our system cites is the file's text at its offsets.
    assert ours["metrics"]["span_validity"]["value"] == 1.0
    for key in ("article_mrr", "sentence_ndcg@10", "key_fact_recall", "abstention_recall", "citation_recall", "ttft_p50"):
        m = ours["metrics"][key]
        assert "undefined" not in m and 0 <= m["lo"] <= m["value"] <= m["hi"], (key, m)
    assert "ttft_p50" not in report["systems"]["dense"]["metrics"]  # replayed drafts: no speed claims
    assert gen.prompts, "the scripted model was called"
    paths = eval_run.write(report, tmp_path / "out")
    assert "## Headline" in paths["markdown"].read_text()


def _args(**kw):
    base = dict(corpus=None, cases=None, out=None, limit=None, no_baselines=True, gate=None)
    base.update(kw)
    return argparse.Namespace(**base)


def test_main_exit_codes_follow_the_gate(tmp_path, monkeypatch):
    from evals import gate

    metrics = {k: {"value": 0.8, "lo": 0.75, "hi": 0.85, "n": 20} for k in gate.GATED}
    report = {
        "corpus": "c",
        "corpus_name": "c",
        "cases_file": "f",
        "cases_sha256": "s",
        "n_cases": 20,
        "created_at": "t",
        "model": "m",
        "retrieval": "hybrid",
        "notes": [],
        "machine": {"cpu": "x", "cores": 2, "memory_gib": 1, "python": "3", "load_average_at_start": None},
        "systems": {"ours": {"metrics": metrics, "items": [], "resources": {}, "by_type": {}}},
    }
    monkeypatch.setattr(eval_run, "run_eval", lambda *a, **k: report)
    cfg = load_config(env={})
    good = tmp_path / "baseline.json"
    good.write_text(json.dumps(gate.baseline_from(report)))
    assert eval_run.main(_args(out=tmp_path / "o", gate=good), cfg) == 0
    higher = gate.baseline_from(report)
    higher["metrics"]["key_fact_recall"]["value"] = 0.95
    bad = tmp_path / "higher.json"
    bad.write_text(json.dumps(higher))
    assert eval_run.main(_args(out=tmp_path / "o", gate=bad), cfg) == 1
    with pytest.raises(RagError, match="baseline file not found"):
        eval_run.main(_args(gate=tmp_path / "missing.json"), cfg)
    with pytest.raises(RagError, match="--limit"):
        eval_run.main(_args(limit=0), cfg)


def test_cases_file_is_found_for_a_corpus_folder(tmp_path):
    cfg = load_config(env={})
    assert eval_run.default_cases(MILL, cfg) == MILL_CASES
    assert eval_run.default_cases(cfg.corpus, cfg).name == "cases.jsonl"
    (tmp_path / "corpus_other").mkdir()
    with pytest.raises(RagError, match="--cases"):
        eval_run.default_cases(tmp_path / "corpus_other", cfg)


@pytest.mark.models
def test_peer_answers_with_explicit_models_and_chatml(tmp_path):
    from evals.peer import PeerSettings, run_peer
    from index.embedding import packaged_minilm_path
    from rag.models import smollm_gguf

    # The tiny ChatML model: this checks the wiring, not the quality (the eval measures that).
    settings = PeerSettings(str(MILL), str(smollm_gguf()), str(packaged_minilm_path()), max_tokens=40)
    raw = run_peer(settings, [("q", "Who is the chief executive of Calder Textiles?")])
    assert raw["global_settings_untouched"]
    (out,) = raw["outputs"]
    assert not out["error"] and out["answer"] and out["ttft_s"] is not None
    assert "<|im" not in out["answer"]  # the ChatML stop tokens ended the reply
    assert {s["source"] for s in out["sources"]} <= {p.name for p in MILL.iterdir()}
    assert all(s["text"].startswith(f"Source {s['n']}:") for s in out["sources"])


@pytest.mark.models
def test_drafts_saved_by_prompt_are_replayed_without_the_model(tmp_path):
    cfg = load_config(overrides={"data_dir": tmp_path / "data"}, env={})
    drafts = tmp_path / "drafts.json"
    first = ScriptedGenerator([first_excerpt] * 200)
    r1 = eval_run.run_eval(cfg, MILL, MILL_CASES, limit=4, dense=False, peer=False, generator=first, drafts=drafts)
    assert drafts.exists() and 0 < len(json.loads(drafts.read_text())) <= len(first.prompts)
    again = ScriptedGenerator([])  # records any call: every prompt must be replayed instead
    r2 = eval_run.run_eval(cfg, MILL, MILL_CASES, limit=4, dense=False, peer=False, generator=again, drafts=drafts)
    answers = lambda r: [it["output"]["answer"] for it in r["systems"]["ours"]["items"]]  # noqa: E731
    assert answers(r2) == answers(r1) and not again.prompts
    assert any("4/4 drafts replayed" in n for n in r2["notes"])
    with pytest.raises(RagError, match="folder of the drafts file"):
        eval_run.run_eval(cfg, MILL, MILL_CASES, limit=1, dense=False, peer=False, generator=again, drafts=tmp_path / "no" / "d.json")
    drafts.write_text("[1, 2]")
    with pytest.raises(RagError, match="not a drafts file"):
        eval_run.run_eval(cfg, MILL, MILL_CASES, limit=1, dense=False, peer=False, generator=again, drafts=drafts)
