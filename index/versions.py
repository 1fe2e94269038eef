"""Version folders of the on-disk index: the writers' lock, the durable atomic swap, pruning.

    data/index -> index-versions/20260101T120000-4242-17/   symlink, swapped with os.replace
    data/index-versions/20260101T120000-4242-17/            a complete version
    data/index-versions/20260101T120501-4310-3.tmp/         a build in progress (its pid in the name)
    data/index.lock                                         flock-ed by the one process writing

Every writer holds `writer_lock` from reading the previous version to pruning, so two builds
(two `rag index`, or an upload in the chat while `rag index` runs) run one after the other,
and pruning never races a swap. Pruning keeps the live version and the one it replaced (a
reader may be loading it) and never touches a `.tmp` folder whose owner is still running.
Readers take no lock: they resolve the link once and read one whole version (`index/store.py`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from rag.errors import RagError

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 900.0  # seconds a writer waits for another build before giving up with a clear line
_TMP = re.compile(r"^\d{8}T\d{6}-(\d+)-\d+\.tmp$")
_thread_lock = threading.Lock()  # where flock is missing (not POSIX): at least one writer per process


def versions_dir(index_dir: Path) -> Path:
    return index_dir.parent / (index_dir.name + "-versions")


def lock_path(index_dir: Path) -> Path:
    return index_dir.parent / (index_dir.name + ".lock")


@contextmanager
def writer_lock(index_dir: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the index's cross-process writer lock (an flock on `<index>.lock`).

    flock locks belong to the open file, so two threads of one process exclude each other
    too. A waiting writer logs once and polls; after `timeout` seconds it gives up.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        with _thread_lock:
            yield
        return
    path = lock_path(Path(index_dir))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline, warned = time.monotonic() + timeout, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not warned:
                    log.warning("another build of %s is running: waiting for it to finish", index_dir)
                    warned = True
                if time.monotonic() > deadline:
                    raise RagError(
                        f"another build of {index_dir} has held {path} for over {timeout:.0f} s: wait for it to finish or stop it"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(index_dir: Path, write: Callable[[Path], None]) -> Path:
    """Write a new version with `write(folder)` and make it live; returns its folder.

    The caller holds `writer_lock`. Files and folders are fsync-ed before the link swap, so
    after a power cut the link points at a complete version, old or new (a file hard-linked from
    a published version was fsync-ed then; the new folder's entry for it is, with the folder).
    """
    index_dir = Path(index_dir)
    if index_dir.exists() and not index_dir.is_symlink():
        raise RagError(f"{index_dir} exists and is not an index link made by `rag index`; move it away first")
    vdir = versions_dir(index_dir)
    vdir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = vdir / (stamp + ".tmp")
    tmp.mkdir()
    try:
        write(tmp)
        for f in tmp.iterdir():
            if f.stat().st_nlink == 1:  # a hard-linked file is a published version's, fsync-ed when it was written
                _fsync(f)
        _fsync(tmp)
        final = vdir / stamp
        tmp.rename(final)
        _fsync(vdir)
        link_tmp = index_dir.parent / (index_dir.name + f".link-{os.getpid()}-{threading.get_ident()}")
        if link_tmp.is_symlink() or link_tmp.exists():
            link_tmp.unlink()
        link_tmp.symlink_to(final.relative_to(index_dir.parent))
        os.replace(link_tmp, index_dir)
        _fsync(index_dir.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune(index_dir: Path, keep: Iterable[Path] = ()) -> list[Path]:
    """Delete old versions; returns what was deleted. The caller holds `writer_lock`.

    Kept: the live version, everything in `keep` (the version the swap replaced: a reader may
    be loading it), and every `.tmp` folder whose owner process is alive (or unknown).
    """
    vdir = versions_dir(Path(index_dir))
    if not vdir.is_dir():
        return []
    kept = {p.resolve() for p in keep}
    if Path(index_dir).is_symlink():
        kept.add(Path(index_dir).resolve())
    gone = []
    for p in sorted(vdir.iterdir()):
        if not p.is_dir() or p.resolve() in kept:
            continue
        if p.name.endswith(".tmp"):
            m = _TMP.match(p.name)
            if not m or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
                continue  # a build in progress (or a name we did not make): not ours to delete
        shutil.rmtree(p, ignore_errors=True)
        gone.append(p)
    return gone
