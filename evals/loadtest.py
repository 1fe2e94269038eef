"""`make loadtest` (`python -m evals.loadtest`): many chat sessions at once while articles are added.

    python -m evals.loadtest                        # the real model: 20 sessions x 2 questions, 3 uploads
    python -m evals.loadtest --fake                 # an echoing answer function and a hashed embedder (seconds)
    python -m evals.loadtest --sessions 5 --questions 1 --uploads 1

The chat server is launched in this process on a free loopback port, over private copies of
the corpus and the index (the real corpus is never touched). Each session is its own Gradio
API client (its own session state) and asks its questions one after another, exactly as the
page does (`/accept`, then `/answer_next`); meanwhile another client adds articles, by upload
and by paste. It reports the p50/p95 queue wait (question sent → the model starts on it) and
answer time (model starts → final answer received), and the time to show a question in the
chat (`/accept`); and it checks that:

- no answer goes to the wrong session: every session's chat holds exactly its own questions
  (each names its session) and, after each, the answer the server produced for that question;
- no upload is lost: every added article is in the engine's store and in the index on disk;
- the server keeps serving: a fresh session's question is answered at the end.

Exit status 0 when every check holds. The report goes to evals/reports/loadtest.json (real
model; `--out` to choose) and the summary to stdout, with progress lines on stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

log = logging.getLogger("evals.loadtest")

ROOT = Path(__file__).resolve().parent.parent
HTTP_TIMEOUT_S = 300.0
QUESTIONS = (
    "What happened at the Karachi Police Office?",
    "How many attackers were killed?",
    "Where is the Karachi Police Office located?",
    "Who claimed responsibility for the attack?",
    "How many people were injured in the attack?",
    "When did the attack begin?",
)


class HashEmbedder:
    """A model-free embedder for `--fake`: hashed bag of stemmed words, L2-normalised."""

    name = "loadtest-hash"
    dim = 256
    fingerprint = "loadtest-hash-v1"

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        from index.lexical import tokens

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for tok in tokens(t) or [t.lower()]:
                h = int(hashlib.md5(tok.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0 if (h >> 8) & 1 else -1.0
            n = np.linalg.norm(out[i])
            if n:
                out[i] /= n
        if progress:
            progress(len(texts))
        return out


def echo_answer(delay_s: float = 0.01) -> Callable[..., Any]:
    """A fake answer function: streams a few words, then answers with the question itself."""
    from rag.types import Answer

    def answer_fn(question, history, on_token, should_stop):
        for word in ("Echo", "of", "the", "question"):
            if should_stop():
                break
            on_token(word + " ")
            time.sleep(delay_s)
        return Answer(question=question, answer=f"Echo: {question}", abstained=False, citations=(), model="echo")

    return answer_fn


@dataclass
class Recorder:
    """Wraps the answer function: when the model started and what it answered, per question."""

    answer_fn: Callable[..., Any]
    started: dict[str, float] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, question, history, on_token, should_stop):
        with self.lock:
            self.started[question] = time.monotonic()
        result = self.answer_fn(question, history, on_token, should_stop)
        with self.lock:
            self.answers[question] = result
        return result


# ---------------------------------------------------------------- the checks (pure)


def message_text(message: dict[str, Any]) -> str:
    """A Chatbot message's content as one string (Gradio returns a list of text parts)."""
    content = message.get("content", "")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def check_session(questions: Sequence[str], chat: Sequence[dict[str, Any]], answers: dict[str, Any]) -> list[str]:
    """What is wrong with one session's final chat (empty when nothing): it must hold exactly
    `questions`, in order, each followed by the answer the server produced for that question."""
    from ui.chat import Turn
    from ui.format import assistant_html

    users = [html.unescape(message_text(m)) for m in chat if m.get("role") == "user"]
    replies = [message_text(m) for m in chat if m.get("role") == "assistant"]
    if users != list(questions):
        return [f"the chat shows the questions {users!r}, not {list(questions)!r}"]
    problems = []
    for i, (q, reply) in enumerate(zip(questions, replies, strict=False)):
        produced = answers.get(q)
        if produced is None:
            problems.append(f"no answer was produced for {q!r}")
            continue
        expected = assistant_html(Turn(i, q, started=True, answer=produced), linked=i == len(questions) - 1)
        if reply != expected:
            problems.append(f"the answer shown after {q!r} is not the one produced for it: {re.sub(r'<[^>]+>', ' ', reply)[:160]!r}")
    if len(replies) != len(questions):
        problems.append(f"{len(replies)} answers for {len(questions)} questions")
    return problems


def summary(values: Sequence[float]) -> dict[str, float]:
    from evals.metrics import percentile

    if not values:
        return {}
    return {
        "n": len(values),
        "p50_s": round(percentile(values, 50), 3),
        "p95_s": round(percentile(values, 95), 3),
        "max_s": round(max(values), 3),
    }


# ---------------------------------------------------------------- the run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client_for(url: str) -> Any:
    """A Gradio API client (a session of its own) that waits for a busy server: httpx's
    default 5 s timeout fails requests on a loaded 2-core machine."""
    from gradio_client import Client

    return Client(url, verbose=False, httpx_kwargs={"timeout": HTTP_TIMEOUT_S})


def _progress(msg: str, *args: Any) -> None:
    log.info(msg, *args)


def upload_texts(n: int) -> list[tuple[str, str]]:
    """`n` distinct small articles: (title, text)."""
    towns = ["Keamari", "Lyari", "Korangi", "Malir", "Saddar", "Clifton", "Orangi", "Gulshan"]
    out = []
    for k in range(n):
        town = towns[k % len(towns)]
        out.append(
            (
                f"Load test article {k} {town}",
                f"The {town} council met on Monday to discuss load test item {k}. "
                f"Officials said {k + 3} new water pumps would be installed in {town} by June. "
                "Residents welcomed the decision.",
            )
        )
    return out


def run(
    answer_fn: Callable[..., Any],
    library: Any,
    sessions: int,
    questions: int,
    uploads: int,
    workdir: Path,
    timeout_s: float,
    store_on_disk: Callable[[], set[str]],
) -> dict[str, Any]:
    """Serve the page, run the sessions and the uploads at once, check, and report."""
    from gradio_client import handle_file

    from ui.app import build_ui, serve
    from ui.feedback import append_jsonl

    recorder = Recorder(answer_fn)
    demo = build_ui(recorder, library.articles, library.add, lambda r: append_jsonl(workdir / "feedback.jsonl", r))
    port = _free_port()
    serve(demo, "127.0.0.1", port, block=False)
    url = f"http://127.0.0.1:{port}/"
    accept_times: list[float] = []  # question sent -> shown in the chat
    waits: list[float] = []  # answer requested -> the model starts on it
    answer_times: list[float] = []
    problems: list[str] = []
    upload_results: list[tuple[str, str]] = []
    lock = threading.Lock()
    done = [0]
    total = sessions * questions

    def session(i: int) -> None:
        try:
            client = client_for(url)
            asked = []
            chat: list[dict[str, Any]] = []
            for j in range(questions):
                q = f"{QUESTIONS[(i + j) % len(QUESTIONS)]} (session {i}, question {j + 1})"
                t = time.monotonic()
                client.predict(q, api_name="/accept")
                asked.append(q)
                sent = time.monotonic()
                out = client.submit(api_name="/answer_next").result(timeout=timeout_s)
                got = time.monotonic()
                chat = out[0] if isinstance(out, list | tuple) else out
                started = recorder.started.get(q, got)
                with lock:
                    accept_times.append(sent - t)
                    waits.append(started - sent)
                    answer_times.append(got - started)
                    done[0] += 1
                    n = done[0]
                _progress(
                    "answered %d/%d (session %d, question %d): waited %.1f s, answer %.1f s",
                    n,
                    total,
                    i,
                    j + 1,
                    started - sent,
                    got - started,
                )
            found = check_session(asked, chat, recorder.answers)
            with lock:
                problems.extend(f"session {i}: {p}" for p in found)
        except Exception as e:  # one broken session is a finding, not a crash of the whole run
            with lock:
                problems.append(f"session {i}: {type(e).__name__}: {e}")

    def uploader() -> None:
        try:
            client = client_for(url)
            for k, (title, text) in enumerate(upload_texts(uploads)):
                if k % 2 == 0:
                    path = workdir / "uploads" / f"loadtest_upload_{k}.txt"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(f"{title}\n\n{text}\n", encoding="utf-8")
                    msg = client.predict(handle_file(str(path)), api_name="/add_file")[0]
                else:
                    msg = client.predict(title, "2024-05-0" + str(1 + k % 9), text, api_name="/add_pasted")[0]
                m = re.match(r"Added (\S+):", msg)
                with lock:
                    upload_results.append((m.group(1) if m else "", msg))
                _progress("upload %d/%d: %s", k + 1, uploads, msg[:100])
        except Exception as e:
            with lock:
                problems.append(f"uploads: {type(e).__name__}: {e}")

    t0 = time.monotonic()
    threads = [threading.Thread(target=session, args=(i,), name=f"session-{i}") for i in range(sessions)]
    threads.append(threading.Thread(target=uploader, name="uploader"))
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        _progress("all sessions done in %.1f s; a final question from a new session", elapsed)
        final_q = f"{QUESTIONS[0]} (final check)"
        final_ok = False
        try:
            client = client_for(url)
            client.predict(final_q, api_name="/accept")
            out = client.submit(api_name="/answer_next").result(timeout=timeout_s)
            final_problems = check_session([final_q], out[0], recorder.answers)
            problems.extend(f"final question: {p}" for p in final_problems)
            final_ok = not final_problems
        except Exception as e:
            problems.append(f"final question: {type(e).__name__}: {e}")
    finally:
        demo.close()
    added = {name for name, _ in upload_results if name}
    for name, msg in upload_results:
        if not name:
            problems.append(f"an upload was not added: {msg}")
    if len(upload_results) != uploads:
        problems.append(f"{len(upload_results)} of {uploads} uploads finished")
    in_store = {a.id for a in library.articles()}
    on_disk = store_on_disk()
    for name in sorted(added):
        if name not in in_store:
            problems.append(f"uploaded {name} is missing from the engine's store")
        if name not in on_disk:
            problems.append(f"uploaded {name} is missing from the index on disk")
    return {
        "sessions": sessions,
        "questions_per_session": questions,
        "uploads": uploads,
        "answered": len(answer_times),
        "seconds": round(elapsed, 1),
        "accept_time": summary(accept_times),
        "queue_wait": summary(waits),
        "answer_time": summary(answer_times),
        "uploads_added": sorted(added),
        "final_question_answered": final_ok,
        "problems": problems,
        "ok": not problems,
    }


def _fake_setup(workdir: Path) -> tuple[Callable[..., Any], Any, Callable[[], set[str]]]:
    from rag.config import load_config
    from rag.wiring import build_index, load_store
    from ui.corpus import Library

    cfg = _private_config(load_config(env={}).corpus, workdir, env={})
    embedder = HashEmbedder()
    build_index(cfg, embedder=embedder)
    engine = SimpleNamespace(store=load_store(cfg, embedder), embedder=embedder)
    return echo_answer(), Library(cfg, engine), lambda: set(load_store(cfg, embedder).articles)


def _real_setup(workdir: Path) -> tuple[Callable[..., Any], Any, Callable[[], set[str]]]:
    from rag.answer import answer
    from rag.config import load_config
    from rag.wiring import build_engine, build_generator, build_index, load_store
    from ui.corpus import Library

    user_cfg = load_config()
    cfg = _private_config(user_cfg.corpus, workdir)  # the user's settings (env, rag.toml), private paths
    _progress("indexing a private copy of %s", user_cfg.corpus)
    build_index(cfg)
    engine = build_engine(cfg, generator=build_generator(user_cfg))  # the model files stay where they are

    def answer_fn(question, history, on_token, should_stop):
        return answer(question, engine, history=history, on_token=on_token, should_stop=should_stop)

    return answer_fn, Library(cfg, engine), lambda: set(load_store(cfg, engine.embedder).articles)


def _private_config(source: Path, workdir: Path, env: dict[str, str] | None = None) -> Any:
    """The config (from `env`; None: the process's) over a copy of `source` and an index of
    its own, both under `workdir`."""
    from rag.config import load_config

    corpus = workdir / "corpus"
    shutil.copytree(source, corpus)
    for p in corpus.iterdir():
        p.chmod(0o644)
    overrides = {"corpus": corpus, "data_dir": workdir / "data", "feedback_file": workdir / "feedback.jsonl"}
    return load_config(overrides=overrides, env=env)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.loadtest", description=__doc__.split("\n")[0])
    p.add_argument("--fake", action="store_true", help="an echoing answer function and a hashed embedder instead of the models")
    p.add_argument("--sessions", type=int, default=20, help="chat sessions at once (default 20)")
    p.add_argument("--questions", type=int, default=2, help="questions per session, asked one after another (default 2)")
    p.add_argument("--uploads", type=int, default=3, help="articles added while the sessions ask (default 3)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for one answer (default 3600)")
    p.add_argument("--out", type=Path, help="report JSON (default evals/reports/loadtest.json; none with --fake)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    for k, v in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}.items():
        os.environ.setdefault(k, v)
    with tempfile.TemporaryDirectory(prefix="rag-loadtest-") as tmp:
        workdir = Path(tmp)
        answer_fn, library, on_disk = (_fake_setup if a.fake else _real_setup)(workdir)
        _progress("%d sessions x %d questions, %d uploads (%s)", a.sessions, a.questions, a.uploads, "fake" if a.fake else "real model")
        report = run(answer_fn, library, a.sessions, a.questions, a.uploads, workdir, a.timeout, on_disk)
    report["mode"] = "fake" if a.fake else "real"
    out = a.out or (None if a.fake else ROOT / "evals" / "reports" / "loadtest.json")
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")
    c, w, t = report["accept_time"], report["queue_wait"], report["answer_time"]
    print(f"{report['answered']} answers in {report['seconds']} s ({report['sessions']} sessions x {report['questions_per_session']})")
    print(f"question shown in the chat: p50 {c.get('p50_s')} s, p95 {c.get('p95_s')} s")
    print(f"queue wait:  p50 {w.get('p50_s')} s, p95 {w.get('p95_s')} s, max {w.get('max_s')} s")
    print(f"answer time: p50 {t.get('p50_s')} s, p95 {t.get('p95_s')} s, max {t.get('max_s')} s")
    print(f"uploads added and indexed: {len(report['uploads_added'])}/{report['uploads']}")
    print(f"final question answered: {report['final_question_answered']}")
    for problem in report["problems"]:
        print(f"PROBLEM: {problem}")
    print("OK: no answer in the wrong session, no upload lost, still serving" if report["ok"] else "FAILED")
    if out:
        print(f"wrote {out}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
