"""The tuned llama-index peer: what a careful llama-index user would build for this task.

Beating `CitationQueryEngine.from_args` defaults (top-2 chunks of 1,024 tokens) proves little,
so `make eval` also scores this pipeline, built only from llama-index pieces:

- `SentenceWindowNodeParser` (window 3): one node per sentence, its 3 neighbours either side
  kept in metadata; `MetadataReplacementPostProcessor` swaps the window in before the LLM reads it;
- hybrid retrieval: dense (`VectorStoreIndex` retriever, same MiniLM) and BM25 (bm25s with the
  English stemmer and stop words, the library llama-index's own BM25 retriever wraps; that
  package, llama-index-retrievers-bm25, is not installed, so `BM25NodeRetriever` below is the
  same thing in 40 lines), fused by `QueryFusionRetriever` in reciprocal-rank mode, top 8,
  no generated queries;
- `CitationQueryEngine` over that retriever (sources numbered "Source n"), with our prompt's
  rules (prompts/system.txt) plus one line asking for [n] citations, the same GGUF and decoding.

It is imported only inside the peer's own process (evals/peer.py), never by `rag` or the harness.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import BaseNode, NodeWithScore, QueryBundle

TOP_K = 8
WINDOW = 3
SETTINGS = {
    "retrieval": "QueryFusionRetriever(reciprocal_rerank) of dense + BM25 (bm25s), 1 query",
    "similarity_top_k": TOP_K,
    "node_parser": f"SentenceWindowNodeParser(window_size={WINDOW}) + MetadataReplacementPostProcessor(window)",
    "citation_chunk_size": 1024,
    "prompt": "prompts/system.txt rules + [n] citation instruction",
}

CITE = (
    "Each excerpt below starts with 'Source n:'. After each sentence of your answer, cite the sources it uses "
    "as [n], for example [1] or [1][3]."
)


class BM25NodeRetriever(BaseRetriever):
    """BM25 over llama-index nodes with bm25s (English stemmer and stop words); nodes with a zero
    score (no query word) are left out."""

    def __init__(self, nodes: list[BaseNode], top_k: int = TOP_K):
        import bm25s
        import Stemmer

        super().__init__()
        self.nodes = list(nodes)
        self.top_k = top_k
        self.stemmer = Stemmer.Stemmer("english")
        self.bm25 = bm25s.BM25()
        self.bm25.index(self._tokens([n.get_content() for n in self.nodes]), show_progress=False)

    def _tokens(self, texts: list[str]) -> Any:
        import bm25s

        return bm25s.tokenize(texts, stopwords="en", stemmer=self.stemmer, show_progress=False, return_ids=False)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if not self.nodes:
            return []
        rows, scores = self.bm25.retrieve(self._tokens([query_bundle.query_str]), k=min(self.top_k, len(self.nodes)), show_progress=False)
        return [NodeWithScore(node=self.nodes[int(i)], score=float(s)) for i, s in zip(rows[0], scores[0], strict=True) if s > 0]


def templates() -> tuple[Any, Any]:
    """Question and refine prompts in our style: our rules, numbered excerpts, then the question."""
    from llama_index.core import PromptTemplate

    from rag.prompt import PROMPTS_DIR

    rules = (PROMPTS_DIR / "system.txt").read_text(encoding="utf-8").strip()
    qa = PromptTemplate(f"{rules}\n{CITE}\n\nExcerpts:\n{{context_str}}\nQuestion: {{query_str}}")
    refine = PromptTemplate(
        f"{rules}\n{CITE}\n\nYour earlier answer: {{existing_answer}}\n"
        "Improve it with these further excerpts if they help; otherwise repeat it.\n\n"
        "Excerpts:\n{context_msg}\nQuestion: {query_str}"
    )
    return qa, refine


def build_tuned_engine(docs: list[Any], llm: Any, embed_model: Any, streaming: bool = True) -> Any:
    """The tuned pipeline over `docs` (llama-index Documents). `llm` and `embed_model` are explicit:
    the global `Settings` is never used (it would build an OpenAI client)."""
    from llama_index.core import VectorStoreIndex
    from llama_index.core.node_parser import SentenceWindowNodeParser
    from llama_index.core.postprocessor import MetadataReplacementPostProcessor
    from llama_index.core.query_engine import CitationQueryEngine
    from llama_index.core.response_synthesizers import ResponseMode, get_response_synthesizer
    from llama_index.core.retrievers import QueryFusionRetriever

    nodes = SentenceWindowNodeParser.from_defaults(window_size=WINDOW).get_nodes_from_documents(docs)
    dense = VectorStoreIndex(nodes, embed_model=embed_model).as_retriever(similarity_top_k=TOP_K)
    fused = QueryFusionRetriever(
        [dense, BM25NodeRetriever(nodes, TOP_K)],
        llm=llm,  # never called with num_queries=1, but passed so Settings.llm is never built
        mode="reciprocal_rerank",
        similarity_top_k=TOP_K,
        num_queries=1,
        use_async=False,
    )
    qa, refine = templates()
    synth = get_response_synthesizer(
        llm=llm, text_qa_template=qa, refine_template=refine, response_mode=ResponseMode.COMPACT, streaming=streaming
    )
    return CitationQueryEngine(
        retriever=fused,
        llm=llm,
        response_synthesizer=synth,
        citation_chunk_size=1024,  # a window is one source, not cut again
        node_postprocessors=[MetadataReplacementPostProcessor(target_metadata_key="window")],
    )
