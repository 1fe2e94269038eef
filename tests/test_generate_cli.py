"""`rag ask` end to end with each generator backend, as a user runs it (a subprocess).

Faults must end with exit code 2 and exactly one stderr line `error: ...` (no traceback).
The `models`-marked tests run real models: the SmolLM2 GGUF through `--backend gguf`, and
the same file served by llama-cpp-python's OpenAI-compatible server through `--backend openai`.
All of them share one index built with `rag index` over the bundled corpus in a temp folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from test_backends import FakeLLM, event, free_port

from rag.models import smollm_gguf

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
QUESTION = "On which road is the Karachi Police Office?"  # one article sentence answers it directly
KEY = "sk-cli-test-key-5f3a9c"


def rag(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the CLI with a clean environment (no RAG_* or key from the developer's shell)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") and k != "OPENAI_API_KEY"}
    base.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT), **(env or {}))
    # The timeout only guards the test run against a hang; it is not what is being tested.
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *map(str, args)], cwd=cwd, env=base, capture_output=True, text=True, timeout=600
    )


def one_error_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-2000:]
    assert "Traceback" not in r.stderr and r.stdout == ""
    return lines[0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("data")
    r = rag("--data-dir", d, "index", CORPUS, cwd=d)
    assert r.returncode == 0, r.stderr
    return d


def ask(data_dir: Path, *flags: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return rag("--data-dir", data_dir, "ask", *flags, QUESTION, cwd=data_dir, env=env)


# --- the openai backend against fake servers


def test_server_down(data_dir):
    url = f"http://127.0.0.1:{free_port()}/v1"
    line = one_error_line(ask(data_dir, "--backend", "openai", "--llm-url", url, "--llm-model", "m"))
    assert line.startswith(f"error: LLM server {url} is not reachable") and "is it running?" in line


def test_http_500(data_dir):
    with FakeLLM(lambda h: h.send_json(500, {"error": {"message": "internal failure\nwith a second line"}})) as srv:
        line = one_error_line(ask(data_dir, "--backend", "openai", "--llm-url", srv.url, "--llm-model", "smol"))
    assert "HTTP 500: internal failure with a second line" in line


def test_wrong_model_name(data_dir):
    err = {"object": "error", "message": "The model `big` does not exist.", "type": "NotFoundError", "code": 404}
    with FakeLLM(lambda h: h.send_json(404, err)) as srv:
        line = one_error_line(ask(data_dir, "--backend", "openai", "--llm-url", srv.url, "--llm-model", "big"))
    assert "model 'big' is not served; it serves: smol" in line


def test_stall_mid_stream_with_read_timeout_from_env(data_dir):
    def reply(h):
        h.start_sse()
        h.write(event("The office is on "))
        h.stall(30)

    with FakeLLM(reply) as srv:
        env = {"RAG_READ_TIMEOUT": "1", "RAG_LLM_API_KEY": KEY}
        line = one_error_line(ask(data_dir, "--backend", "openai", "--llm-url", srv.url, "--llm-model", "smol", env=env))
    assert "read_timeout" in line and KEY not in line
    assert srv.requests[-1]["headers"]["Authorization"] == f"Bearer {KEY}"


def test_malformed_stream(data_dir):
    def reply(h):
        h.start_sse()
        h.write("data: {'choices': oops}\n\n")

    with FakeLLM(reply) as srv:
        line = one_error_line(ask(data_dir, "--backend", "openai", "--llm-url", srv.url))
    assert "malformed stream event" in line


def test_a_fake_answer_goes_through_verification(data_dir):
    """A server that answers with the first excerpt it was sent, word for word: the CLI prints
    that answer with a citation whose quote is the article text at its offsets (exit 0)."""
    sent: list[str] = []

    def reply(h):
        prompt = h.server.requests[-1]["body"]["messages"][-1]["content"]
        first = re.search(r"^\[1\] (.+)$", prompt, re.M)
        sent.append(first.group(1) if first else "I don't know.")
        h.sse([sent[-1][:30], sent[-1][30:]])

    with FakeLLM(reply) as srv:
        r = ask(data_dir, "--json", "--backend", "openai", "--llm-url", srv.url)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["model"] == "openai:smol" and d["draft"] == sent[0] and srv.requests[-1]["body"]["stream"] is True
    assert not d["abstained"] and d["citations"], d
    check_citations(d)


def test_rag_config_masks_the_key(tmp_path):
    r = rag("config", cwd=tmp_path, env={"OPENAI_API_KEY": KEY, "RAG_BACKEND": "openai", "RAG_LLM_URL": "http://127.0.0.1:1/v1"})
    assert r.returncode == 0, r.stderr
    assert KEY not in r.stdout + r.stderr
    assert "llm_api_key = '(set)'    # env OPENAI_API_KEY" in r.stdout


# --- the gguf backend


def test_gguf_path_missing(data_dir):
    line = one_error_line(ask(data_dir, "--backend", "gguf", "--model", str(data_dir / "missing.gguf")))
    assert line == f"error: model file not found: {data_dir / 'missing.gguf'}"


def test_gguf_path_not_a_gguf(data_dir):
    fake = data_dir / "notes.gguf"
    fake.write_text("this is not a model\n")
    line = one_error_line(ask(data_dir, "--backend", "gguf", "--model", str(fake)))
    assert line == f"error: not a GGUF model file: {fake}"


@pytest.mark.models
def test_gguf_backend_answers_with_a_local_file(data_dir):
    gguf = smollm_gguf()
    r = ask(data_dir, "--json", "--backend", "gguf", "--model", str(gguf))
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(r.stdout)
    assert d["model"] == gguf.name and d["draft"].strip()
    check_citations(d)


# --- a real OpenAI-compatible server: llama-cpp-python serving SmolLM2


def check_citations(d: dict) -> None:
    """Every citation quotes its article's text (as read and indexed) exactly at its offsets."""
    from index.reading import read_article

    for c in d["citations"]:
        text = read_article(CORPUS / c["source"]).text
        assert text[c["start"] : c["end"]] == c["quote"], c
        assert c["quote"] in (CORPUS / c["source"]).read_text(encoding="utf-8")


def wait_until_serving(url: str, proc: subprocess.Popen, log: Path, limit_s: float = 300) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/models", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"llama_cpp.server did not answer /v1/models within {limit_s} s: {log.read_text()[-2000:]}")


@pytest.mark.models
def test_real_llama_cpp_server(data_dir, tmp_path):
    """The product's own reader served by llama.cpp's OpenAI-compatible server. (SmolLM2-135M's
    drafts add unsupported words, which the verifier rightly refuses, so it cannot show a cited
    answer arriving over the wire.)"""
    from rag.models import bundled_gguf

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    log = tmp_path / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(bundled_gguf(ROOT / "data" / "models")),
        "--model_alias",
        "qwen",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_until_serving(url, proc, log)
        r = ask(data_dir, "--json", "--backend", "openai", "--llm-url", url, "--llm-model", "qwen")
        assert r.returncode == 0, r.stderr[-2000:]
        d = json.loads(r.stdout)
        assert d["model"] == "openai:qwen" and d["draft"].strip(), d
        assert not d["abstained"] and d["citations"], f"no cited answer; draft was {d['draft']!r}"
        assert "[1]" in d["answer"]
        check_citations(d)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    line = one_error_line(ask(data_dir, "--json", "--backend", "openai", "--llm-url", url, "--llm-model", "qwen"))
    assert line.startswith(f"error: LLM server {url} is not reachable")
