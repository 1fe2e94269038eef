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
    assert set(store_mod.live_files(idx)) == {p.name for p in corpus_copy.iterdir()}
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


def _appended(corpus_copy):
    (corpus_copy / "zz_ferry.txt").write_text(
        "Divers recovered a brass bell from the wreck of the ferry Ostrava.\nThe bell weighed 40 kilograms.\n", encoding="utf-8"
    )


def test_an_appended_article_is_one_more_segment_and_loads_as_a_build_at_once(corpus_copy, tmp_path):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    build(corpus_copy, idx, emb)
    old = idx.resolve()
    old_files = {p.name: (p.stat().st_ino, p.read_bytes()) for p in old.iterdir()}
    _appended(corpus_copy)
    r = build(corpus_copy, idx, emb)
    new = idx.resolve()
    assert r.embedded_files == ["zz_ferry.txt"] and r.bm25_seconds >= 0 and r.write_seconds > 0
    # The earlier articles, spans and BM25 postings are the previous version's files, hard-linked.
    for name in ("articles.json", "spans.json", "files.json", "bm25.0.rows.npy", "bm25.0.tf.npy"):
        assert (new / name).stat().st_ino == old_files[name][0]
    assert (new / "articles.1.json").exists() and (new / "files.1.json").exists() and (new / "bm25.1.rows.npy").exists()
    seg = json.loads((new / "manifest.json").read_text())["segments"][1]
    assert seg == {"articles": 1, "sentences": 2, "chunks": 1, "names": store_mod.layout.names_digest(["zz_ferry.txt"])}
    # The previous version is untouched (a reader may still be loading it).
    assert {p.name: (p.stat().st_ino, p.read_bytes()) for p in old.iterdir()} == old_files
    once = build(corpus_copy, tmp_path / "once", emb).store
    for st in (r.store, load(idx, emb.fingerprint)):
        assert st.sentences == once.sentences and st.chunks == once.chunks and st.articles == once.articles
        for q in ("brass bell of the ferry", "How many attackers came in a white vehicle?", "Karachi police office"):
            assert np.array_equal(st.bm25.scores(q), once.bm25.scores(q))


def test_a_crash_mid_append_keeps_the_previous_version_whole(corpus_copy, tmp_path, monkeypatch):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    build(corpus_copy, idx, emb)
    old = idx.resolve()
    old_files = {p.name: p.read_bytes() for p in old.iterdir()}
    _appended(corpus_copy)
    real = store_mod.vectors.save

    def save_then_fail(index, path):
        real(index, path)
        if path.name.startswith("chunks"):
            raise OSError("disk full")  # after the segments were linked and the new one written

    monkeypatch.setattr(store_mod.vectors, "save", save_then_fail)
    with pytest.raises(OSError):
        build(corpus_copy, idx, emb)
    assert idx.resolve() == old and {p.name: p.read_bytes() for p in old.iterdir()} == old_files
    assert not [p for p in (tmp_path / "index-versions").iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(store_mod.vectors, "save", real)
    assert "zz_ferry.txt" in build(corpus_copy, idx, emb).embedded_files
    st = load(idx, emb.fingerprint)
    assert st.sentences[-1].article_id == "zz_ferry.txt" and st.bm25.search("brass bell", 1)[0][0] == len(st.sentences) - 2
