"""The pipeline as llama-index components, for people who already have a llama-index app.

    from rag.config import load_config
    from rag.llamaindex import NewsQueryEngine

    engine = NewsQueryEngine.from_config(load_config(), llm=my_llama_index_llm)  # or llm=None
    response = engine.query("Where is the Karachi Police Office?")
    response.source_nodes  # the verified citations, as sentence nodes with offsets

Three pieces, each a thin adapter over what `rag ask` runs:
- `SentenceRetriever`: our hybrid retrieval (`rag.retrieve.retrieve`) as a `BaseRetriever`; one
  `TextNode` per evidence sentence, id = our sentence id, `start_char_idx`/`end_char_idx` =
  offsets into the article text, metadata `file_name`, `title`, `date`.
- `NewsQueryEngine`: `rag.answer.answer` as a `CustomQueryEngine`; `Response.source_nodes` are
  the cited sentences, `Response.metadata` holds the claims, verification counts, the
  abstained flag and the disagreements (each version with its sources).
- `LlamaIndexGenerator`: any llama-index `LLM` as our `Generator` (rag/generate.py), so the
  model drafts and our deterministic steps still decide what is cited.

This module imports llama-index at the top on purpose: only its users import it, never
`rag.answer` nor the CLI (a test checks), so `rag ask` starts without llama-index.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from llama_index.core.base.response.schema import Response
from llama_index.core.llms import LLM, ChatMessage
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from rag.answer import Engine
from rag.answer import answer as run_answer
from rag.config import Config
from rag.errors import RagError
from rag.generate import Message, one_line
from rag.retrieve import retrieve
from rag.types import Answer, Article, Citation, Sentence

log = logging.getLogger(__name__)


def sentence_node(sentence: Sentence, article: Article | None, score: float | None = None, **extra: Any) -> NodeWithScore:
    """One sentence as a llama-index node: `article.text[node.start_char_idx:node.end_char_idx] == node.text`."""
    metadata: dict[str, Any] = {"file_name": sentence.article_id, "title": article.title if article else sentence.article_id}
    if article is not None and article.date:
        metadata["date"] = article.date
    metadata.update(extra)
    node = TextNode(
        id_=sentence.id,
        text=sentence.text,
        start_char_idx=sentence.start,
        end_char_idx=sentence.end,
        metadata=metadata,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=sentence.article_id)},
    )
    return NodeWithScore(node=node, score=score)


class SentenceRetriever(BaseRetriever):
    """Our hybrid retrieval (BM25 + dense sentences + dense windows, fused by rank, capped per
    article) as a llama-index retriever. `top_k`/`per_article`/`mode` default to the config's."""

    def __init__(self, engine: Engine, top_k: int | None = None, per_article: int | None = None, mode: str | None = None):
        super().__init__()
        cfg = engine.config
        self.engine = engine
        self.top_k = top_k or cfg.top_k
        self.per_article = per_article or cfg.per_article
        self.mode = mode or cfg.retrieval

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        store = self.engine.store
        r = retrieve(store, self.engine.embedder, query_bundle.query_str, self.top_k, self.per_article, mode=self.mode)
        return [sentence_node(h.sentence, store.articles.get(h.sentence.article_id), h.score) for h in r.hits]


class LlamaIndexGenerator:
    """A llama-index `LLM` behind our `Generator` protocol. Chat and completion models alike go
    through `stream_chat` (a completion model formats the messages with its own
    `messages_to_prompt`). The reply length is the LLM's own setting (e.g. `max_new_tokens`):
    llama-index has no per-call limit common to all models. Failures become one-line RagErrors."""

    def __init__(self, llm: LLM, name: str | None = None):
        self.li_llm = llm  # not `.llm`: rag.judge would take that for a llama.cpp model to load a judge from
        self.name = name or getattr(llm.metadata, "model_name", "") or type(llm).__name__

    def stream(self, messages: list[Message], max_tokens: int = 160) -> Iterator[str]:
        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        seen = ""
        try:
            for r in self.li_llm.stream_chat(chat):
                piece = r.delta if r.delta is not None else (r.message.content or "")[len(seen) :]
                seen += piece
                if piece:
                    yield piece
        except RagError:
            raise
        except Exception as e:  # noqa: BLE001 - any backend's failure is one line for the user
            raise RagError(f"the llama-index LLM {self.name} failed: {one_line(e)}") from None


def _cited_sentence(c: Citation, by_span: dict[tuple[str, int, int], Sentence]) -> Sentence:
    """The indexed sentence a citation quotes (its id), or a stand-in with the citation's own span."""
    s = by_span.get((c.source, c.start, c.end))
    return s if s is not None else Sentence(f"{c.source}:{c.start}-{c.end}", c.source, -1, c.start, c.end, c.quote)


def to_response(a: Answer, engine: Engine) -> Response:
    """Our `Answer` as a llama-index `Response`: the citations become the source nodes."""
    store = engine.store
    cited = {(c.source, c.start, c.end) for c in a.citations}
    by_span = {(s.article_id, s.start, s.end): s for s in store.sentences if (s.article_id, s.start, s.end) in cited}
    nodes = [
        sentence_node(_cited_sentence(c, by_span), store.articles.get(c.source), c.score, citation=c.n, supported=c.supported)
        for c in a.citations
    ]
    d = a.to_dict()
    metadata = {
        "abstained": a.abstained,
        "claims": d["claims"],
        "claims_verified": a.claims_verified,
        "claims_total": a.claims_total,
        "disagreements": d["conflicts"],
        "citations": d["citations"],
        "standalone_question": d["standalone_question"],
        "model": a.model,
        "timings_ms": d["timings_ms"],
    }
    return Response(response=a.answer, source_nodes=nodes, metadata=metadata)


class NewsQueryEngine(CustomQueryEngine):
    """`rag ask` as a llama-index query engine: `query(q)` returns a `Response` whose
    `source_nodes` are the verified citations. `history` holds earlier questions of the
    conversation (for follow-ups such as "how many were hurt there?")."""

    engine: Any  # rag.answer.Engine (a plain dataclass: not validated by pydantic)
    history: list[str] = []

    @classmethod
    def from_config(cls, cfg: Config | None = None, llm: LLM | None = None) -> NewsQueryEngine:
        """Load the index and models the way `rag ask` does (`rag.wiring`); `llm`, any
        llama-index LLM, drafts the answers instead of the configured model."""
        from rag.config import load_config
        from rag.wiring import adopt_indexed_corpus, build_engine

        cfg = cfg if cfg is not None else load_config()
        adopt_indexed_corpus(cfg)
        return cls(engine=build_engine(cfg, generator=LlamaIndexGenerator(llm) if llm is not None else None))

    @property
    def retriever(self) -> SentenceRetriever:
        """The retriever alone, for a llama-index app that brings its own synthesis."""
        return SentenceRetriever(self.engine)

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self.retriever.retrieve(query_bundle)

    def answer(self, query_str: str) -> Answer:
        """Our own `Answer` (for callers that want the plain dataclass)."""
        return run_answer(query_str, self.engine, history=self.history)

    def custom_query(self, query_str: str) -> Response:
        return to_response(self.answer(query_str), self.engine)
