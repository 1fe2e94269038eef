import json

import numpy as np
import pytest
from conftest import HashEmbedder

from index import store as store_mod
from index import vectors
from index.store import build, load
from rag.errors import RagError


def test_build_save_load_search_round_trip(corpus_copy, tmp_path):
    emb = HashEmbedder()
    idx = tmp_path / "data" / "index"
    r = build(corpus_copy, idx, emb)
    assert r.articles == 5 and r.sentences > 100 and len(r.embedded_files) == 5
    st = load(idx, emb.fingerprint)
    assert len(st.sentences) == r.sentences and st.sentence_index.ntotal == r.sentences
    q = emb.embed(["How many attackers came in a white vehicle?"])
    # FAISS top-k equals a brute-force cosine top-k over the stored vectors.
    scores, ids = vectors.search(st.sentence_index, q, 10)
    brute = np.argsort(-(st.sentence_vectors @ q[0]), kind="stable")[:10]
    assert np.allclose(np.sort(scores[0]), np.sort((st.sentence_vectors @ q[0])[brute]), atol=1e-5)
    # The loaded sentences slice back into the stored article text, which is the file's text.
    for s in st.sentences:
        text = st.articles[s.article_id].text
        assert text[s.start : s.end] == s.text and text in (corpus_copy / s.article_id).read_text(encoding="utf-8")
    manifest = json.loads((idx / "manifest.json").read_text())
    assert manifest["embedder"]["fingerprint"] == emb.fingerprint
    assert set(manifest["files"]) == {p.name for p in corpus_copy.iterdir()}
    assert {"python", "numpy", "faiss"} <= set(manifest["versions"]) and manifest["created_at"]


def test_incremental_reindex_reuses_unchanged_and_drops_removed(corpus_copy, tmp_path):
    class Counting(HashEmbedder):
        calls = 0

        def embed(self, texts, progress=None):
            Counting.calls += len(texts)
            return super().embed(texts, progress)

    emb = Counting()
    idx = tmp_path / "index"
    build(corpus_copy, idx, emb)
    first = Counting.calls
    r = build(corpus_copy, idx, emb)
    assert Counting.calls == first and len(r.reused_files) == 5 and not r.embedded_files
    victim = sorted(corpus_copy.iterdir())[0]
    victim.unlink()
    changed = sorted(corpus_copy.iterdir())[0]
    changed.write_text(changed.read_text() + "\nA brand new closing sentence about the inquiry.\n")
    r = build(corpus_copy, idx, emb)
    assert r.removed_files == [victim.name] and r.embedded_files == [changed.name]
    st = load(idx, emb.fingerprint)
    assert victim.name not in {s.article_id for s in st.sentences}
    assert any("brand new closing sentence" in s.text for s in st.sentences)
    # Reused vectors are identical to freshly computed ones.
    fresh = emb.embed([s.text for s in st.sentences])
    assert np.allclose(fresh, st.sentence_vectors, atol=1e-6)


def test_mismatched_manifest_is_refused_with_advice(corpus_copy, tmp_path):
    idx = tmp_path / "index"
    build(corpus_copy, idx, HashEmbedder())
    with pytest.raises(RagError, match="rag index"):
        load(idx, "another-embedder")
    with pytest.raises(RagError, match="chunk_size"):
        load(idx, HashEmbedder.fingerprint, chunk_size=5)


def test_missing_and_corrupted_index_are_clear_errors(corpus_copy, tmp_path):
    with pytest.raises(RagError, match="no index"):
        load(tmp_path / "nothing")
    idx = tmp_path / "index"
    build(corpus_copy, idx, HashEmbedder())
    (idx / "sentences.faiss").write_bytes(b"garbage")
    with pytest.raises(RagError, match="unreadable"):
        load(idx, HashEmbedder.fingerprint)
    (idx / "manifest.json").write_text("{not json")
    with pytest.raises(RagError, match="unreadable"):
        load(idx, HashEmbedder.fingerprint)


def test_a_crash_mid_write_keeps_the_previous_index(corpus_copy, tmp_path, monkeypatch):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    build(corpus_copy, idx, emb)
    before = load(idx, emb.fingerprint)
    (corpus_copy / "new.txt").write_text("A new report arrived today. It says little.")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(store_mod.vectors, "save", boom)
    with pytest.raises(OSError):
        build(corpus_copy, idx, emb)
    after = load(idx, emb.fingerprint)
    assert len(after.sentences) == len(before.sentences)
    assert not [p for p in (tmp_path / "index-versions").iterdir() if p.name.endswith(".tmp")]


def test_hnsw_recall_against_flat():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[:50] + 0.05 * rng.normal(size=(50, 32)).astype(np.float32)
    flat, hnsw = vectors.build(x, "flat"), vectors.build(x, "hnsw")
    assert vectors.kind_of(flat) == "flat" and vectors.kind_of(hnsw) == "hnsw"
    _, a = vectors.search(flat, q, 10)
    _, b = vectors.search(hnsw, q, 10)
    recall = np.mean([len(set(a[i]) & set(b[i])) / 10 for i in range(len(q))])
    assert recall >= 0.9
