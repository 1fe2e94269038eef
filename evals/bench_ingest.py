"""`make bench` part `ingest`: ingestion throughput in one process vs on 1 and 2 Ray workers.

The corpus is the bundled corpus/ and every evals/corpus_* folder, repeated `copies` times
under varied file names (`003_coup-a.txt`), so Ray's start-up is amortised. Each run is a
full `index.store.build` from scratch with the packaged MiniLM embedder: in one process (the
embedder's own two threads), then `RayParts` with 1 and 2 workers, each worker one process
pinned to one core. Ray's start-up (a local instance plus the workers loading the embedder)
is timed apart from the build. Throughput is sentences indexed per second of build; every
sentence and every chunk is embedded, so texts/s is also given.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent


def corpus_folders(root: Path = ROOT) -> list[Path]:
    return [root / "corpus", *sorted(p for p in (root / "evals").glob("corpus_*") if p.is_dir())]


def repeated_corpus(folders: list[Path], dest: Path, copies: int) -> Path:
    """Every article of `folders`, `copies` times, under names that differ per copy and folder.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); (d / "a").mkdir(); _ = (d / "a" / "x.txt").write_text("Hi.")
    >>> sorted(p.name for p in repeated_corpus([d / "a"], d / "out", 2).iterdir())
    ['000_a-x.txt', '001_a-x.txt']
    """
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(copies):
        for folder in folders:
            for f in sorted(folder.iterdir()):
                if f.is_file():
                    shutil.copyfile(f, dest / f"{i:03d}_{folder.name.removeprefix('corpus_')}-{f.name}")
    return dest


def _run(name: str, corpus: Path, index_dir: Path, embedder: Any, make_parts: Any = None) -> dict[str, Any]:
    from index.store import build

    t = time.perf_counter()
    r = build(corpus, index_dir, embedder, make_parts=make_parts)
    s = time.perf_counter() - t
    log.info("ingest %s: %d sentences in %.1f s", name, r.sentences, s)
    return {
        "build_s": round(s, 2),
        "sentences": r.sentences,
        "texts": r.sentences + r.chunks,
        "sentences_per_s": round(r.sentences / s, 1),
        "texts_per_s": round((r.sentences + r.chunks) / s, 1),
    }


def bench_ingest(copies: int = 4, workers: tuple[int, ...] = (1, 2), folders: list[Path] | None = None) -> dict[str, Any]:
    """Throughput of a full index build in one process and on Ray workers (see the module doc)."""
    import os

    from index.embedding import MiniLMEmbedder
    from index.workers import RayParts

    out: dict[str, Any] = {"copies": copies, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="rag-bench-ingest-") as tmp:
        corpus = repeated_corpus(folders or corpus_folders(), Path(tmp) / "corpus", copies)
        out["articles"] = sum(1 for _ in corpus.iterdir())
        emb = MiniLMEmbedder()
        emb.embed(["warm up"] * 8)
        out["in_process"] = _run("in-process", corpus, Path(tmp) / "local" / "index", emb)
        for n in workers:
            t = time.perf_counter()
            with RayParts(str(n), MiniLMEmbedder, emb.fingerprint, progress=False) as parts:
                row = {"ray_startup_s": round(parts.startup_s, 2)}
                row.update(_run(f"{n} Ray workers", corpus, Path(tmp) / f"ray{n}" / "index", emb, parts))
            row["startup_and_shutdown_s"] = round(time.perf_counter() - t - row["build_s"], 2)
            if row["sentences"] != out["in_process"]["sentences"]:
                raise RuntimeError(f"{n} Ray workers indexed {row['sentences']} sentences, one process {out['in_process']['sentences']}")
            out[f"ray_{n}"] = row
    rates = {n: out[f"ray_{n}"]["sentences_per_s"] for n in workers}
    if 1 in rates and len(rates) > 1:
        top = max(workers)
        out[f"scaling_{top}_vs_1"] = round(rates[top] / rates[1], 2)
        out["efficiency"] = round(rates[top] / rates[1] / top, 2)
    out[f"ray_{max(workers)}_vs_in_process"] = round(rates[max(workers)] / out["in_process"]["sentences_per_s"], 2)
    return out


def markdown(r: dict[str, Any]) -> list[str]:
    """The `ingest` section of bench.md."""
    lines = [
        "",
        f"## Ingestion on Ray workers ({r['articles']} articles: bundled + eval corpora x {r['copies']}; {r['cores']} cores)",
        "",
        "| run | build s | sentences/s | texts/s | Ray start-up s |",
        "|---|---|---|---|---|",
    ]
    for key in ["in_process", *sorted(k for k in r if k.startswith("ray_") and isinstance(r[k], dict))]:
        x = r[key]
        lines.append(
            f"| {key.replace('_', ' ')} | {x['build_s']} | {x['sentences_per_s']} | {x['texts_per_s']} | {x.get('ray_startup_s', '-')} |"
        )
    extra = ", ".join(f"{k} {v}" for k, v in r.items() if k.startswith(("scaling", "efficiency")) or k.endswith("_vs_in_process"))
    if extra:
        lines.append(f"\n{extra}")
    return lines
