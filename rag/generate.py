"""Text generators behind one protocol: a local GGUF through llama.cpp, or an
OpenAI-compatible HTTP server. Both stream; both turn every failure into a RagError.

Messages are role/content dicts. The model is greedy (temperature 0) so answers are
repeatable; llama.cpp reuses its KV cache for the longest shared prompt prefix, so the
fixed instructions + few-shot part of the prompt is paid for once per process.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from rag.errors import RagError

log = logging.getLogger(__name__)

Message = dict[str, str]
STOP = ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]


class Generator(Protocol):
    name: str

    def stream(self, messages: list[Message], max_tokens: int = 160) -> Iterator[str]:
        """Yield the reply in pieces as the model produces them."""
        ...


def complete(gen: Generator, messages: list[Message], max_tokens: int = 160) -> str:
    return "".join(gen.stream(messages, max_tokens))


class LlamaCppGenerator:
    """A GGUF model in-process. The chat template comes from the file unless given."""

    def __init__(self, path: Path, n_ctx: int = 4096, threads: int | None = None, chat_format: str | None = None, name: str | None = None):
        from rag.models import check_gguf

        path = check_gguf(path)
        try:
            from llama_cpp import Llama
        except ImportError:
            raise RagError("llama-cpp-python is not installed: run `make install`") from None
        try:
            self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads or os.cpu_count() or 2, n_batch=512,
                             chat_format=chat_format, verbose=False, seed=0)
        except (ValueError, RuntimeError, OSError) as e:
            raise RagError(f"could not load model {path.name}: {e}") from None
        self.name = name or path.name
        self.lock = threading.Lock()  # one request at a time uses the model

    def stream(self, messages: list[Message], max_tokens: int = 160) -> Iterator[str]:
        with self.lock:
            out = self.llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0, top_k=1,
                                                  repeat_penalty=1.0, stop=STOP, stream=True)
            for part in out:
                piece = part["choices"][0]["delta"].get("content")  # type: ignore[index]
                if piece:
                    yield piece

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


class OpenAIGenerator:
    """Any OpenAI-compatible `/v1/chat/completions` endpoint (llama.cpp server, vLLM, Ollama, OpenAI)."""

    def __init__(self, url: str, model: str, api_key: str | None = None, connect_timeout: float = 5.0, read_timeout: float = 120.0):
        if not url:
            raise RagError("openai backend needs a server URL: set RAG_LLM_URL or --llm-url")
        self.url = url.rstrip("/")
        if not self.url.endswith("/v1"):
            self.url += "/v1"
        self.model = model or "default"
        self.name = f"openai:{self.model}"
        self._key = api_key
        self.timeouts = (connect_timeout, read_timeout)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIGenerator(url={self.url!r}, model={self.model!r})"

    def stream(self, messages: list[Message], max_tokens: int = 160) -> Iterator[str]:
        import httpx

        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0.0, "stream": True, "stop": STOP[:2]}
        timeout = httpx.Timeout(self.timeouts[1], connect=self.timeouts[0])
        where = f"LLM server {self.url}"
        try:
            with httpx.stream("POST", self.url + "/chat/completions", json=body, headers=headers, timeout=timeout) as r:
                if r.status_code >= 400:
                    detail = r.read().decode("utf-8", "replace")[:200].replace("\n", " ")
                    hint = " (check RAG_LLM_MODEL)" if r.status_code == 404 or "model" in detail.lower() else ""
                    raise RagError(f"{where} answered HTTP {r.status_code}{hint}: {detail}")
                for line in r.iter_lines():
                    line = line.strip()
                    if not line or not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    try:
                        piece = json.loads(data)["choices"][0].get("delta", {}).get("content")
                    except (json.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
                        raise RagError(f"{where} sent a malformed stream event: {data[:120]}") from None
                    if piece:
                        yield piece
        except httpx.ConnectError as e:
            raise RagError(f"{where} is not reachable ({e}); is it running?") from None
        except httpx.TimeoutException:
            raise RagError(f"{where} timed out (connect {self.timeouts[0]} s, read {self.timeouts[1]} s)") from None
        except httpx.HTTPError as e:
            raise RagError(f"{where} failed: {type(e).__name__}: {e}") from None
