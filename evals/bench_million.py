"""`make bench` part `million`: the embedded index at ~1M sentences, built by `rag index`'s code.

    python -m evals.bench --only million                      # 1M sentences (~15 min on 2 shared cores)
    python -m evals.bench --only million --million-size 20000 # a quick run

The archive is `evals/million.py`'s (real article text, facts varied) with composed vectors
(real embeddings of base sentences and facts, see there); queries are eval questions embedded
for real, as written and with their names swapped for the archive's. Each step runs in a fresh
process, so peak RSS is that step's own:

- build: `index.store.build` over the folder from scratch (reading, splitting, vector indexes,
  BM25, writing); the vectors are composed, so the time leaves out embedding, reported apart as
  the packaged embedder's measured rate would need it;
- add: one new article (a file sorting last) added as `rag index FILE` does (`build(added=...)`:
  no folder scan, the previous rows not read), end to end, and its split (`add_split_s`):
  vectors (embedding, the vector indexes), BM25 (a new segment), write (the version folder,
  published), other (reading the previous manifest, listing the folder's names); then one more
  added to the store the first add returned, as the chat's upload does
  (`add_article_to_loaded_s`); then one more by a plain `rag index` (`add_scan_s`: a new
  process that stats every file and reads the previous rows);
- serve: `index.store.load` (vectors memory-mapped), the first `retrieve()` (cold; the files are
  in the page cache, just written), then p50/p95 of `retrieve()` (warm), the query embedding
  left out (it is the same at any size); recall@10 of the sentence index against exact search
  (brute force over the same vectors); the process's RSS with the index loaded and queried;
- answers: whole answers by the configured reader to 8 eval questions over the bundled corpus's
  index and over the big one, interleaved question by question, first token and total p50/p95
  and big over bundled (evals/scale_latency.py); the archive repeats the bundled articles'
  sentences with their facts varied, so over it a question finds many near-copies with other
  facts (its answer may differ or abstain): the numbers are the cost of the path, not quality.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals import scale_latency

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
BETA = 0.5  # the composition weight with the best fidelity on a 200-sentence sample (0.85 mean cosine; 0.0: 0.81, 1.0: 0.72)


def _rss() -> dict[str, float]:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {k: round(int(status[k].split()[0]) / 2**20, 3) for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile") if k in status}


def _composed(index: str):
    from evals.million import ComposedEmbedder
    from index.embedding import MiniLMEmbedder

    return ComposedEmbedder(MiniLMEmbedder(), beta=BETA, cache=Path(index).parent.parent / "real-vectors.npz")


def step_build(corpus: str, index: str, kind: str) -> dict[str, Any]:
    from index.store import build

    t = time.perf_counter()
    emb = _composed(index)
    setup = time.perf_counter() - t
    before = _rss()["VmHWM"]
    t = time.perf_counter()
    r = build(Path(corpus), Path(index), emb, index_kind=kind)
    return {
        "build_s": round(time.perf_counter() - t, 1),
        "embedder_setup_s": round(setup, 1),
        "articles": r.articles,
        "sentences": r.sentences,
        "chunks": r.chunks,
        "peak_rss_gib": _rss()["VmHWM"],
        "peak_rss_before_build_gib": before,
        "real_fallback_embeds": emb.fallbacks,
    }


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _split(r: Any, total: float) -> dict[str, float]:
    split = {"vectors": r.vectors_seconds, "bm25": r.bm25_seconds, "write": r.write_seconds}
    split["other"] = total - sum(split.values())  # reading the previous version, scanning the folder, the new Store
    return {k: round(v, 2) for k, v in split.items()}


def step_add(corpus: str, index: str, kind: str) -> dict[str, Any]:
    """Three adds of one article (each a file sorting last): as `rag index FILE` does it (a new
    process, told the file: no scan, the previous rows not read), then to the store that add
    returned, as the chat's upload does (its rows in memory, as a serving chat's are), then as a
    plain `rag index` does it (a new process scanning the folder and reading the previous rows)."""
    from evals.million import articles
    from index.store import build

    emb = _composed(index)
    folder = Path(corpus)
    n_files = len(list(folder.iterdir()))

    def new_file(i: int, seed: int) -> Path:
        path = folder / f"{n_files + i:07d}.txt"
        path.write_text("\n".join(articles(10, seed=seed)[0][1]) + "\n", encoding="utf-8")
        return path

    cap = _Capture()
    for name in ("index.store", "index.append"):
        logging.getLogger(name).addHandler(cap)
        logging.getLogger(name).setLevel(logging.INFO)
    path = new_file(0, 99)
    t = time.perf_counter()
    r = build(folder, Path(index), emb, index_kind=kind, added=[path])
    total = time.perf_counter() - t
    assert r.store is not None
    r.store.sentences  # noqa: B018  (a chat's store has its rows in memory: read them, untimed)
    path = new_file(1, 98)
    t = time.perf_counter()
    r2 = build(folder, Path(index), emb, index_kind=kind, previous=r.store, added=[path])
    total2 = time.perf_counter() - t
    new_file(2, 97)
    seen = len(cap.lines)
    t = time.perf_counter()
    r3 = build(folder, Path(index), emb, index_kind=kind)
    total3 = time.perf_counter() - t
    appended = [any("the previous rows not read" in line for line in lines) for lines in (cap.lines[:seen], cap.lines[seen:])]
    return {
        "add_article_s": round(total, 2),
        "add_vectors_s": round(r.vectors_seconds, 2),
        "add_split_s": _split(r, total),
        "add_article_to_loaded_s": round(total2, 2),
        "add_to_loaded_split_s": _split(r2, total2),
        "add_scan_s": round(total3, 2),
        "add_scan_split_s": _split(r3, total3),
        "appended_without_rows": {"named": appended[0], "scan": appended[1]},  # else a full build ran
        "embedded_files": r.embedded_files + r2.embedded_files + r3.embedded_files,
        "peak_rss_gib": _rss()["VmHWM"],
    }


def _queries() -> list[str]:
    from evals.million import _SLOT, pools

    rows = [json.loads(x) for f in sorted((ROOT / "evals").glob("cases*.jsonl")) for x in f.read_text().splitlines() if x.strip()]
    qs = sorted({r["question"] for r in rows if isinstance(r.get("question"), str)})[:60]
    names = pools()["name"]
    rng = np.random.default_rng(5)
    swapped = [_SLOT.sub(lambda m: names[int(rng.integers(len(names)))] if m.group(0)[0].isupper() else m.group(0), q) for q in qs]
    return qs + swapped


class _Lookup:
    """Query vectors embedded beforehand (for real): retrieval is timed without the embedding."""

    def __init__(self, real: Any, texts: list[str]):
        self.name, self.fingerprint, self.dim = real.name, real.fingerprint, real.dim
        self._real = real
        self._v = dict(zip(texts, real.embed(texts), strict=True))

    def extend(self, texts: list[str]) -> None:
        """Embed more texts beforehand (the questions' focus texts, which depend on the index)."""
        todo = sorted(set(texts) - set(self._v))
        if todo:
            self._v.update(zip(todo, self._real.embed(todo), strict=True))

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._v[t] for t in texts])


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = 10, block: int = 100_000) -> np.ndarray:
    """Brute-force top-k ids by inner product, block by block (no copy of `vectors`)."""
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_i = np.zeros((len(queries), 0), np.int64)
    for b in range(0, len(vectors), block):
        part = queries @ np.asarray(vectors[b : b + block]).T
        ids = np.broadcast_to(np.arange(b, b + part.shape[1]), part.shape)
        s, i = np.concatenate([best_s, part], axis=1), np.concatenate([best_i, ids], axis=1)
        kk = min(k, s.shape[1])
        top = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        best_s, best_i = np.take_along_axis(s, top, 1), np.take_along_axis(i, top, 1)
    return best_i


def tied_recall(approx_scores: np.ndarray, exact_scores: np.ndarray, eps: float = 1e-5) -> float:
    """recall@k that counts ties: a found vector scoring at least the exact k-th score is a true
    neighbour (the archive repeats sentences word for word, so equal vectors are common).

    >>> tied_recall(np.array([[0.9, 0.5]]), np.array([[0.9, 0.8]]))
    0.5
    """
    kth = exact_scores[:, -1:]
    return float(np.mean(approx_scores >= kth - eps))


def step_serve(index: str) -> dict[str, Any]:
    from evals.metrics import percentile
    from index import vectors
    from index.embedding import MiniLMEmbedder
    from index.store import load
    from rag.focus import focus_query
    from rag.retrieve import retrieve

    qs = _queries()
    emb = _Lookup(MiniLMEmbedder(), qs)
    t = time.perf_counter()
    st = load(Path(index), emb.fingerprint)
    load_s = time.perf_counter() - t
    emb.extend([f for q in qs if (f := focus_query(q, st.bm25.share))])  # retrieval embeds a question's focus too
    t = time.perf_counter()
    retrieve(st, emb, qs[0])
    first_ms = (time.perf_counter() - t) * 1000
    times = []
    for q in qs:
        t = time.perf_counter()
        retrieve(st, emb, q)
        times.append((time.perf_counter() - t) * 1000)
    rss = _rss()
    qv = np.stack([emb.embed([q])[0] for q in qs]).astype(np.float32)
    scores, _ = vectors.search(st.sentence_index, qv, 10)
    exact = exact_top(st.sentence_vectors, qv)
    exact_scores = np.sort(np.einsum("qd,qkd->qk", qv, np.asarray(st.sentence_vectors)[exact]), axis=1)[:, ::-1]
    recall = tied_recall(scores, exact_scores)
    sweep = {}
    if hasattr(st.sentence_index, "hnsw"):  # what a wider search buys: recall and time per dense query
        stored = st.sentence_index.hnsw.efSearch
        for ef in (96, 256, 512, 1024):
            st.sentence_index.hnsw.efSearch = ef
            t = time.perf_counter()
            found, _ = vectors.search(st.sentence_index, qv, 10)
            ms = (time.perf_counter() - t) * 1000 / len(qv)
            sweep[ef] = {"recall@10": round(tied_recall(found, exact_scores), 4), "ms_per_query": round(ms, 2)}
        st.sentence_index.hnsw.efSearch = stored
    main = vectors.parts_of(st.sentence_index)[0]
    if vectors.kind_of(main) == "ivf":  # likewise, cells searched
        stored = main.nprobe
        for nprobe in (16, 32, 64, 128):
            main.nprobe = nprobe
            t = time.perf_counter()
            found, _ = vectors.search(st.sentence_index, qv, 10)
            ms = (time.perf_counter() - t) * 1000 / len(qv)
            sweep[f"nprobe {nprobe}"] = {"recall@10": round(tied_recall(found, exact_scores), 4), "ms_per_query": round(ms, 2)}
        main.nprobe = stored
    return {
        "sentences": len(st.sentences),
        "index_kind": vectors.kind_of(st.sentence_index),
        "load_s": round(load_s, 2),
        "cold_first_retrieve_ms": round(first_ms, 1),
        "warm_p50_ms": round(percentile(times, 50), 2),
        "warm_p95_ms": round(percentile(times, 95), 2),
        "queries": len(qs),
        "recall@10_vs_exact": round(recall, 4),
        "gap_at_10th_mean": round(float(np.mean(exact_scores[:, -1] - scores[:, -1])), 5),  # cosine the 10th found is below the exact 10th
        "ef_search_sweep": sweep,
        "rss_loaded_gib": rss["VmRSS"],
        "rss_anon_gib": rss.get("RssAnon"),
        "rss_file_gib": rss.get("RssFile"),
    }


def step_answers(index: str, n_questions: str = "8", data_dir: str = "") -> dict[str, Any]:
    """Whole answers over the bundled corpus's index and over the big `index`, interleaved
    question by question (evals/scale_latency.py): the configured reader (its files in
    `data_dir`, default the configured one), embedder and verifier, built once and shared; only
    the store differs. The bundled corpus is indexed into a temporary folder; the big store is
    only read (`load`)."""
    import dataclasses

    from evals.bench_answers import pick_questions
    from evals.cases import read_corpus_texts
    from index.store import load
    from rag.config import load_config
    from rag.wiring import build_engine, build_generator, build_index

    cfg = load_config(overrides={"data_dir": Path(data_dir)} if data_dir else None)
    generator = build_generator(cfg)
    with tempfile.TemporaryDirectory(prefix="rag-bench-answers-") as tmp:
        cfg = dataclasses.replace(cfg, corpus=ROOT / "corpus", data_dir=Path(tmp))
        picked = pick_questions(int(n_questions) + 1, read_corpus_texts(cfg.corpus))
        warmup, questions = picked[-1], picked[:-1]
        build_index(cfg)
        small = build_engine(cfg, generator=generator)
        t = time.perf_counter()
        big_store = load(Path(index), small.embedder.fingerprint, cfg.chunk_size, cfg.chunk_overlap)
        load_s = time.perf_counter() - t
        big = dataclasses.replace(small, store=big_store)
        load_before = os.getloadavg()
        out = scale_latency.interleaved_latency({"bundled": small, "big": big}, questions, warmup[1])
        out.update(
            reader=generator.name,
            sentences={"bundled": len(small.store.sentences), "big": len(big_store.sentences)},
            big_load_s=round(load_s, 1),
            load_average={"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
            rss_gib=_rss()["VmRSS"],
        )
        return out


STEPS = {"build": step_build, "add": step_add, "serve": step_serve, "answers": step_answers}


def _child(step: str, *args: str) -> dict[str, Any]:
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "evals.bench_million", step, *args], capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        raise RuntimeError(f"{step} failed: {(p.stderr.strip().splitlines() or ['?'])[-1][:200]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["process_s"] = round(time.perf_counter() - t, 1)
    return out


def bench_million(n_sentences: int = 1_000_000, kind: str = "auto", answers: int = 8) -> dict[str, Any]:
    """Generate, build, serve, answer (`answers` questions, 0: none), add one article: every
    number of the `million` part."""
    from evals.million import write_corpus

    out: dict[str, Any] = {"target_sentences": n_sentences, "index_kind_asked": kind, "composition_beta": BETA}
    with tempfile.TemporaryDirectory(prefix="rag-bench-million-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "data" / "index"
        t = time.perf_counter()
        out["generated_sentences"] = write_corpus(corpus, n_sentences)
        out["generate_s"] = round(time.perf_counter() - t, 1)
        log.info("million: %d sentences written in %.0f s", out["generated_sentences"], out["generate_s"])
        out["build"] = _child("build", str(corpus), str(index), kind)
        log.info("million: built %s", out["build"])
        out["index_mb"] = round(sum(f.stat().st_size for f in index.resolve().iterdir()) / 1e6, 1)
        out["serve"] = _child("serve", str(index))
        log.info("million: served %s", out["serve"])
        if answers:
            out["answers"] = _child("answers", str(index), str(answers))
            log.info("million: answered %s", {k: out["answers"].get(k) for k in ("bundled", "big", "ratio")})
        out["add"] = _child("add", str(corpus), str(index), kind)
        log.info("million: added %s", out["add"])
    texts = out["build"]["sentences"] + out["build"]["chunks"]
    out["real_embedding_would_take_h"] = round(texts / 140 / 3600, 1)  # at the packaged embedder's ~140 texts/s here
    return out


def _split_md(split: dict[str, Any]) -> str:
    split = split or {}
    return " / ".join(str(split.get(k)) for k in ("vectors", "bm25", "write", "other"))


def markdown(r: dict[str, Any]) -> list[str]:
    b, s, a = r.get("build", {}), r.get("serve", {}), r.get("add", {})
    return [
        "",
        f"## The embedded index at {b.get('sentences', 0):,} sentences ({b.get('articles', 0):,} articles, {b.get('chunks', 0):,} windows)",
        "",
        "| build s | build peak RSS GiB | add 1 article s (vectors / BM25 / write / other s) | load s | cold first retrieve ms | warm p50 / p95 ms | recall@10 vs exact | RSS loaded GiB (anon / file) | index MB |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {b.get('build_s')} | {b.get('peak_rss_gib')} | {a.get('add_article_s')} ({_split_md(a.get('add_split_s'))}); to a loaded store {a.get('add_article_to_loaded_s')} ({_split_md(a.get('add_to_loaded_split_s'))}); by a scan {a.get('add_scan_s')} ({_split_md(a.get('add_scan_split_s'))}) | {s.get('load_s')} | "
        f"{s.get('cold_first_retrieve_ms')} | {s.get('warm_p50_ms')} / {s.get('warm_p95_ms')} | {s.get('recall@10_vs_exact')} | "
        f"{s.get('rss_loaded_gib')} ({s.get('rss_anon_gib')} / {s.get('rss_file_gib')}) | {r.get('index_mb')} |",
        "",
        f"Index kind {s.get('index_kind')}. Vectors composed from real embeddings (evals/million.py, beta {r.get('composition_beta')}); "
        f"embedding these texts for real would take ~{r.get('real_embedding_would_take_h')} h, not in the build time. "
        "Retrieval times leave out the query embedding. "
        f"Recall counts ties; the 10th found is on average {s.get('gap_at_10th_mean')} cosine below the exact 10th; "
        f"efSearch sweep (recall, ms per dense query): {s.get('ef_search_sweep')}.",
        *scale_latency.markdown(r.get("answers")),
    ]


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    print(json.dumps(STEPS[sys.argv[1]](*sys.argv[2:])))
