"""Text generators behind one protocol: a local GGUF through llama.cpp, or an
OpenAI-compatible HTTP server. Both stream; both turn every failure into a RagError
with a one-line message, also when it happens halfway through a stream.

Messages are role/content dicts. The model is greedy (temperature 0) so answers are
repeatable; llama.cpp reuses its KV cache for the longest shared prompt prefix, so the
fixed instructions + few-shot part of the prompt is paid for once per process.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from rag.config import redact_url
from rag.errors import RagError

log = logging.getLogger(__name__)

Message = dict[str, str]
STOP = ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]
MAX_JSON_REPLY = 8 << 20  # a whole (non-streamed) reply larger than this is not an answer


class Generator(Protocol):
    name: str

    def stream(self, messages: list[Message], max_tokens: int = 160) -> Iterator[str]:
        """Yield the reply in pieces as the model produces them."""
        ...


def complete(gen: Generator, messages: list[Message], max_tokens: int = 160) -> str:
    return "".join(gen.stream(messages, max_tokens))


def gguf_path(generator: Any) -> str | None:
    """The GGUF file a llama.cpp generator runs (also inside a wrapper that keeps it as
    `.inner`, such as the eval's recorder), or None for any other generator."""
    while generator is not None and getattr(generator, "llm", None) is None:
        generator = getattr(generator, "inner", None)
    return getattr(getattr(generator, "llm", None), "model_path", None) or None


def one_line(text: object, limit: int = 240, secret: str | None = None) -> str:
    """`text` as one short line, with `secret` masked: error messages must never span lines
    or show an API key, even when a server echoes one back.

    >>> one_line("a\\n  b", secret="b")
    'a ***'
    """
    s = str(text)
    if secret:
        s = s.replace(secret, "***")
    s = re.sub(r"\s+", " ", s).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


class LlamaCppGenerator:
    """A GGUF model in-process. The chat template comes from the file's metadata unless given."""

    def __init__(
        self,
        path: Path,
        n_ctx: int = 4096,
        threads: int | None = None,
        chat_format: str | None = None,
        name: str | None = None,
        cache_dir: Path | None = None,
    ):
        """`cache_dir` keeps the KV state of the fixed prompt prefix between processes (see `rag.kvcache`)."""
        from rag.models import check_gguf

        path = check_gguf(path)
        try:
            from llama_cpp import Llama
        except ImportError:
            raise RagError("llama-cpp-python is not installed: run `make install`") from None
        try:
            self.llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads or os.cpu_count() or 2,
                n_batch=512,
                flash_attn=True,  # ~7% faster prompt reading on 2 CPU cores (measured: 157 -> 168 tok/s)
                chat_format=chat_format,
                verbose=False,
                seed=0,
            )
        except (ValueError, RuntimeError, OSError) as e:
            raise RagError(f"could not load model {path}: {one_line(e)} (is it a complete GGUF file?)") from None
        if chat_format is None and "tokenizer.chat_template" not in (self.llm.metadata or {}):
            log.warning("%s has no chat template in its metadata; llama.cpp falls back to %s", path.name, self.llm.chat_format)
        self.name = name or path.name
        self.n_ctx = n_ctx
        self.lock = threading.Lock()  # one request at a time uses the model
        self.prefix_cache = None
        if cache_dir is not None:
            from rag.kvcache import PrefixCache

            self.prefix_cache = PrefixCache(
                cache_dir, path, f"n_ctx={n_ctx}:n_batch={self.llm.n_batch}:flash_attn:format={self.llm.chat_format}"
            )
        self.prefix_state = ""  # how the prompt prefix got into the KV cache: loaded, saved or computed

    def _warm_prefix(self, messages: list[Message]) -> None:
        """Once per process: the fixed prompt prefix's KV state from disk, or computed and saved there."""
        from rag.kvcache import MIN_PREFIX_TOKENS, fixed_prefix

        try:
            tokens = fixed_prefix(self.llm, messages)
            if len(tokens) >= MIN_PREFIX_TOKENS and self.prefix_cache:
                self.prefix_state = self.prefix_cache.warm(self.llm, tokens)
                log.debug("prompt prefix of %d tokens %s", len(tokens), self.prefix_state)
        except Exception as e:  # noqa: BLE001 - the cache only saves time; answering goes on without it
            log.info("prompt cache unavailable: %s", one_line(e))
            self.llm.reset()
        finally:
            self.prefix_state = self.prefix_state or "off"

    def stream(self, messages: list[Message], max_tokens: int = 160) -> Iterator[str]:
        from rag.markers import defused_for

        # The chat handler tokenizes the whole rendered prompt with special tokens on: no text
        # inside a message may spell one of the vocabulary's control tokens (rag/markers.py).
        messages = [{**m, "content": defused_for(self.llm, m["content"])} for m in messages]
        with self.lock:
            if self.prefix_cache is not None and not self.prefix_state:
                self._warm_prefix(messages)
            try:
                out: Any = self.llm.create_chat_completion(
                    messages=messages,  # type: ignore[arg-type]
                    max_tokens=max_tokens,
                    temperature=0.0,
                    top_k=1,
                    repeat_penalty=1.0,
                    stop=STOP,
                    stream=True,
                )
                for part in out:
                    piece = part["choices"][0]["delta"].get("content")
                    if piece:
                        yield str(piece)
            except (ValueError, RuntimeError, KeyError, IndexError, TypeError) as e:
                msg = one_line(e)
                if "context window" in msg or "exceed" in msg:
                    raise RagError(f"the prompt does not fit the model's context ({self.n_ctx} tokens): {msg}") from None
                raise RagError(f"model {self.name} failed while answering: {type(e).__name__}: {msg}") from None

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def _base_url(url: str) -> str:
    """The API base ending before `/chat/completions`: a bare host gets `/v1`, a full
    endpoint URL is trimmed, any other path (Azure, OpenRouter, a proxy) is kept."""
    url = (url or "").strip()
    if not url:
        raise RagError("the openai backend needs a server URL: set RAG_LLM_URL or --llm-url (e.g. http://127.0.0.1:8080/v1)")
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise RagError(f"LLM server URL must look like http://HOST:PORT/v1 (got {one_line(redact_url(url), 80)!r})")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise RagError(f"LLM server URL has an invalid port: {one_line(redact_url(url), 80)!r}") from None
    url = url.rstrip("/")
    for tail in ("/chat/completions", "/completions"):
        if url.endswith(tail):
            url = url[: -len(tail)]
    return url if urlsplit(url).path not in ("", "/") else url + "/v1"


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


class OpenAIGenerator:
    """Any OpenAI-compatible `/v1/chat/completions` endpoint (llama.cpp server, vLLM, Ollama, OpenAI).

    Streams with server-sent events; a server that ignores `stream` and sends one JSON reply
    works too. `connect_timeout` bounds reaching the server; `read_timeout` bounds every wait
    for more of the answer (so a server that stalls mid-stream, or only sends keep-alive
    pings, fails after that long instead of hanging). With no model name, a server that
    serves exactly one model is asked for its name.
    """

    def __init__(
        self,
        url: str,
        model: str = "",
        api_key: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        allow_insecure_key: bool = False,
    ):
        """The API key is sent only over https or to a loopback host; to plain http elsewhere
        only with `allow_insecure_key` (`llm_allow_insecure_key = true`), else a warning says why not."""
        self.url = _base_url(url)
        self.shown_url = redact_url(self.url)  # for messages and logs: never a user:password
        self.model = (model or "").strip()
        self._key = (api_key or "").strip() or None
        given = self._key
        self._withheld = False  # a key was configured but not sent (plain http to another machine)
        if self._key and (not self._key.isascii() or any(c.isspace() for c in self._key)):
            raise RagError("the LLM API key contains spaces or non-ASCII characters: check RAG_LLM_API_KEY / OPENAI_API_KEY")
        if self._key and urlsplit(self.url).scheme == "http" and not _is_loopback(self.url) and not allow_insecure_key:
            log.warning(
                "not sending the API key to %s: plain http to another machine would expose it "
                "(use https, or set llm_allow_insecure_key = true to send it anyway)",
                self.shown_url,
            )
            self._key, self._withheld = None, True
        userinfo = urlsplit(self.url).netloc.rpartition("@")[0]
        self._secrets = [s for s in (given, userinfo, urlsplit(self.url).password) if s]
        if connect_timeout <= 0 or read_timeout <= 0:
            raise RagError("connect_timeout and read_timeout must be positive numbers of seconds")
        self.timeouts = (float(connect_timeout), float(read_timeout))
        self.where = f"LLM server {self.shown_url}"
        if not self.model:
            self._guess_model()

    @property
    def name(self) -> str:
        return f"openai:{self.model or 'default'}"

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIGenerator(url={self.shown_url!r}, model={self.model!r})"

    def _fail(self, what: str) -> RagError:
        text = f"{self.where} {what}"
        for secret in self._secrets:  # a server or library may echo the key or the URL's password
            text = text.replace(secret, "***")
        return RagError(one_line(text, 400))

    def stream(self, messages: list[Message], max_tokens: int = 160) -> Iterator[str]:
        try:
            import httpx
        except ImportError:
            raise RagError("httpx is not installed: run `make install`") from None
        connect_s, read_s = self.timeouts
        try:
            with self._client(read_s) as client:
                if not self.model:
                    self.model = self._only_model(client)
                body = {
                    "model": self.model,
                    "messages": messages,
                    "max_tokens": max_tokens,
                    "temperature": 0.0,
                    "stream": True,
                    "stop": STOP[:2],
                }
                log.debug("POST %s/chat/completions model=%s max_tokens=%d", self.shown_url, self.model, max_tokens)
                with client.stream("POST", self.url + "/chat/completions", json=body) as resp:
                    if resp.status_code >= 400:
                        raise self._http_error(client, resp)
                    yield from self._reply(resp.iter_text(), max_tokens)
        except RagError:
            raise
        except httpx.ConnectTimeout:
            raise self._fail(f"did not accept a connection within {connect_s:g} s (connect_timeout); is the address right?") from None
        except httpx.ConnectError as e:
            raise self._fail(f"is not reachable ({one_line(e, 120)}); is it running?") from None
        except httpx.TimeoutException:
            raise self._fail(f"sent nothing for {read_s:g} s (read_timeout); it may be overloaded or stuck") from None
        except httpx.RemoteProtocolError as e:
            raise self._fail(f"closed the connection before the reply was complete ({one_line(e, 120)})") from None
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as e:
            raise self._fail(f"failed: {type(e).__name__}: {one_line(e, 160)}") from None

    def _reply(self, chunks: Iterable[str], max_tokens: int) -> Iterator[str]:
        """Pieces of the answer from the response text: an SSE stream, or one JSON object."""
        deadline_gap = self.timeouts[1]
        last = time.monotonic()  # when the answer last grew (pings and empty events do not count)
        buf, mode, pieces, done, size = "", "", 0, False, 0
        body: list[str] = []  # a whole JSON reply, as it arrives
        event: list[str] = []  # data lines of the SSE event being read
        limit = 2 * max_tokens + 32  # a server that ignores max_tokens is cut off, not followed forever
        for chunk in chunks:
            if time.monotonic() - last > deadline_gap:
                raise self._fail(f"sent no answer text for {deadline_gap:g} s (read_timeout); it may be stuck")
            if not mode:
                head = (buf + chunk).lstrip()
                if not head:
                    buf += chunk
                    continue
                mode = "json" if head.startswith(("{", "[")) else "sse"
            if mode == "json":
                body.append(chunk)
                size += len(chunk)
                if size > MAX_JSON_REPLY:
                    raise self._fail("sent a JSON reply too large to be an answer")
                continue
            buf += chunk
            *lines, buf = buf.split("\n")
            for line in lines:
                for piece in self._sse_line(line.rstrip("\r"), event):
                    if piece is None:
                        done = True
                        break
                    pieces += 1
                    last = time.monotonic()
                    yield piece
                if done or pieces >= limit:
                    break
            if done:
                return
            if pieces >= limit:
                log.warning("%s sent more than %d pieces for max_tokens=%d; the answer was cut there", self.where, limit, max_tokens)
                return
        if mode == "json":
            text = self._json_reply(buf + "".join(body))
            if text:
                yield text
            return
        if not mode:
            raise self._fail("sent an empty reply")
        for piece in (*self._sse_line(buf.rstrip("\r"), event), *self._sse_line("", event)):
            if piece is None:
                return
            pieces += 1
            yield piece
        if pieces == 0 and not done:
            raise self._fail("ended the stream without an answer or a [DONE] event")

    def _sse_line(self, line: str, event: list[str]) -> list[str | None]:
        """Feed one SSE line; returns the pieces of a completed event (None marks `[DONE]`).
        `event` collects the data lines of the event being read."""
        if not line.strip():
            if not event:
                return []
            data = "\n".join(event)
            event.clear()
            return [None] if data.strip() == "[DONE]" else self._event_pieces(data)
        if line.startswith(":"):
            return []  # a comment, e.g. a keep-alive ping
        field, _, value = line.partition(":")
        if field == "data":
            event.append(value[1:] if value.startswith(" ") else value)
            return []
        if field in ("event", "id", "retry") and _:
            return []
        raise self._fail(f"sent something that is not an event stream: {one_line(line, 120)!r}")

    def _event_pieces(self, data: str) -> list[str | None]:
        try:
            obj = json.loads(data)
        except json.JSONDecodeError:
            raise self._fail(f"sent a malformed stream event (not JSON): {one_line(data, 120)!r}") from None
        if isinstance(obj, dict) and obj.get("error"):
            raise self._fail(f"reported an error mid-answer: {_error_text(obj)}")
        try:
            choices = obj["choices"]
            if not choices:
                return []  # e.g. a usage-only event
            choice = choices[0]
            piece = (choice.get("delta") or {}).get("content")
            if piece is None:
                piece = choice.get("text")  # some servers stream completion-style events
        except (KeyError, IndexError, TypeError, AttributeError):
            raise self._fail(f"sent a stream event without choices[0].delta: {one_line(data, 120)!r}") from None
        if piece is not None and not isinstance(piece, str):
            raise self._fail(f"sent a stream event whose content is not text: {one_line(data, 120)!r}")
        return [piece] if piece else []

    def _json_reply(self, text: str) -> str:
        """The answer from a whole (non-streamed) chat completion."""
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            raise self._fail(f"sent malformed JSON: {one_line(text, 120)!r}") from None
        if isinstance(obj, dict) and obj.get("error"):
            raise self._fail(f"reported an error: {_error_text(obj)}")
        try:
            choice = obj["choices"][0]
            content = (choice.get("message") or {}).get("content")
            if content is None:
                content = choice.get("text")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise self._fail(f"sent JSON without choices[0].message: {one_line(text, 120)!r}") from None
        if not isinstance(content, str):
            raise self._fail("sent a reply with no text content")
        log.info("%s ignored stream=true and sent one JSON reply", self.where)
        return content

    def _http_error(self, client: Any, resp: Any) -> RagError:
        """One line for an HTTP error status, with the server's own message and a hint."""
        try:
            raw = resp.read()[:4000].decode("utf-8", "replace")
        except Exception:  # the body is only decoration for the message
            raw = ""
        try:
            detail = _error_text(json.loads(raw))
        except (json.JSONDecodeError, ValueError):
            detail = raw
        detail = one_line(detail, 200) or resp.reason_phrase
        status = resp.status_code
        hint = ""
        if status in (401, 403):
            if self._withheld:
                hint = "the API key was not sent over plain http: use https, or set llm_allow_insecure_key = true"
            else:
                hint = (
                    "check RAG_LLM_API_KEY / OPENAI_API_KEY" if self._key else "no API key was sent: set RAG_LLM_API_KEY or OPENAI_API_KEY"
                )
        elif status in (400, 404, 422) and "model" in detail.lower():
            served = self._served_models(client)
            hint = f"model {self.model!r} is not served" + (f"; it serves: {', '.join(served[:5])}" if served else "")
            hint += "; set RAG_LLM_MODEL or --llm-model"
        elif status == 404:
            hint = "no chat completions endpoint there: RAG_LLM_URL should be the API base, usually ending in /v1"
        elif status == 429:
            hint = "rate limited or out of quota"
        elif status >= 500:
            hint = "the server failed; see its log"
        return self._fail(f"answered HTTP {status}: {detail}" + (f" ({hint})" if hint else ""))

    def _served_models(self, client: Any) -> list[str]:
        """Model ids from `GET /models`, or [] when the server does not say."""
        try:
            resp = client.get(self.url + "/models")
            data = resp.json().get("data") if resp.status_code == 200 else None
            return [str(m["id"]) for m in data or [] if isinstance(m, dict) and "id" in m]
        except Exception:  # only used to improve a message or pick a default
            return []

    def _client(self, read_timeout: float) -> Any:
        import httpx

        headers = {"Accept": "text/event-stream, application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        timeout = httpx.Timeout(read_timeout, connect=self.timeouts[0])
        # A proxy from the environment is for reaching remote servers, never loopback.
        return httpx.Client(timeout=timeout, headers=headers, trust_env=not _is_loopback(self.url))

    def _guess_model(self) -> None:
        """Learn the model name early (so `name` is right from the first answer) when the
        server serves exactly one; any problem is left for `stream` to report."""
        try:
            with self._client(min(self.timeouts[1], 10.0)) as client:
                served = self._served_models(client)
        except Exception:  # a best-effort look-up; stream() reports real faults
            return
        if len(served) == 1:
            self.model = served[0]

    def _only_model(self, client: Any) -> str:
        """With no model configured: the server's one model, or a clear error if it has several."""
        served = self._served_models(client)
        if len(served) > 1:
            raise self._fail(f"serves several models ({', '.join(served[:5])}): choose one with RAG_LLM_MODEL or --llm-model")
        return served[0] if served else "default"


def _error_text(obj: Any) -> str:
    """The message inside the error shapes servers use: OpenAI/llama.cpp `{"error": {"message"}}`,
    Ollama `{"error": "..."}`, vLLM `{"message": ...}`, FastAPI `{"detail": ...}`."""
    if not isinstance(obj, dict):
        return str(obj)
    err = obj.get("error")
    if isinstance(err, dict):
        return str(err.get("message") or err)
    if err:
        return str(err)
    for key in ("message", "detail"):
        if obj.get(key):
            return str(obj[key])
    return json.dumps(obj)[:200]
