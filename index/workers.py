"""Ingestion spread over Ray workers: each reads, splits and embeds a share of the new files.

`rag index --workers SPEC` hands `index.store.build` a `RayParts` as its `make_parts`: the
files that are new or changed go, a few at a time, to a pool of Ray actors. Each actor loads
the embedder once and turns files into per-file parts (article, sentences, chunks, vectors),
exactly what `index.store.read_part` and the build's own embedding make in one process. The
driver then writes the index through the same code as a local build, so the result is the
same index, whatever vector store is configured.

SPEC is a number N (a local Ray instance with N workers, one CPU each), `auto` (one worker per
CPU here) or `ray://host:10001` (an existing cluster: one worker per CPU it has; its nodes need
this project installed and the corpus folder readable at the same path).

Ray is imported only here, and only when asked for: `import rag` and a plain `rag index` never
load it.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding import Embedder
from index.reading import Skipped
from rag.errors import RagError

log = logging.getLogger(__name__)

FILES_PER_TASK = 4  # small enough to spread a few hundred files evenly, large enough to batch the embedding
IN_FLIGHT = 2  # tasks queued per worker, so none waits for the driver between two


@dataclass(frozen=True)
class WorkerSpec:
    """Where the workers run: `address` of a cluster (None: a local instance) and how many
    local workers (None: one per CPU)."""

    address: str | None = None
    workers: int | None = None


def parse_spec(spec: str) -> WorkerSpec:
    """`--workers` as given: a number, `auto` or a `ray://host:port` address.

    >>> parse_spec("2"), parse_spec("auto"), parse_spec("ray://head:10001")
    (WorkerSpec(address=None, workers=2), WorkerSpec(address=None, workers=None), WorkerSpec(address='ray://head:10001', workers=None))
    """
    s = spec.strip()
    if s == "auto":
        return WorkerSpec()
    if s.startswith("ray://"):
        host, _, port = s.removeprefix("ray://").rpartition(":")
        if not host or not port.isdigit():
            raise RagError(f"--workers {spec}: a Ray cluster address looks like ray://host:10001")
        return WorkerSpec(address=s)
    if s.isdigit() and int(s) > 0:
        return WorkerSpec(workers=int(s))
    raise RagError(f"--workers {spec!r}: give a number of workers, auto, or a Ray cluster address ray://host:10001")


def import_ray() -> Any:
    """The `ray` module, or a one-line RagError saying how to get it. Ray's usage statistics,
    which it would send to its makers, are turned off unless the user set them: nothing here
    reaches the network uninvited."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise RagError("--workers needs Ray, which is not installed: pip install 'ray[default]' (the project's 'scale' extra)") from None
    return ray


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A one-line RagError when nothing listens at the cluster address (Ray's own client
    retries for 30 s and then raises a bare ConnectionError)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise RagError(f"cannot reach the Ray cluster at {address} ({e.strerror or e}): is `ray start --head` running there?") from None


def preflight(spec: WorkerSpec) -> None:
    """The cheap checks first, before any model loads: Ray is installed, the cluster answers."""
    import_ray()
    if spec.address:
        _check_reachable(spec.address)


def embed_parts(embedder: Embedder, parts: list[Any]) -> None:
    """Fill in the sentence and chunk vectors of `parts`, one embedding call each for all of
    their sentences and all of their chunks (as a local build batches them)."""
    if not parts:
        return
    sv = embedder.embed([s.text for p in parts for s in p.sentences])
    cv = embedder.embed([c.text for p in parts for c in p.chunks])
    i = j = 0
    for p in parts:
        p.sv, p.cv = np.asarray(sv[i : i + len(p.sentences)], np.float32), np.asarray(cv[j : j + len(p.chunks)], np.float32)
        i, j = i + len(p.sentences), j + len(p.chunks)


class PartWorker:
    """One ingestion worker (a Ray actor): loads the embedder once, then turns batches of
    files into embedded parts. `core` pins a local worker to one CPU, so N workers use N cores
    (the packaged embedder otherwise runs one thread per core of the machine in every worker)."""

    def __init__(self, make_embedder: Callable[[], Embedder], core: int | None = None):
        if core is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {core})
        self.embedder = make_embedder()

    def fingerprint(self) -> str:
        return self.embedder.fingerprint

    def parts(self, paths: list[Path], known: dict[str, str], chunk_size: int, chunk_overlap: int) -> list[Any]:
        """The parts of `paths` in order (a Skipped for an unreadable file). Files whose content
        `known` says is unchanged are not embedded: the build reuses their previous vectors."""
        from index.store import local_parts

        out = list(local_parts(paths, known, chunk_size, chunk_overlap))
        embed_parts(self.embedder, [p for p in out if not isinstance(p, Skipped) and known.get(p.article.id) != p.record["sha256"]])
        return out


class RayParts:
    """A `make_parts` for `index.store.build` that runs on a pool of Ray workers.

    Use as a context manager: entering starts (or connects to) Ray and the workers, leaving
    shuts down a Ray instance it started. `startup_s` is what that took.
    """

    def __init__(
        self,
        spec: str | WorkerSpec,
        make_embedder: Callable[[], Embedder],
        fingerprint: str | None = None,
        files_per_task: int = FILES_PER_TASK,
        progress: bool = True,
    ):
        self.spec = parse_spec(spec) if isinstance(spec, str) else spec
        self.make_embedder = make_embedder
        self.fingerprint = fingerprint  # the driver's embedder's: the workers' must match
        self.files_per_task = files_per_task
        self.progress = progress
        self.startup_s = 0.0
        self._ray: Any = None
        self._started = False
        self._actors: list[Any] = []

    def __enter__(self) -> RayParts:
        t = time.perf_counter()
        preflight(self.spec)
        ray = self._ray = import_ray()
        if not ray.is_initialized():
            try:
                if self.spec.address:
                    ray.init(address=self.spec.address, logging_level=logging.WARNING)
                else:
                    ray.init(num_cpus=self.spec.workers, include_dashboard=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise RagError(f"could not start Ray workers ({self.spec.address or 'local'}): {str(e).splitlines()[0][:160]}") from None
            self._started = True
        try:
            self._start_actors(ray)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.startup_s = time.perf_counter() - t
        log.info("%d Ray workers ready in %.1f s", len(self._actors), self.startup_s)
        return self

    def _start_actors(self, ray: Any) -> None:
        n = self.spec.workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
        local = self.spec.address is None
        cores = sorted(os.sched_getaffinity(0)) if local and hasattr(os, "sched_getaffinity") else []
        actor = ray.remote(num_cpus=1)(PartWorker)
        self._actors = [actor.remote(self.make_embedder, cores[k % len(cores)] if cores else None) for k in range(n)]
        try:
            prints = ray.get([a.fingerprint.remote() for a in self._actors])
        except Exception as e:  # a worker that cannot load the embedder (RagError) or the code
            cause = getattr(e, "cause", None) or e
            raise RagError(f"the Ray workers could not start: {str(cause).splitlines()[0][:200]}") from None
        if self.fingerprint and any(p != self.fingerprint for p in prints):
            raise RagError(
                f"the Ray workers' embedder ({prints[0]}) is not this one ({self.fingerprint}): install the same model on every node"
            )

    def __exit__(self, *exc: object) -> None:
        ray, self._actors = self._ray, []
        if ray is not None and self._started:
            ray.shutdown()
            self._started = False

    @property
    def workers(self) -> int:
        return len(self._actors)

    def __call__(self, paths: list[Path], known: dict[str, str], chunk_size: int, chunk_overlap: int) -> Iterator[Any]:
        """The parts of `paths`, in their order, made by the workers; progress in files done / total."""
        if not self._actors:
            raise RuntimeError("RayParts is used outside its `with` block")
        ray = self._ray
        n = self.files_per_task
        batches = [paths[i : i + n] for i in range(0, len(paths), n)]
        results: dict[int, list[Any]] = {}
        pending: dict[Any, tuple[int, Any]] = {}  # task -> (batch number, actor)
        queue = iter(enumerate(batches))
        from tqdm import tqdm

        def submit(actor: Any) -> None:
            for b, files in queue:
                known_here = {p.name: known[p.name] for p in files if p.name in known}
                pending[actor.parts.remote(files, known_here, chunk_size, chunk_overlap)] = (b, actor)
                return

        for actor in self._actors:
            for _ in range(IN_FLIGHT):
                submit(actor)
        desc = f"reading and embedding on {self.workers} Ray worker{'s' if self.workers != 1 else ''}"
        with tqdm(total=len(paths), desc=desc, unit="file", disable=not self.progress, file=sys.stderr) as bar:
            nxt = 0
            while pending or nxt < len(batches):
                if nxt in results:
                    yield from results.pop(nxt)
                    nxt += 1
                    continue
                done, _ = ray.wait(list(pending), num_returns=1)
                b, actor = pending.pop(done[0])
                try:
                    results[b] = ray.get(done[0])
                except Exception as e:
                    cause = getattr(e, "cause", None) or e
                    raise RagError(f"a Ray worker failed: {type(cause).__name__}: {str(cause).splitlines()[0][:200]}") from None
                bar.update(len(batches[b]))
                submit(actor)


def ray_parts(
    spec: str | WorkerSpec, make_embedder: Callable[[], Embedder], fingerprint: str | None = None, progress: bool = True
) -> RayParts:
    """The Ray `make_parts` for `--workers SPEC` (a context manager; see RayParts)."""
    return RayParts(spec, make_embedder, fingerprint, progress=progress)
