"""`make bench` (`python -m evals.bench`): speed and memory against the targets of issue 5.

    python -m evals.bench                 # everything (~20-30 min on 2 cores)
    python -m evals.bench --quick         # small sizes, few questions (a smoke run)
    python -m evals.bench --only vectors answers
    python -m evals.bench --only hybrid   # BM25 at 100k and 1M sentences, cold and warm (~5 min)
    python -m evals.bench --only ingest   # index build in one process vs 1 and 2 Ray workers (~5 min)
    python -m evals.bench --only million  # the whole index at 1M sentences (~15 min; --million-size for less)

Writes evals/reports/bench.json and bench.md (a table with the machine, each target,
what was measured and, when a target is missed, by how much). Timings are wall-clock on
whatever else the machine is doing: the load average before and after is recorded.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals import bench_hybrid, bench_ingest, bench_million
from evals.bench_answers import bench_answers
from evals.bench_vectors import bench_vectors
from evals.metrics import percentile
from evals.report import machine

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("llama", "help", "ask_cold", "chat_cold", "ingestion", "index", "text", "vectors", "hybrid", "answers", "ingest", "million")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
QUESTION = "How many people were injured in the attack on the Karachi Police Office?"


def rag_command() -> list[str]:
    exe = Path(sys.executable).parent / "rag"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "rag"]


# ---------------------------------------------------------------- start-up


def bench_help(runs: int = 5) -> dict[str, Any]:
    """`rag --help`, process start to exit."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([*rag_command(), "--help"], env=ENV, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return {"runs_s": [round(x, 3) for x in times], "p50_s": round(percentile(times, 50), 3)}


_FIRST_TOKEN_PROBE = """
import sys, time
import rag.answer as A
_orig = A.answer
def _answer(q, engine, history=(), on_token=None, should_stop=None):
    seen = []
    def tok(piece):
        if not seen:
            seen.append(1)
            print(f"__FIRST_TOKEN__ {time.time()}", file=sys.stderr, flush=True)
        if on_token:
            on_token(piece)
    return _orig(q, engine, history, on_token=tok, should_stop=should_stop)
A.answer = _answer
from rag.cli import main
sys.exit(main(["ask", sys.argv[1]]))
"""


def bench_ask_cold(question: str = QUESTION) -> dict[str, Any]:
    """A fresh `rag ask` process: start to its first generated token, and to exit.

    Measured twice: right after the prompt cache is emptied (the first question after an
    install pays the fixed prompt prefix's prefill and saves it) and then as every later
    `rag ask` runs, with that prefix loaded from `<data_dir>/cache`.
    `rag ask` prints only the finished answer, so the process runs `rag.cli.main(["ask", q])`
    with `rag.answer.answer` wrapped to stamp the first streamed token (wall clock).
    """
    from rag.config import load_config

    for old in (load_config().data_dir / "cache").glob("prefix-*.kv"):
        old.unlink()
    first = _ask_once(question)
    if "error" in first:
        return first
    out = _ask_once(question)
    if "error" not in out:
        out.update({"first_token_no_prompt_cache_s": first["first_token_s"], "total_no_prompt_cache_s": first["total_s"]})
    return out


def _ask_once(question: str) -> dict[str, Any]:
    t_wall, t = time.time(), time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _FIRST_TOKEN_PROBE, question], env=ENV, capture_output=True, text=True, cwd=ROOT)
    total = time.perf_counter() - t
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    stamp = next((line.split()[1] for line in p.stderr.splitlines() if line.startswith("__FIRST_TOKEN__")), None)
    return {
        "first_token_s": round(float(stamp) - t_wall, 3) if stamp else None,
        "total_s": round(total, 3),
        "note": "" if stamp else "the question was declined before generation",
    }


def bench_llama(cfg: Any, repeats: int = 3) -> dict[str, Any]:
    """The llama.cpp build in use (named by `rag.llamabuild`) and its prompt/generation tokens/s
    with each packaged reader, loaded as the answer path loads it."""
    from llama_cpp import Llama

    from evals.bench_answers import model_rates
    from rag.models import PROFILES, bundled_gguf

    build_file = Path(sys.prefix) / "llama-build.json"
    build = json.loads(build_file.read_text()) if build_file.exists() else {"variant": "unknown (not installed by rag.llamabuild)"}
    out: dict[str, Any] = {
        "variant": build.get("variant"),
        "cmake_args": " ".join(build.get("cmake_args", [])),
        "not_used": build.get("not_used", {}),
    }
    sample = " ".join((ROOT / "corpus").glob("*.txt").__next__().read_text().split())
    for profile, model in PROFILES.items():
        try:
            path = bundled_gguf(cfg.models_dir, model)
        except Exception as e:  # noqa: BLE001 - a profile whose packages are not installed is reported, not fatal
            out[profile] = {"skipped": str(e)[:200]}
            continue
        llm = Llama(
            model_path=str(path), n_ctx=2048, n_threads=cfg.threads or os.cpu_count() or 2, n_batch=512, flash_attn=True, verbose=False
        )
        prefill, gen = model_rates(llm, sample, repeats)
        out[profile] = {"model": model.name, "prompt_tok_s": round(prefill, 1), "generation_tok_s": round(gen, 1)}
        del llm
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_chat_cold(timeout_s: float = 180.0) -> dict[str, Any]:
    """A fresh `rag chat`: process start until its page answers HTTP 200 on loopback."""
    port = _free_port()
    t = time.perf_counter()
    p = subprocess.Popen(
        [*rag_command(), "chat", "--port", str(port)], env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        while time.perf_counter() - t < timeout_s:
            if p.poll() is not None:
                return {"error": f"rag chat exited with {p.returncode}: {(p.stderr.read() if p.stderr else '')[-200:]}"}
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    if r.status == 200:
                        return {"page_served_s": round(time.perf_counter() - t, 3)}
            except OSError:
                time.sleep(0.1)
        return {"error": f"no page within {timeout_s:.0f} s"}
    finally:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


# ---------------------------------------------------------------- ingestion and index


def _copies(corpus: Path, folder: Path, copies: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(copies):
        for f in sorted(corpus.iterdir()):
            if f.is_file():
                shutil.copyfile(f, folder / f"{i:03d}_{f.name}")
    return folder


def bench_ingestion(corpus: Path, copies: int = 8) -> dict[str, Any]:
    """Texts embedded per second: our `index.store.build` vs raw `SentenceTransformer.encode` on the same texts.

    Our pipeline embeds every sentence and every sentence window; the raw encode gets exactly
    those texts. Model loading is outside all three timings.
    """
    from index.embedding import MiniLMEmbedder, SentenceTransformerEmbedder, packaged_minilm_path
    from index.store import build, load

    out: dict[str, Any] = {"copies": copies}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        folder = _copies(corpus, Path(tmp) / "corpus", copies)
        numpy_emb = MiniLMEmbedder()
        st_emb = SentenceTransformerEmbedder(packaged_minilm_path())
        st_emb.embed(["warm up"] * 8)
        numpy_emb.embed(["warm up"] * 8)
        r = build(Path(corpus), Path(tmp) / "idx-probe" / "index", numpy_emb)  # only to list the texts of one copy
        store = load(Path(tmp) / "idx-probe" / "index", numpy_emb.fingerprint)
        texts = ([s.text for s in store.sentences] + [c.text for c in store.chunks]) * copies
        # Raw encode before and after our runs, averaged: a shared machine drifts.
        raw_before = _encode_s(st_emb, texts)
        t = time.perf_counter()
        r = build(folder, Path(tmp) / "idx-numpy" / "index", numpy_emb)
        ours_numpy = time.perf_counter() - t
        t = time.perf_counter()
        build(folder, Path(tmp) / "idx-st" / "index", st_emb)
        ours_st = time.perf_counter() - t
        raw = _encode_s(st_emb, texts)
    raw = (raw_before + raw) / 2
    n = len(texts)
    assert n == r.sentences + r.chunks, "the raw encode must get exactly the pipeline's texts"
    out.update(
        {
            "articles": r.articles,
            "texts": n,
            "raw_encode_s": round(raw, 2),
            "raw_texts_per_s": round(n / raw, 1),
            "ours_numpy_s": round(ours_numpy, 2),
            "ours_numpy_texts_per_s": round(n / ours_numpy, 1),
            "ours_st_s": round(ours_st, 2),
            "ours_st_texts_per_s": round(n / ours_st, 1),
            "ratio_default": round(raw / ours_numpy, 3),
            "ratio_st": round(raw / ours_st, 3),
        }
    )
    return out


def _hostile_articles(corpus: Path, size: int) -> dict[str, tuple[str, str]]:
    """Articles of `size` characters: real prose from `corpus` repeated (as written and on one
    line) and hostile ones. Name -> (file suffix, text)."""
    prose = "\n".join(f.read_text(encoding="utf-8") for f in sorted(corpus.iterdir()) if f.is_file())

    def fill(unit: str) -> str:
        return (unit * (size // len(unit) + 1))[:size]

    return {
        "prose": (".txt", fill(prose + "\n")),
        "prose on one line": (".txt", fill(" ".join(prose.split()) + " ")),
        '"Ab. " on one line': (".txt", fill("Ab. ")),
        "no spaces, no stops": (".txt", fill("x")),
        'unclosed "<" (html)': (".html", fill("<")),
        'unclosed "<title>" (html)': (".html", fill("<title>")),
    }


def bench_text(corpus: Path, size: int = 5_000_000) -> dict[str, Any]:
    """Reading, sentence splitting and chunking of one `size`-character article (no embedding):
    the text handling must be linear, so one pasted or uploaded article cannot stall a build."""
    from index.chunking import make_chunks, split
    from index.reading import read_article

    cases: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        for n, (name, (suffix, text)) in enumerate(_hostile_articles(Path(corpus), size).items()):
            path = Path(tmp) / f"{n}{suffix}"
            path.write_text(text, encoding="utf-8")
            t0 = time.perf_counter()
            article = read_article(path)
            t1 = time.perf_counter()
            sentences = split(article)
            t2 = time.perf_counter()
            chunks = make_chunks(article, sentences) if sentences else []
            t3 = time.perf_counter()
            cases[name] = {
                "read_s": round(t1 - t0, 3),
                "split_s": round(t2 - t1, 3),
                "chunk_s": round(t3 - t2, 3),
                "total_s": round(t3 - t0, 3),
                "sentences": len(sentences),
                "chunks": len(chunks),
                "longest_sentence": max((len(s.text) for s in sentences), default=0),
            }
    return {"chars": size, "cases": cases, "slowest_s": max(c["total_s"] for c in cases.values())}


def _encode_s(st_emb: Any, texts: list[str]) -> float:
    t = time.perf_counter()
    st_emb.model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return time.perf_counter() - t


def bench_index(corpus: Path) -> dict[str, Any]:
    """`rag index` on the bundled corpus from scratch (read, split, embed, write), a no-change rebuild, and a load."""
    from index.embedding import MiniLMEmbedder
    from index.store import build, load

    emb = MiniLMEmbedder()
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        idx = Path(tmp) / "index"
        t = time.perf_counter()
        r = build(corpus, idx, emb)
        fresh = time.perf_counter() - t
        t = time.perf_counter()
        build(corpus, idx, emb)
        again = time.perf_counter() - t
        t = time.perf_counter()
        load(idx, emb.fingerprint)
        loaded = time.perf_counter() - t
    return {
        "articles": r.articles,
        "sentences": r.sentences,
        "chunks": r.chunks,
        "build_s": round(fresh, 2),
        "rebuild_unchanged_s": round(again, 3),
        "load_s": round(loaded, 3),
    }


# ---------------------------------------------------------------- targets and output


def _target(name: str, measured: float | None, limit: float, unit: str, lower_is_better: bool = True, why: str = "") -> dict[str, Any]:
    if measured is None:
        return {"target": name, "limit": limit, "unit": unit, "measured": None, "met": None, "miss": "not measured", "why": why}
    met = measured <= limit if lower_is_better else measured >= limit
    gap = measured - limit if lower_is_better else limit - measured
    miss = "" if met else f"missed by {gap:.3g} {unit} ({abs(gap) / limit:.0%})"
    return {"target": name, "limit": limit, "unit": unit, "measured": measured, "met": met, "miss": miss, "why": "" if met else why}


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    a = r.get("answers", {})
    if a:
        ours = a.get("ours", {})
        out.append(
            _target(
                "time to first token p50 (warm, bundled corpus)",
                ours.get("ttft_p50_s"),
                1.5,
                "s",
                why=f"prefill floor of these prompts p50 {a.get('floor', {}).get('ttft_full_p50_s')} s "
                f"(cached-prefix floor {a.get('floor', {}).get('ttft_cached_p50_s')} s)",
            )
        )
        peer = a.get("peer", {})
        if peer.get("total_p50_s") is not None:
            out.append(
                _target(
                    "whole answer p50 vs peer (ratio ours/peer)",
                    round(ours["total_p50_s"] / peer["total_p50_s"], 3),
                    1.0,
                    "×",
                    why="verification and conflict detection run after generation",
                )
            )
    ing = r.get("ingestion", {})
    if ing:
        out.append(
            _target(
                "ingestion throughput vs raw encode (default embedder)",
                ing.get("ratio_default"),
                0.9,
                "×",
                False,
                why="the default embedder is MiniLM in NumPy (no torch import at query time); ratio_st shows the pipeline with torch",
            )
        )
    for row in r.get("vectors", []):
        if row["n"] in (100_000, 1_000_000):
            limit = 10.0 if row["n"] == 100_000 else 20.0
            auto = row["auto_kind"]
            out.append(
                _target(
                    f"retrieval p50 at {row['n']:,} vectors (auto = {auto})",
                    row.get("auto_p50_ms"),
                    limit,
                    "ms",
                    why=f"{auto} chosen below/above HNSW_THRESHOLD; flat p50 {row.get('flat_p50_ms')} ms, ivf p50 {row.get('ivf_p50_ms')} ms, hnsw p50 {row.get('hnsw_p50_ms')} ms",
                )
            )
            if row["n"] == 1_000_000:
                out.append(_target("recall@10 at 1,000,000 vectors (auto)", row.get("auto_recall@10"), 0.95, "", False))
    mil = r.get("million", {})
    if mil.get("serve"):
        n, sv, add = mil["build"].get("sentences", 0), mil["serve"], mil.get("add", {})
        out.append(_target(f"hybrid retrieval p50 warm at {n:,} sentences", sv.get("warm_p50_ms"), 20.0, "ms"))
        out.append(
            _target(f"recall@10 vs exact at {n:,} sentences ({sv.get('index_kind')})", sv.get("recall@10_vs_exact"), 0.95, "", False)
        )
        out.append(_target(f"RSS of the loaded index at {n:,} sentences", sv.get("rss_loaded_gib"), 3.0, "GiB"))
        out.append(
            _target(
                f"add one article at {mil['build'].get('articles', 0):,} articles (`rag index FILE`, end to end)",
                add.get("add_article_s"),
                1.0,
                "s",
                why=f"to a chat's store {add.get('add_article_to_loaded_s')} s; by a full scan {add.get('add_scan_s')} s",
            )
        )
    if r.get("text", {}).get("cases"):
        mb = r["text"]["chars"] / 1e6
        out.append(_target(f"a {mb:g} MB article read, split and chunked (slowest case)", r["text"].get("slowest_s"), 10.0, "s"))
    if "help" in r:
        out.append(_target("rag --help", r["help"].get("p50_s"), 1.0, "s"))
    if "ask_cold" in r:
        out.append(
            _target(
                "cold rag ask, process start to first token",
                r["ask_cold"].get("first_token_s"),
                6.0,
                "s",
                why="interpreter start + imports + model and index load + the question's prefill (the fixed prefix comes from the prompt cache)",
            )
        )
    return out


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        f"# Benchmarks ({r['created_at']})",
        "",
        f"Code {m.get('code')}. Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, {m['os']}, Python {m['python']}. "
        f"Load average before {m['load_average_at_start']}, after {r.get('load_average_at_end')}.",
        "",
        "| target | limit | measured | |",
        "|---|---|---|---|",
    ]
    for t in r["targets"]:
        status = "not measured" if t["met"] is None else ("met" if t["met"] else f"**{t['miss']}**" + (f": {t['why']}" if t["why"] else ""))
        lines.append(
            f"| {t['target']} | {t['limit']} {t['unit']} | {t['measured']} {t['unit'] if t['measured'] is not None else ''} | {status} |"
        )
    if r.get("vectors"):
        lines += [
            "",
            "## Vector search (single query, top 10)",
            "",
            "| vectors | auto | flat build s | flat p50 / p95 ms | HNSW build s | HNSW p50 / p95 ms | HNSW recall@10 |",
            "|---|---|---|---|---|---|---|",
        ]
        for v in r["vectors"]:
            if "skipped" in v:
                lines.append(f"| {v['n']:,} | {v['auto_kind']} | skipped: {v['skipped']} | | | | |")
                continue
            hnsw = (
                f"{v['hnsw_build_s']} | {v.get('hnsw_p50_ms')} / {v.get('hnsw_p95_ms')} | {v.get('hnsw_recall@10')}"
                if "hnsw_build_s" in v
                else f"skipped: {v.get('hnsw_skipped', '')} | | "
            )
            lines.append(
                f"| {v['n']:,} | {v['auto_kind']} | {v.get('flat_build_s')} | {v.get('flat_p50_ms')} / {v.get('flat_p95_ms')} | {hnsw} |"
            )
    if isinstance(r.get("hybrid"), list):
        lines += bench_hybrid.markdown(r["hybrid"])
    if r.get("ingest", {}).get("in_process"):
        lines += bench_ingest.markdown(r["ingest"])
    if r.get("answers"):
        a = r["answers"]
        lines += [
            "",
            f"## Answers ({a.get('n_questions')} questions from evals/cases.jsonl, bundled corpus)",
            "",
            "| | TTFT p50 | TTFT p95 | total p50 | total p95 |",
            "|---|---|---|---|---|",
        ]
        for name in ("ours", "floor", "peer", "peer_floor"):
            x = a.get(name)
            if x:
                lines.append(
                    f"| {name} | {x.get('ttft_p50_s', x.get('ttft_full_p50_s'))} s | {x.get('ttft_p95_s', x.get('ttft_full_p95_s'))} s | "
                    f"{x.get('total_p50_s')} s | {x.get('total_p95_s')} s |"
                )
        lines.append(
            f"\nModel rates measured here: prefill {a.get('prefill_tok_s')} tok/s, generation {a.get('generation_tok_s')} tok/s. "
            "Floor = prompt tokens / prefill rate (+ answer tokens / generation rate for the total); the cached-prefix floor counts "
            "only the prompt after the fixed instructions and examples."
        )
    if r.get("llama") and "variant" in r["llama"]:
        ll = r["llama"]
        lines += [
            "",
            f"## llama.cpp build in use: `{ll['variant']}` ({ll.get('cmake_args')})",
            "",
            "| reader | prompt tok/s | generation tok/s |",
            "|---|---|---|",
        ]
        for profile in ("fast", "best"):
            x = ll.get(profile) or {}
            lines.append(
                f"| {profile} ({x.get('model', '-')}) | {x.get('prompt_tok_s', x.get('skipped', '-'))} | {x.get('generation_tok_s', '-')} |"
            )
        if ll.get("not_used"):
            lines.append("\nBuilds not used on this machine: " + "; ".join(f"{k}: {v}" for k, v in ll["not_used"].items()))
    if r.get("million", {}).get("build"):
        lines += bench_million.markdown(r["million"])
    if r.get("text", {}).get("cases"):
        lines += [
            "",
            f"## Text handling: one article of {r['text']['chars']:,} characters (read, split, chunk; no embedding)",
            "",
            "| article | read s | split s | chunk s | total s | sentences | longest sentence |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, c in r["text"]["cases"].items():
            lines.append(
                f"| {name} | {c['read_s']} | {c['split_s']} | {c['chunk_s']} | {c['total_s']} | {c['sentences']:,} | {c['longest_sentence']} |"
            )
    stamps = r.get("measured_at", {})
    if len(set(stamps.values())) > 1:
        lines.append("\nParts measured at: " + ", ".join(f"{k} {v}" for k, v in stamps.items()) + ".")
    for key in ("ingestion", "index", "help", "ask_cold", "chat_cold"):
        if key in r:
            lines.append(f"\n**{key}**: " + ", ".join(f"{k} {v}" for k, v in r[key].items()))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", choices=PARTS, help="run only these parts (the others are kept from the previous bench.json)")
    p.add_argument("--quick", action="store_true", help="small sizes and few questions (smoke run)")
    p.add_argument("--sizes", nargs="+", type=int, help="vector counts (default 1000 10000 100000 1000000)")
    p.add_argument("--hybrid-sizes", nargs="+", type=int, help="sentence counts for the hybrid part (default 100000 1000000)")
    p.add_argument("--million-size", type=int, help="sentences of the million part (default 1000000; quick 20000)")
    p.add_argument("--million-kind", default="auto", help="vector index kind of the million part (auto, hnsw, hnsw_fp16, hnsw_sq8)")
    p.add_argument("--questions", type=int, help="answer questions (default 12; quick 3; of the million part: 8; quick 2)")
    p.add_argument("--no-peer", action="store_true", help="skip the llama-index peer in the answer bench")
    p.add_argument("--hnsw-budget", type=float, default=900.0, help="skip an HNSW build predicted to take longer (s)")
    p.add_argument("--out", type=Path, default=ROOT / "evals" / "reports", help="output folder")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("evals").setLevel(logging.INFO)
    os.environ.update({k: ENV[k] for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "GRADIO_ANALYTICS_ENABLED")})
    parts = a.only or list(PARTS)
    from rag.config import load_config

    cfg = load_config()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    previous = a.out / "bench.json"
    r: dict[str, Any] = {}
    if a.only and previous.exists():  # re-running some parts keeps the rest, each with its own time stamp
        r = {k: v for k, v in json.loads(previous.read_text()).items() if k in PARTS or k == "measured_at"}
    r.update({"created_at": now, "machine": machine(), "quick": a.quick})
    r.setdefault("measured_at", {})
    steps = {
        "llama": lambda: bench_llama(cfg),
        "help": lambda: bench_help(),
        "ask_cold": lambda: bench_ask_cold(),
        "chat_cold": lambda: bench_chat_cold(),
        "ingestion": lambda: bench_ingestion(cfg.corpus, 2 if a.quick else 8),
        "index": lambda: bench_index(cfg.corpus),
        "text": lambda: bench_text(cfg.corpus, 500_000 if a.quick else 5_000_000),
        "vectors": lambda: bench_vectors(
            a.sizes or ([1000, 10_000] if a.quick else [1000, 10_000, 100_000, 1_000_000]), 50 if a.quick else 200, a.hnsw_budget
        ),
        "hybrid": lambda: bench_hybrid.bench_hybrid(
            cfg.corpus, a.hybrid_sizes or ([10_000] if a.quick else [100_000, 1_000_000]), 10 if a.quick else 50
        ),
        "answers": lambda: bench_answers(cfg, a.questions or (3 if a.quick else 12), peer=not a.no_peer),
        "ingest": lambda: bench_ingest.bench_ingest(1 if a.quick else 4),
        "million": lambda: bench_million.bench_million(
            a.million_size or (20_000 if a.quick else 1_000_000), a.million_kind, a.questions or (2 if a.quick else 8)
        ),
    }
    for part in PARTS:
        if part not in parts:
            continue
        log.info("bench: %s", part)
        t = time.perf_counter()
        try:
            r[part] = steps[part]()
            r["measured_at"][part] = now
        except Exception as e:  # one failing part must not lose the others' numbers
            log.exception("bench part %s failed", part)
            r[part] = {"error": f"{type(e).__name__}: {e}"[:300]}
        log.info("bench: %s done in %.0f s", part, time.perf_counter() - t)
    r["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    r["targets"] = targets({k: v for k, v in r.items() if not (isinstance(v, dict) and "error" in v)})
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "bench.json").write_text(json.dumps(r, indent=1, default=str) + "\n")
    (a.out / "bench.md").write_text(markdown(r))
    print(markdown(r))
    print(f"wrote {a.out / 'bench.json'} and {a.out / 'bench.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
