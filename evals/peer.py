"""The peer baseline: llama-index's CitationQueryEngine with the same model and embedder.

This is what a user would otherwise build: `VectorStoreIndex` over the same folder
(llama-index's default `SentenceSplitter`, 1024-token chunks), `CitationQueryEngine.from_args`
with its defaults (top-2 chunks, 512-token citation sources), the same Qwen GGUF through
`LlamaCPP` with ChatML prompts and greedy decoding, and the same all-MiniLM-L6-v2 weights
through `HuggingFaceEmbedding`. `llm=` and `embed_model=` are passed explicitly; the global
`Settings` is never used (it would build an OpenAI client).

It runs in a separate process (`run_in_subprocess`) so that llama-index is never imported
by `rag` or the eval harness, and so that its peak memory is measured on its own.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from dataclasses import dataclass
from typing import Any

from evals.metrics import peak_rss_mb

log = logging.getLogger(__name__)

STOP = ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]
SYSTEM = "You are a helpful assistant."


@dataclass(frozen=True)
class PeerSettings:
    corpus: str
    model_path: str
    embedder_path: str
    max_tokens: int = 160
    n_ctx: int = 4096
    threads: int = 0
    tuned: bool = False  # also build the tuned pipeline (evals/peer_tuned.py), asked with system="tuned"


def messages_to_prompt(messages: Any) -> str:
    """ChatML, the format Qwen2.5 was trained on (llama-index's default is Llama-2's)."""
    parts = []
    if not messages or str(getattr(messages[0].role, "value", messages[0].role)) != "system":
        parts.append(f"<|im_start|>system\n{SYSTEM}<|im_end|>")
    for m in messages:
        parts.append(f"<|im_start|>{getattr(m.role, 'value', m.role)}\n{m.content}<|im_end|>")
    parts.append("<|im_start|>assistant\n")
    return "\n".join(parts)


def completion_to_prompt(completion: str) -> str:
    return f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{completion}<|im_end|>\n<|im_start|>assistant\n"


def conversation_query(question: str, history: list[str]) -> str:
    """The peer has no follow-up rewriting: earlier questions are given to it as context."""
    if not history:
        return question
    return "Earlier questions: " + " ".join(history) + "\nQuestion: " + question


def articles_as_documents(corpus: Any) -> list[Any]:
    """The corpus as llama-index Documents, read by our own reader (`index.reading`): the peers
    see the same article text as our system (every supported format, metadata lines taken out),
    so a difference in scores is the pipeline's, not the file reading's."""
    from pathlib import Path

    from llama_index.core import Document

    from index.reading import read_folder

    articles, _ = read_folder(Path(corpus))
    return [
        Document(
            text=a.text,
            metadata={"file_name": a.id, "title": a.title, "date": a.date or ""},
            excluded_embed_metadata_keys=["file_name", "title", "date"],
            excluded_llm_metadata_keys=["file_name", "title", "date"],
        )
        for a in articles
    ]


class Peer:
    """The peers, built once over one model: `ask()` answers one query with the stock engine
    (or with `system="tuned"`, the tuned pipeline) and returns its raw result. `llm` and
    `embed_model` replace the GGUF and MiniLM (tests pass fakes)."""

    def __init__(self, settings: PeerSettings, llm: Any = None, embed_model: Any = None):
        t0 = time.perf_counter()
        from llama_index.core import VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.core.query_engine import CitationQueryEngine

        if embed_model is None:  # the integrations' import time counts as import, as it always did
            import llama_index.embeddings.huggingface  # noqa: F401
        if llm is None:
            import llama_index.llms.llama_cpp  # noqa: F401

        self.import_s = time.perf_counter() - t0
        embed = embed_model if embed_model is not None else _embedding(settings)
        self.llm = llm if llm is not None else _llama_cpp(settings)
        self.load_s = time.perf_counter() - t0 - self.import_s
        t1 = time.perf_counter()
        docs = articles_as_documents(settings.corpus)
        index = VectorStoreIndex.from_documents(docs, embed_model=embed, transformations=[SentenceSplitter()])
        self.engines = {"stock": CitationQueryEngine.from_args(index, llm=self.llm, streaming=True)}
        self.index_s = {"stock": time.perf_counter() - t1}
        if settings.tuned:
            from evals.peer_tuned import build_tuned_engine

            t1 = time.perf_counter()
            self.engines["tuned"] = build_tuned_engine(docs, self.llm, embed)
            self.index_s["tuned"] = time.perf_counter() - t1

    def count_tokens(self, text: str) -> int:
        model = getattr(self.llm, "_model", None)
        if model is None:  # a stand-in LLM (tests): words
            return len(text.split())
        return len(model.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0

    def ask(self, case_id: str, query: str, system: str = "stock") -> dict[str, Any]:
        t = time.perf_counter()
        first = None
        text = ""
        error = ""
        sources: list[dict[str, Any]] = []
        try:
            response = self.engines[system].query(query)
            for piece in response.response_gen:  # type: ignore[union-attr]
                if first is None and piece:
                    first = time.perf_counter() - t
                text += piece
            for i, n in enumerate(response.source_nodes, 1):
                sources.append({"n": i, "source": n.node.metadata.get("file_name", ""), "text": n.node.get_content(), "score": n.score})
        except Exception as e:  # the peer's failures are results, not crashes of the eval
            error = f"{type(e).__name__}: {e}"[:300]
        total = time.perf_counter() - t
        gen_tokens = self.count_tokens(text)
        context_tokens = int(getattr(getattr(self.llm, "_model", None), "n_tokens", 0))  # prompt + reply tokens now in the model's context
        return {
            "case_id": case_id,
            "query": query,
            "system": system,
            "answer": text.strip(),
            "sources": sources,
            "ttft_s": first,
            "prompt_tokens": max(context_tokens - gen_tokens, 0),
            "total_s": total,
            "gen_tokens": gen_tokens,
            "decode_s": (total - first) if first else None,
            "error": error,
        }

    def summary(self) -> dict[str, Any]:
        from llama_index.core import Settings

        # Everything was passed explicitly: the global Settings must never have built a model.
        untouched = getattr(Settings, "_llm", None) is None and getattr(Settings, "_embed_model", None) is None
        out = {
            "import_s": self.import_s,
            "load_s": self.load_s,
            "index_s": self.index_s["stock"],
            "global_settings_untouched": untouched,
            "peak_rss_mb": peak_rss_mb(),
            "settings": {"similarity_top_k": 2, "citation_chunk_size": 512, "node_chunk_size": 1024},
        }
        if "tuned" in self.engines:
            from evals.peer_tuned import SETTINGS

            out.update(tuned_index_s=self.index_s["tuned"], tuned_settings=SETTINGS)
        return out


def _embedding(settings: PeerSettings) -> Any:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=settings.embedder_path, device="cpu")


def _llama_cpp(settings: PeerSettings) -> Any:
    """The same GGUF as ours, ChatML, greedy."""
    import os

    from llama_index.llms.llama_cpp import LlamaCPP

    return LlamaCPP(
        model_path=settings.model_path,
        temperature=0.0,
        max_new_tokens=settings.max_tokens,
        context_window=settings.n_ctx,
        generate_kwargs={"stop": STOP, "top_k": 1, "repeat_penalty": 1.0},
        model_kwargs={"n_gpu_layers": 0, "n_threads": settings.threads or os.cpu_count() or 2, "n_batch": 512, "seed": 0},
        messages_to_prompt=messages_to_prompt,
        completion_to_prompt=completion_to_prompt,
        verbose=False,
    )


def run_peer(settings: PeerSettings, queries: list[tuple[str, str]]) -> dict[str, Any]:
    """Answer `queries` ((case id, query text)) in this process; raw outputs and timings."""
    peer = Peer(settings)
    outputs = [peer.ask(cid, q) for cid, q in queries]
    return {"outputs": outputs, **peer.summary()}


def _serve(settings: PeerSettings, conn: Any) -> None:
    """Worker loop: build the peer, then answer (case id, query) messages until None."""
    try:
        peer = Peer(settings)
    except Exception as e:
        conn.send({"error": f"{type(e).__name__}: {e}"[:300]})
        return
    conn.send({"ready": True})
    while (msg := conn.recv()) is not None:
        conn.send(peer.ask(*msg))  # (case id, query) or (case id, query, system)
    conn.send(peer.summary())


class PeerProcess:
    """The peer in a fresh (spawned) process, asked one query at a time.

    Its imports and memory stay out of ours, and the eval can interleave it with our
    system case by case, so a busy neighbour on a shared machine slows both alike.
    """

    def __init__(self, settings: PeerSettings):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(settings, child), daemon=True)
        self.proc.start()
        first = self.conn.recv()
        if "error" in first:
            self.proc.join(timeout=10)
            from rag.errors import RagError

            raise RagError(f"the llama-index peer could not start: {first['error']}")

    def ask(self, case_id: str, query: str, system: str = "stock") -> dict[str, Any]:
        self.conn.send((case_id, query) if system == "stock" else (case_id, query, system))
        return self.conn.recv()

    def close(self) -> dict[str, Any]:
        """Stop the worker; returns its summary (load times, peak memory, Settings check)."""
        self.conn.send(None)
        summary = self.conn.recv()
        self.proc.join(timeout=30)
        return summary


def run_in_subprocess(settings: PeerSettings, queries: list[tuple[str, str]]) -> dict[str, Any]:
    """`run_peer` in a fresh process."""
    p = PeerProcess(settings)
    outputs = [p.ask(cid, q) for cid, q in queries]
    return {"outputs": outputs, **p.close()}


if __name__ == "__main__":  # a quick manual check: python -m evals.peer "question"
    import json
    import sys

    from index.embedding import packaged_minilm_path
    from rag.config import load_config
    from rag.models import bundled_gguf, packaged_model

    cfg = load_config()
    s = PeerSettings(str(cfg.corpus), str(bundled_gguf(cfg.models_dir, packaged_model(cfg.profile))), str(packaged_minilm_path()))
    print(json.dumps(run_peer(s, [("q", q) for q in sys.argv[1:]]), indent=1, default=str))
