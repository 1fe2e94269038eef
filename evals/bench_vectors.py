"""Vector search at 1k–1M synthetic 384-d vectors: flat vs HNSW, as `index/vectors.py` builds them.

The vectors are clustered (a mixture of Gaussians, normalised) rather than uniform noise,
closer to how sentence embeddings sit; queries are fresh draws from the same mixture.
Recall@10 of HNSW is measured against the exact (flat) top 10.

Memory stays bounded: vectors are generated in blocks, the flat index is freed before
HNSW is built, and a size is skipped when /proc/meminfo says it would not fit. Time stays
bounded: the HNSW build time at a size is predicted from the previous size and skipped
(with the prediction reported) when it would exceed the budget.
"""

from __future__ import annotations

import gc
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DIM = 384


def clustered(n: int, seed: int, centers: np.ndarray, spread: float = 0.6, block: int = 100_000) -> np.ndarray:
    """n unit vectors around random cluster centres, generated block by block (float32 throughout)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, centers.shape[1]), dtype=np.float32)
    for i in range(0, n, block):
        m = min(block, n - i)
        x = centers[rng.integers(0, len(centers), m)] + spread * rng.standard_normal((m, centers.shape[1]), dtype=np.float32)
        out[i : i + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def mem_available_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _latencies_ms(index, queries: np.ndarray, k: int = 10) -> tuple[list[float], np.ndarray]:
    from index import vectors

    times, ids = [], []
    vectors.search(index, queries[:1], k)  # warm-up
    for q in queries:
        t = time.perf_counter()
        _, i = vectors.search(index, q[None], k)
        times.append((time.perf_counter() - t) * 1000)
        ids.append(i[0])
    return times, np.array(ids)


def _save_load(index, folder: Path, name: str) -> tuple[float, float, int]:
    from index import vectors

    path = folder / f"{name}.faiss"
    t = time.perf_counter()
    vectors.save(index, path)
    save_s = time.perf_counter() - t
    size = path.stat().st_size
    t = time.perf_counter()
    loaded = vectors.load(path)
    load_s = time.perf_counter() - t
    del loaded
    path.unlink()
    return save_s, load_s, size


def bench_size(n: int, n_queries: int = 200, hnsw_budget_s: float | None = None, predicted_hnsw_s: float | None = None) -> dict[str, Any]:
    """Flat and HNSW build/save/load/search at one size; p50/p95 of single-query latency."""
    from evals.metrics import percentile
    from index import vectors

    row: dict[str, Any] = {"n": n, "auto_kind": vectors.choose("auto", n)}
    need = n * DIM * 4 * 2.3  # vectors + one index + slack
    avail = mem_available_bytes()
    if avail is not None and need > avail * 0.7:
        row["skipped"] = f"needs ~{need / 2**30:.1f} GiB, {avail / 2**30:.1f} GiB available"
        return row
    centers = np.random.default_rng(1).standard_normal((max(10, min(n // 100, 2000)), DIM)).astype(np.float32)
    t = time.perf_counter()
    x = clustered(n, 2, centers)
    queries = clustered(n_queries, 3, centers)
    row["generate_s"] = round(time.perf_counter() - t, 2)
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        t = time.perf_counter()
        flat = vectors.build(x, "flat")
        row["flat_build_s"] = round(time.perf_counter() - t, 3)
        lat, exact = _latencies_ms(flat, queries)
        row["flat_p50_ms"], row["flat_p95_ms"] = round(percentile(lat, 50), 3), round(percentile(lat, 95), 3)
        row["flat_save_s"], row["flat_load_s"], row["flat_bytes"] = (round(v, 3) for v in _save_load(flat, Path(tmp), "flat"))
        del flat
        gc.collect()
        t = time.perf_counter()
        ivf = vectors.build(x, "ivf")
        row["ivf_build_s"] = round(time.perf_counter() - t, 2)
        lat, approx = _latencies_ms(ivf, queries)
        row["ivf_p50_ms"], row["ivf_p95_ms"] = round(percentile(lat, 50), 3), round(percentile(lat, 95), 3)
        row["ivf_recall@10"] = round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx, strict=True)])), 4)
        del ivf
        gc.collect()
        if hnsw_budget_s is not None and predicted_hnsw_s is not None and predicted_hnsw_s > hnsw_budget_s:
            row["hnsw_skipped"] = f"predicted build {predicted_hnsw_s:.0f} s exceeds the {hnsw_budget_s:.0f} s budget"
            return row
        t = time.perf_counter()
        hnsw = vectors.build(x, "hnsw")
        row["hnsw_build_s"] = round(time.perf_counter() - t, 2)
        del x
        gc.collect()
        lat, approx = _latencies_ms(hnsw, queries)
        row["hnsw_p50_ms"], row["hnsw_p95_ms"] = round(percentile(lat, 50), 3), round(percentile(lat, 95), 3)
        row["hnsw_recall@10"] = round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx, strict=True)])), 4)
        row["hnsw_save_s"], row["hnsw_load_s"], row["hnsw_bytes"] = (round(v, 3) for v in _save_load(hnsw, Path(tmp), "hnsw"))
        del hnsw
    gc.collect()
    auto = row["auto_kind"]
    row["auto_p50_ms"], row["auto_p95_ms"] = row.get(f"{auto}_p50_ms"), row.get(f"{auto}_p95_ms")
    row["auto_recall@10"] = row.get(f"{auto}_recall@10") if auto != "flat" else 1.0
    return row


def bench_vectors(sizes: list[int], n_queries: int = 200, hnsw_budget_s: float = 900.0) -> list[dict[str, Any]]:
    """All sizes in increasing order; HNSW build time is extrapolated from the previous size."""
    rows = []
    rate = None  # seconds per vector per log2(n), from the last HNSW build
    for n in sorted(sizes):
        predicted: float | None = float(rate * n * np.log2(n)) if rate else None
        log.info("vector bench: %d vectors", n)
        row = bench_size(n, n_queries, hnsw_budget_s, predicted)
        if "hnsw_build_s" in row:
            rate = row["hnsw_build_s"] / (n * np.log2(n))
        rows.append(row)
    return rows
