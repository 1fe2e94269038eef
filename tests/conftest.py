"""Shared fixtures and discriminating fakes.

`HashEmbedder` gives different texts different vectors (a hashed bag of stemmed words),
so ranking bugs show; `ScriptedGenerator` replies from a queue and records every prompt.
"""

from __future__ import annotations

import os
import shutil
from collections import deque
from pathlib import Path

import pytest

from evals.loadtest import HashEmbedder as LoadtestHashEmbedder

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")


def sent(article: str, n: int, text: str):
    """An evidence sentence of article `article` (its offsets are those of the text alone)."""
    from rag.types import Sentence

    return Sentence(id=f"{article}#{n}", article_id=article, n=n, start=0, end=len(text), text=text)


class HashEmbedder(LoadtestHashEmbedder):
    """Bag of stemmed words hashed into 256 dims, L2-normalised. Deterministic, model-free
    (the load test's `--fake` embedder, under the tests' own name)."""

    name = "hash-bow"
    fingerprint = "hash-bow-v1"


class ScriptedGenerator:
    """Replies from a queue (or a function of the prompt); records the messages it got."""

    name = "scripted"

    def __init__(self, replies=()):
        self.replies = deque(replies)
        self.prompts: list[list[dict]] = []

    def enqueue(self, *replies):
        self.replies.extend(replies)

    def stream(self, messages, max_tokens=160):
        self.prompts.append(messages)
        reply = self.replies.popleft() if self.replies else "I don't know."
        if callable(reply):
            reply = reply(messages)
        for word in reply.split(" "):
            yield word + " "


@pytest.fixture
def hash_embedder():
    return HashEmbedder()


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS, dst)
    for p in dst.iterdir():
        p.chmod(0o644)
    return dst


def make_engine(corpus: Path, data_dir: Path, embedder, generator, **cfg_overrides):
    """An Engine over `corpus` with the given fakes (index built into `data_dir`)."""
    from index.store import build, load
    from rag.answer import Engine
    from rag.config import load_config
    from rag.verify import HeuristicVerifier

    cfg = load_config(overrides={"corpus": corpus, "data_dir": data_dir, **cfg_overrides}, env={})
    build(corpus, cfg.index_dir, embedder, cfg.chunk_size, cfg.chunk_overlap)
    store = load(cfg.index_dir, embedder.fingerprint, cfg.chunk_size, cfg.chunk_overlap)
    return Engine(store=store, embedder=embedder, generator=generator, verifier=HeuristicVerifier(embedder), config=cfg)


@pytest.fixture(scope="session")
def real_embedder():
    from index.embedding import MiniLMEmbedder

    return MiniLMEmbedder()


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """`rag ...` in-process with the hash embedder, no config file, no RAG_* environment."""
    import rag.cli
    import rag.wiring

    monkeypatch.setattr(rag.wiring, "build_embedder", lambda cfg: HashEmbedder())
    for k in list(os.environ):
        if k.startswith("RAG_"):
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    return rag.cli.main


def as_format_1(index_dir: Path) -> dict:
    """Rewrite the live version as main's code before format 2 wrote it (every file record in the
    manifest's "files", no per-segment record files, no name digests); returns that manifest."""
    import json

    from index import layout

    root = Path(index_dir).resolve()
    m = json.loads((root / "manifest.json").read_text())
    m["files"] = layout.read_records(root, m)
    for i, seg in enumerate(m["segments"]):
        seg.pop("names")
        (root / layout.records_file(i)).unlink()
    m.pop("last_file")
    m["format"] = 1
    (root / "manifest.json").write_text(json.dumps(m))
    return m
