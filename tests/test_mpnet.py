import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rag.errors import RagError


@pytest.fixture(scope="module")
def mpnet():
    from index.mpnet import MPNetEmbedder, packaged_mpnet_path
    from rag.config import load_config

    return MPNetEmbedder(packaged_mpnet_path(load_config(env={}).models_dir))


@pytest.mark.models
def test_numpy_mpnet_matches_sentence_transformers(mpnet):
    """Oracle: the NumPy forward pass equals sentence-transformers on the same weights, in one
    padded batch of short and long texts (a long one reaches the far relative-position buckets)."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(mpnet.folder), device="cpu")
    texts = [
        "The Karachi Police Office is on Shahrae Faisal.",
        "How many attackers were there?",
        "x",
        "Über café — naïve 4.5 km pic.twitter.com/2FF",
        "The gunmen entered the five-storey building after dark, officials said, and the operation lasted hours. " * 12,
    ]
    ours = mpnet.embed(texts)
    ref = st.encode(texts, normalize_embeddings=True)
    assert ours.shape == (5, 768)
    assert np.min(np.sum(ours * ref, axis=1)) > 0.9999


@pytest.mark.models
def test_relative_position_buckets_match_the_reference():
    import torch
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

    from index.mpnet import _buckets

    seq = 300
    rel = torch.arange(seq)[None, :] - torch.arange(seq)[:, None]
    ref = MPNetEncoder.relative_position_bucket(rel, num_buckets=32).numpy()
    assert np.array_equal(_buckets(seq), ref)


def _fake_parts(tmp_path, payload: dict[str, bytes]) -> list:
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w") as z:
        for name, data in payload.items():
            z.writestr(f"all-mpnet-base-v2/{name}", data)
    raw = whole.read_bytes()
    cut = len(raw) // 2
    pieces = [tmp_path / "p.001", tmp_path / "p.002"]
    pieces[0].write_bytes(raw[:cut])
    pieces[1].write_bytes(raw[cut:])
    return pieces, hashlib.sha256(raw).hexdigest()


def test_parts_are_joined_once_and_checked(tmp_path, monkeypatch):
    import index.mpnet as m

    files = {"model.safetensors": b"weights", "tokenizer.json": b"{}", "config.json": b"{}", "README.md": b"unused"}
    pieces, zip_sha = _fake_parts(tmp_path, files)
    calls = []
    monkeypatch.setattr(m, "PARTS", ("a", "b"))
    monkeypatch.setattr(m, "_part_file", lambda name: calls.append(name) or pieces[len(calls) - 1])
    monkeypatch.setattr(m, "ZIP_SHA256", zip_sha)
    monkeypatch.setattr(m, "WEIGHTS_SHA256", hashlib.sha256(b"weights").hexdigest())
    folder = m.packaged_mpnet_path(tmp_path / "models")
    assert (folder / "model.safetensors").read_bytes() == b"weights"
    assert not (folder / "README.md").exists() and not list(folder.glob("joined-*"))
    assert m.packaged_mpnet_path(tmp_path / "models") == folder and calls == ["a", "b"]  # not joined again


def test_a_corrupt_part_is_refused_and_nothing_is_kept(tmp_path, monkeypatch):
    import index.mpnet as m

    pieces, zip_sha = _fake_parts(tmp_path, {"model.safetensors": b"w", "tokenizer.json": b"{}", "config.json": b"{}"})
    pieces[1].write_bytes(pieces[1].read_bytes()[:-3] + b"xyz")
    monkeypatch.setattr(m, "PARTS", ("a", "b"))
    it = iter(pieces)
    monkeypatch.setattr(m, "_part_file", lambda name: next(it))
    monkeypatch.setattr(m, "ZIP_SHA256", zip_sha)
    with pytest.raises(RagError, match="sha256"):
        m.packaged_mpnet_path(tmp_path / "models")
    folder = tmp_path / "models" / "all-mpnet-base-v2"
    assert not (folder / ".sha256-ok").exists() and not list(folder.glob("joined-*"))


def test_a_missing_part_package_says_how_to_install(monkeypatch):
    import index.mpnet as m

    monkeypatch.setattr(m, "PARTS", ("no-such-package-for-rag-tests",))
    with pytest.raises(RagError, match=r"\[mpnet\]"):
        m._part_file("no-such-package-for-rag-tests")


@pytest.mark.models
def test_the_embedder_setting_names_mpnet_and_the_peers_get_its_folder(tmp_path):
    from evals.run import _peer_embedder
    from index.embedding import load_embedder
    from index.mpnet import MPNetEmbedder
    from rag.config import load_config

    cfg = load_config(overrides={"embedder": "mpnet"}, env={})
    emb = load_embedder(cfg.embedder, cfg.models_dir)
    assert isinstance(emb, MPNetEmbedder) and emb.dim == 768
    assert (Path(_peer_embedder(cfg)) / "model.safetensors").is_file()
    assert load_embedder("minilm").dim == 384 and load_embedder("bundled").dim == 384
