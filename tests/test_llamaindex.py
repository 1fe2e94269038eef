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
