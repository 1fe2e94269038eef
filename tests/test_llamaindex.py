"""The pipeline as llama-index components (rag/llamaindex.py), the README example run from its
doc, and the tuned llama-index peer of `make eval` run end to end with fakes."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import deque
from typing import Any

import pytest
from conftest import ROOT, HashEmbedder, make_engine
from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata

from rag.errors import RagError
from rag.types import Answer, Citation, Claim, Conflict, Version

QUESTION = "Where is the Karachi Police Office located?"
REPLY = "The Karachi Police Office is located on Shahrae Faisal."


class ScriptedLLM(CustomLLM):
    """A llama-index completion LLM that replies from a queue and records the prompts it got."""

    replies: Any = None
    prompts: list[str] = []
    fail: bool = False

    def __init__(self, replies=(), **kw):
        super().__init__(**kw)
        self.replies = deque(replies)
        self.prompts = []

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="scripted-li")

    def _next(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if self.fail:
            raise ConnectionError("server went away\nat line 2")
        if not self.replies:
            return "I don't know."
        r = self.replies.popleft()
        return r(prompt) if callable(r) else r

    def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
        return CompletionResponse(text=self._next(prompt))

    def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponseGen:
        text = self._next(prompt)

        def gen():
            out = ""
            for word in text.split(" "):
                out += word + " "
                yield CompletionResponse(text=out, delta=word + " ")

        return gen()


@pytest.fixture
def indexed(corpus_copy, tmp_path, monkeypatch):
    """The bundled corpus indexed with the hashed-words embedder; `load_config()` finds it via env."""
    from index.store import build
    from rag.config import load_config

    data = tmp_path / "data"
    for k, v in {"RAG_DATA_DIR": str(data), "RAG_CORPUS": str(corpus_copy), "HOME": str(tmp_path), "XDG_CONFIG_HOME": ""}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("RAG_CONFIG", raising=False)
    cfg = load_config()
    build(corpus_copy, cfg.index_dir, HashEmbedder(), cfg.chunk_size, cfg.chunk_overlap)
    monkeypatch.setattr("rag.wiring.build_embedder", lambda cfg: HashEmbedder())
    return cfg


def doc_example() -> str:
    text = (ROOT / "docs" / "llama-index.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    return code


def test_the_documented_example_runs_and_cites_exact_offsets(indexed, monkeypatch, capsys):
    from rag.llamaindex import LlamaIndexGenerator

    llm = ScriptedLLM([REPLY])
    monkeypatch.setattr("rag.wiring.build_generator", lambda cfg: LlamaIndexGenerator(llm))  # llm=None: the configured model
    ns: dict[str, Any] = {}
    exec(compile(doc_example(), "docs/llama-index.md", "exec"), ns)
    response = ns["response"]
    assert llm.prompts and "Shahrae Faisal" in llm.prompts[0]  # the evidence reached the LLM
    assert response.source_nodes and not response.metadata["abstained"]
    assert "Shahrae Faisal" in response.response and "[1]" in response.response
    for n in response.source_nodes:
        article = (indexed.corpus / n.node.metadata["file_name"]).read_text(encoding="utf-8")
        assert article[n.node.start_char_idx : n.node.end_char_idx] == n.node.get_content()
        assert n.node.metadata["title"] and n.node.metadata["citation"] >= 1
    assert response.metadata["claims_verified"] == response.metadata["claims_total"] >= 1
    out = capsys.readouterr().out
    assert "claims verified" in out and "chars " in out


def test_retriever_returns_our_ranking_as_sentence_nodes(corpus_copy, tmp_path):
    from rag.llamaindex import NewsQueryEngine, SentenceRetriever
    from rag.retrieve import retrieve

    engine = make_engine(corpus_copy, tmp_path / "data", HashEmbedder(), None)
    nodes = SentenceRetriever(engine).retrieve(QUESTION)
    hits = retrieve(engine.store, engine.embedder, QUESTION, engine.config.top_k, engine.config.per_article).hits
    assert [n.node.node_id for n in nodes] == [h.sentence.id for h in hits] and len(nodes) == engine.config.top_k
    assert [n.score for n in nodes] == [h.score for h in hits]
    for n in nodes:
        art = engine.store.articles[n.node.metadata["file_name"]]
        assert art.text[n.node.start_char_idx : n.node.end_char_idx] == n.node.get_content()
        assert n.node.metadata["title"] == art.title and n.node.ref_doc_id == art.id
        assert n.node.metadata.get("date") == art.date
    assert [n.node.node_id for n in NewsQueryEngine(engine=engine).retrieve(QUESTION)] == [n.node.node_id for n in nodes]
    assert len(SentenceRetriever(engine, top_k=3).retrieve(QUESTION)) == 3


def test_query_engine_with_any_llama_index_llm(indexed):
    from rag.llamaindex import NewsQueryEngine

    llm = ScriptedLLM([REPLY, REPLY])  # then "I don't know."
    engine = NewsQueryEngine.from_config(indexed, llm=llm)
    assert engine.engine.generator.name == "scripted-li" and engine.engine.judge is None
    r = engine.query(QUESTION)
    a = engine.answer(QUESTION)  # the same question through our own function: the same citations
    assert [(n.node.metadata["file_name"], n.node.start_char_idx, n.node.end_char_idx) for n in r.source_nodes] == [
        (c.source, c.start, c.end) for c in a.citations
    ]
    ids = {s.id for s in engine.engine.store.sentences}
    assert all(n.node.node_id in ids for n in r.source_nodes)  # node id = our sentence id
    assert r.metadata["claims"] and all(c["supported"] for c in r.metadata["claims"])
    refused = engine.query("What did the mayor of Oslo say about tulips?")
    assert refused.metadata["abstained"] and refused.source_nodes == [] and refused.metadata["claims_total"] == 0


def test_response_metadata_carries_disagreements_with_their_sources(corpus_copy, tmp_path):
    from rag.llamaindex import to_response

    engine = make_engine(corpus_copy, tmp_path / "data", HashEmbedder(), None)
    s1, s2 = engine.store.sentences[3], next(s for s in engine.store.sentences if s.article_id != engine.store.sentences[3].article_id)
    cites = tuple(Citation(n, s.article_id, "t", s.start, s.end, s.text, 0.5, True) for n, s in ((1, s1), (2, s2))) + (
        Citation(3, s1.article_id, "t", s1.start, s2.start + 1, "x", 0.1, False),
    )
    conflict = Conflict("killed", (Version("4", (1,), (s1.article_id,)), Version("5", (2,), (s2.article_id,))))
    a = Answer("q", "Four [1] or five [2].", False, cites, (Claim("Four [1] or five [2].", (1, 2), True, 0.9),), (conflict,))
    r = to_response(a, engine)
    assert [n.node.node_id for n in r.source_nodes][:2] == [s1.id, s2.id]
    assert r.source_nodes[2].node.node_id == f"{s1.article_id}:{s1.start}-{s2.start + 1}"  # not a sentence: its own span
    (d,) = r.metadata["disagreements"]
    assert [(v["value"], v["sources"]) for v in d["versions"]] == [("4", [s1.article_id]), ("5", [s2.article_id])]
    assert (r.metadata["claims_verified"], r.metadata["claims_total"]) == (1, 1)


def test_llm_failure_is_one_line_rag_error():
    from rag.llamaindex import LlamaIndexGenerator

    llm = ScriptedLLM()
    llm.fail = True
    gen = LlamaIndexGenerator(llm)
    with pytest.raises(RagError) as e:
        list(gen.stream([{"role": "user", "content": "hi"}]))
    assert "\n" not in str(e.value) and "server went away" in str(e.value)
    ok = LlamaIndexGenerator(ScriptedLLM(["two words"]), name="x")
    assert "".join(ok.stream([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])).split() == ["two", "words"]


def test_answer_path_and_cli_do_not_import_llama_index():
    code = "import sys, rag.answer, rag.cli, rag.wiring; print(any(m.startswith('llama_index') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


# --- the tuned llama-index peer of `make eval` (evals/peer_tuned.py), end to end with fakes ---

MILL = ROOT / "evals" / "corpus_millfire"


def hash_embedding():
    """llama-index's embedding interface over the hashed-words embedder (not a constant-vector mock)."""
    from llama_index.core.embeddings import BaseEmbedding

    class HashEmbedding(BaseEmbedding):
        def _vec(self, text: str) -> list[float]:
            return HashEmbedder().embed([text])[0].tolist()

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._vec(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._vec(text)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._vec(query)

    return HashEmbedding(model_name="hash-bow")


@pytest.fixture(scope="module")
def peer():
    from evals.peer import Peer, PeerSettings

    llm = ScriptedLLM()
    return Peer(PeerSettings(str(MILL), "unused.gguf", "unused", tuned=True), llm=llm, embed_model=hash_embedding()), llm


def test_tuned_peer_answers_from_top_8_sentence_windows_with_our_rules(peer):
    from evals.systems import peer_outputs

    p, llm = peer
    llm.replies.extend(["The injured were taken to St Anne's Hospital [1].", "St Anne's Hospital [1]."])
    q = "Which hospital were the injured mill workers taken to?"
    tuned = p.ask("mill-sf-02", q, "tuned")
    stock = p.ask("mill-sf-02", q)
    assert tuned["error"] == "" and stock["error"] == ""
    prompt = llm.prompts[-2]
    assert "You answer questions about news reports" in prompt and "[n]" in prompt and "Source 1:" in prompt  # our rules
    assert "St Anne's Hospital" in prompt
    assert 2 < len(tuned["sources"]) <= 8 and len(stock["sources"]) <= 2  # top-8 vs the stock top-2
    texts = {f.name: f.read_text(encoding="utf-8") for f in MILL.iterdir()}
    (out,) = peer_outputs({"outputs": [tuned]}, texts, lambda c, ps: True, loose=True)
    assert out.answer.startswith("The injured") and [c.n for c in out.citations] == [1]
    for u in out.retrieved:  # every window is found in its file, and it is a window: several sentences
        assert u.start is not None and len(re.findall(r"[.!?]\"?\s", texts[u.source][u.start : u.end] + " ")) >= 3, u
    c = out.citations[0]
    assert texts[c.source][c.start : c.end] == c.quote and "St Anne's Hospital" in c.quote
    (strict,) = peer_outputs({"outputs": [tuned]}, texts, lambda c, ps: True)
    assert any(u.start is None for u in strict.retrieved)  # windows are joined by spaces: only `loose` finds them all
    s = p.summary()
    assert s["global_settings_untouched"] and s["tuned_settings"]["similarity_top_k"] == 8 and "tuned_index_s" in s


def test_tuned_peer_fuses_bm25_with_dense():
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceWindowNodeParser

    from evals.peer_tuned import BM25NodeRetriever, build_tuned_engine

    docs = [Document(text=f.read_text(encoding="utf-8"), metadata={"file_name": f.name}) for f in sorted(MILL.iterdir())]
    nodes = SentenceWindowNodeParser.from_defaults(window_size=3).get_nodes_from_documents(docs)
    hits = BM25NodeRetriever(nodes).retrieve("Martin Oduya chief executive")
    assert "Oduya" in hits[0].node.get_content() and all(h.score > 0 for h in hits)
    assert BM25NodeRetriever(nodes).retrieve("zzzq") == []
    engine = build_tuned_engine(docs, ScriptedLLM(), hash_embedding(), streaming=False)
    kinds = sorted(type(r).__name__ for r in engine.retriever._retrievers)
    assert kinds == ["BM25NodeRetriever", "VectorIndexRetriever"] and engine.retriever.similarity_top_k == 8
    got = engine.retrieve(__import__("llama_index.core").core.QueryBundle("Martin Oduya chief executive"))
    assert got and all(n.node.get_content() == n.node.metadata["window"] for n in got)  # windows replace sentences


def test_make_eval_reports_the_tuned_peer_beside_the_stock_one(tmp_path, monkeypatch):
    from conftest import ScriptedGenerator

    import evals.peer
    from evals import run as eval_run
    from rag.config import load_config

    asked = []

    class FakePeer:
        def __init__(self, settings):
            assert settings.tuned

        def ask(self, case_id, query, system="stock"):
            asked.append((case_id, system))
            chunk = (MILL / "01_eastmere_tribune.txt").read_text(encoding="utf-8").split("\n\n")[2]
            window = " ".join(chunk.split())  # the tuned peer's windows: words joined by single spaces
            text = chunk if system == "stock" else window
            return {
                "case_id": case_id, "query": query, "answer": "A fire broke out at the mill [1].", "ttft_s": 0.1, "total_s": 0.2,
                "gen_tokens": 8, "decode_s": 0.1, "prompt_tokens": 50, "error": "",
                "sources": [{"n": 1, "source": "01_eastmere_tribune.txt", "text": f"Source 1:\n{text}\n", "score": 0.5}],
            }  # fmt: skip

        def close(self):
            return {"import_s": 1.0, "load_s": 1.0, "index_s": 1.0, "peak_rss_mb": 100.0, "global_settings_untouched": True,
                    "tuned_index_s": 2.0, "tuned_settings": {"similarity_top_k": 8}}  # fmt: skip

    monkeypatch.setattr(evals.peer, "PeerProcess", FakePeer)
    monkeypatch.setattr(eval_run, "_peer_model", lambda cfg: "fake.gguf")
    monkeypatch.setattr("rag.wiring.build_embedder", lambda cfg: HashEmbedder())
    cfg = load_config(overrides={"data_dir": tmp_path / "data"}, env={})
    report = eval_run.run_eval(cfg, MILL, ROOT / "evals" / "cases_millfire.jsonl", limit=2, dense=False, generator=ScriptedGenerator())
    assert set(report["systems"]) == {"ours", "peer", "peer_tuned"}
    assert asked == [("mill-sf-01", "stock"), ("mill-sf-01", "tuned"), ("mill-sf-02", "stock"), ("mill-sf-02", "tuned")]
    tuned = report["systems"]["peer_tuned"]
    assert tuned["metrics"]["span_validity"]["value"] == 1.0 and tuned["resources"]["index build s"] == 2.0
    assert any(n.startswith("peer_tuned:") for n in report["notes"])
    md = eval_run.write(report, tmp_path / "out")["markdown"].read_text()
    assert "llama-index tuned" in md
    asked.clear()  # `rag eval --peers tuned`: the tuned peer alone answers (the stock one costs as much again)
    cfg2 = load_config(overrides={"data_dir": tmp_path / "data2"}, env={})
    report = eval_run.run_eval(
        cfg2, MILL, ROOT / "evals" / "cases_millfire.jsonl", limit=2, dense=False, generator=ScriptedGenerator(), peers=("tuned",)
    )
    assert set(report["systems"]) == {"ours", "peer_tuned"} and asked == [("mill-sf-01", "tuned"), ("mill-sf-02", "tuned")]
