"""Hybrid retrieval at 100k and 1M sentences: the BM25 part of `retrieve()`, cold and warm.

The sentences are synthetic: the bundled corpora's sentences with their numbers and names
varied (names drawn from a pool of made-up ones), so the vocabulary grows the way a large
news corpus's does. The BM25 index is built and saved as `rag index` saves it
(`index/lexical.py`); then

- cold: a fresh process memory-maps the saved index and answers its first query (what a
  `rag ask` pays for BM25 on its first question), split into import, load and first query;
- warm: the p50/p95 of `BM25.search(question, 60)` (retrieval's pool) over eval questions.

The whole hybrid `retrieve()` call (BM25 + dense over sentences and windows, fusion) is timed
where its flat vector indexes fit the memory budget. Embedding this many sentences with the
real model would take hours, so the dense part uses random unit vectors (384-d, like MiniLM)
and a query embedder that returns random unit vectors: it costs what a real search costs,
it does not find anything meaningful.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals.bench_vectors import mem_available_bytes
from evals.metrics import percentile

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DIM = 384
_NUMBER = re.compile(r"\d+")
_NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]+")  # a capitalised word inside a sentence
_SYLLABLES = "ka ri mo sa te lu na vi do pe zu ha ro mi ta ke ya shi ab ur ol en".split()


def synthetic_sentences(corpus: Path, n: int, seed: int = 0) -> list[str]:
    """`n` sentences: those of `corpus` and the eval corpora, with every number and inner capitalised word replaced
    by a random number and a random made-up name (repeatable for a seed)."""
    from index.chunking import split
    from index.reading import read_folder

    folders = [Path(corpus), *sorted(p for p in (ROOT / "evals").glob("corpus_*") if p.is_dir())]
    templates = [s.text for f in folders for a in read_folder(f)[0] for s in split(a)]
    rng = np.random.default_rng(seed)
    pool = ["".join(rng.choice(_SYLLABLES, 3)).capitalize() for _ in range(20_000)]
    names = iter(rng.integers(0, len(pool), 40 * n).tolist())
    numbers = iter(rng.integers(1, 100_000, 20 * n).tolist())
    picks = rng.integers(0, len(templates), n).tolist()
    out = []
    for t in picks:
        s = _NUMBER.sub(lambda m: str(next(numbers)), templates[t])
        out.append(_NAME.sub(lambda m: pool[next(names)], s))
    return out


_COLD_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import bm25s  # noqa: F401
t1 = time.perf_counter()
from index.lexical import BM25
bm = BM25.load(sys.argv[1], int(sys.argv[2]))
t2 = time.perf_counter()
bm.search(sys.argv[3], 60)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "first_query_s": t3 - t2}))
"""


def _cold(folder: Path, n: int, question: str, runs: int) -> dict[str, float]:
    """Fresh processes: import bm25s, memory-map the saved index, answer one query (p50 of each)."""
    rows = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _COLD_PROBE, str(folder), str(n), question], capture_output=True, text=True, check=True, cwd=ROOT
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    p50 = {k: percentile([r[k] for r in rows], 50) for k in rows[0]}
    total = percentile([r["load_s"] + r["first_query_s"] for r in rows], 50)
    return {
        "cold_import_ms": round(p50["import_s"] * 1000, 1),
        "cold_load_ms": round(p50["load_s"] * 1000, 1),
        "cold_first_query_ms": round(p50["first_query_s"] * 1000, 1),
        "cold_p50_ms": round(total * 1000, 1),
    }


def _questions(k: int) -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "evals" / "cases.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if "question" in r][:k]


class _RandomEmbedder:
    """Random unit vectors (a fixed seed): the dense half's cost without a model."""

    name, fingerprint, dim = "random", "random", DIM

    def __init__(self) -> None:
        self._rng = np.random.default_rng(7)

    def embed(self, texts: list[str]) -> np.ndarray:
        x = self._rng.standard_normal((len(texts), DIM), dtype=np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)


def _store(texts: list[str], folder: Path, per_article: int = 20):
    """A Store over `texts` (articles of `per_article` sentences, windows of 3 overlapping by 1),
    random unit vectors in flat indexes, BM25 read from `folder` on first use."""
    from index import vectors
    from index.store import Store
    from rag.types import Article, Chunk, Sentence

    emb = _RandomEmbedder()
    articles, sentences, chunks = [], [], []
    for a0 in range(0, len(texts), per_article):
        aid = f"{a0 // per_article:07d}.txt"
        own = texts[a0 : a0 + per_article]
        text = " ".join(own)
        articles.append(Article(id=aid, title=aid, date=None, path=aid, text=text))
        pos, first = 0, len(sentences)
        for n, t in enumerate(own):
            sentences.append(Sentence(id=f"{aid}#{n}", article_id=aid, n=n, start=pos, end=pos + len(t), text=t))
            pos += len(t) + 1
        for n in range(0, max(len(own) - 1, 1), 2):
            w = sentences[first + n : first + n + 3]
            chunks.append(
                Chunk(id=f"{aid}@{n}", article_id=aid, sentence_ids=tuple(s.id for s in w), start=w[0].start, end=w[-1].end, text="")
            )
    si = vectors.build(_unit_rows(len(sentences)), "flat")
    ci = vectors.build(_unit_rows(len(chunks)), "flat")
    empty = np.zeros((0, DIM), np.float32)  # retrieve() searches the indexes only
    st = Store({}, articles, sentences, chunks, empty, empty, si, ci, version=folder.name, folder=folder)
    return st, emb


def _unit_rows(n: int, block: int = 100_000) -> np.ndarray:
    rng = np.random.default_rng(n)
    out = np.empty((n, DIM), dtype=np.float32)
    for i in range(0, n, block):
        x = rng.standard_normal((min(block, n - i), DIM), dtype=np.float32)
        out[i : i + len(x)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def bench_size(corpus: Path, n: int, n_queries: int = 50, cold_runs: int = 3, hybrid_budget_gib: float = 2.5) -> dict[str, Any]:
    """Build, save, cold and warm BM25 at `n` sentences; the whole hybrid call when it fits."""
    from index.lexical import BM25

    row: dict[str, Any] = {"n": n}
    t = time.perf_counter()
    texts = synthetic_sentences(corpus, n)
    row["generate_s"] = round(time.perf_counter() - t, 2)
    questions = _questions(n_queries)
    with tempfile.TemporaryDirectory(prefix="rag-bench-hybrid-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        bm = BM25.build(texts)
        row["build_s"] = round(time.perf_counter() - t, 2)
        row["vocabulary"] = len(bm.vocab)
        t = time.perf_counter()
        bm.save(folder)
        row["save_s"] = round(time.perf_counter() - t, 2)
        row["saved_mb"] = round(sum(f.stat().st_size for f in folder.glob("bm25.*")) / 1e6, 1)
        del bm
        gc.collect()
        row.update(_cold(folder, n, questions[0], cold_runs))
        bm = BM25.load(folder, n)
        bm.search(questions[0], 60)
        times = []
        for q in questions:
            t = time.perf_counter()
            bm.search(q, 60)
            times.append((time.perf_counter() - t) * 1000)
        row["warm_p50_ms"] = round(percentile(times, 50), 2)
        row["warm_p95_ms"] = round(percentile(times, 95), 2)
        del bm
        need = n * 1.5 * DIM * 4 * 2 + n * 600  # two flat copies of sentence + window vectors, and the Sentence objects
        avail = mem_available_bytes()
        budget = hybrid_budget_gib * 2**30
        if need > budget or (avail is not None and need > 0.5 * avail):
            row["hybrid_skipped"] = f"flat vectors need ~{need / 2**30:.1f} GiB (budget {hybrid_budget_gib} GiB)"
            return row
        from rag.retrieve import retrieve

        st, emb = _store(texts, folder)
        t = time.perf_counter()
        retrieve(st, emb, questions[0])  # the first question: maps the saved BM25
        row["hybrid_cold_ms"] = round((time.perf_counter() - t) * 1000, 1)
        times = []
        for q in questions:
            t = time.perf_counter()
            retrieve(st, emb, q)
            times.append((time.perf_counter() - t) * 1000)
        row["hybrid_warm_p50_ms"] = round(percentile(times, 50), 1)
        row["hybrid_warm_p95_ms"] = round(percentile(times, 95), 1)
    return row


def bench_hybrid(corpus: Path, sizes: list[int], n_queries: int = 50) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        log.info("hybrid: %d sentences", n)
        rows.append(bench_size(corpus, n, n_queries))
        gc.collect()
    return rows


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "## Hybrid retrieval: BM25 part (bm25s, saved at index time, memory-mapped), synthetic sentences",
        "",
        "| sentences | vocabulary | build s | saved MB | cold: import / load / first query ms | warm p50 / p95 ms | whole hybrid cold / warm p50 / p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        hybrid = r.get("hybrid_skipped") or f"{r.get('hybrid_cold_ms')} / {r.get('hybrid_warm_p50_ms')} / {r.get('hybrid_warm_p95_ms')}"
        lines.append(
            f"| {r['n']:,} | {r.get('vocabulary', 0):,} | {r.get('build_s')} | {r.get('saved_mb')} | "
            f"{r.get('cold_import_ms')} / {r.get('cold_load_ms')} / {r.get('cold_first_query_ms')} | "
            f"{r.get('warm_p50_ms')} / {r.get('warm_p95_ms')} | {hybrid} |"
        )
    lines.append(
        "\nCold = a fresh process memory-maps the saved index and answers one query; the whole hybrid call uses random "
        "unit vectors for its dense part (no model), flat indexes, and is skipped where they would not fit the memory budget."
    )
    return lines
