"""Milvus as the search engine (`vector_store`): the same rankings, answers and eval scores as FAISS
and bm25s, versions and incremental updates that behave the same, and one-line errors.

Milvus Lite runs embedded in a tmp file: no server needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, ROOT, HashEmbedder, ScriptedGenerator

from rag.config import load_config
from rag.errors import RagError

pytest.importorskip("pymilvus")


class GenericEmbedder(HashEmbedder):
    """The hashed bag of words plus a small vector drawn from the text's hash: like a real
    model's, two different texts almost never get exactly equal cosines with a query (the bag of
    words alone gives whole tie groups at 0, whose order is FAISS' float noise), while the same
    text always gets the same vector (duplicates still tie, and their order is checked)."""

    fingerprint = "hash-bow-generic-v1"

    def embed(self, texts, **kw):
        import hashlib

        base = super().embed(texts)
        noise = np.stack(
            [np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).normal(size=base.shape[1]) for t in texts]
        )
        out = base + 0.05 * noise / np.linalg.norm(noise, axis=1, keepdims=True)
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def lists(store, emb, queries):
    """Every ranked list retrieval fuses, for each query: keyword, dense sentences, dense chunks."""
    out = []
    for q in queries:
        qv = emb.embed([q])[0]
        out.append(
            (
                [r for r, _ in store.backend.keyword(q, 60)],
                [r for r, _ in store.backend.dense(qv, 60, "sentences")],
                [r for r, _ in store.backend.dense(qv, 60, "chunks")],
            )
        )
    return out


def questions() -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "evals" / "cases.jsonl").read_text().splitlines() if line.strip()]
    return [r["question"] for r in rows if r.get("question")]


def test_vector_store_setting_is_validated_and_shown_with_its_source():
    assert load_config(env={}).vector_store == "faiss"
    for good in ("faiss", "data/rag.db", "http://milvus:19530", "https://user:pw@milvus.example:443"):
        cfg = load_config(env={"RAG_VECTOR_STORE": good})
        assert cfg.vector_store == good and cfg.sources["vector_store"] == "env RAG_VECTOR_STORE"
    assert load_config(env={"RAG_VECTOR_STORE": "https://user:pw@m:443"}).public()["vector_store"] == "https://***@m:443"
    for bad in ("milvus", "http://", "tcp://m:19530", "rag.sqlite", "ftp://x.db"):
        with pytest.raises(RagError) as e:
            load_config(env={"RAG_VECTOR_STORE": bad})
        assert str(e.value) == (
            f"config vector_store = {bad} (from env RAG_VECTOR_STORE): "
            "must be faiss, a Milvus Lite file ending in .db, or a Milvus URI http(s)://host:port"
        )


def test_default_path_never_imports_pymilvus():
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, 'tests'); from conftest import HashEmbedder, CORPUS;"
        "from index.store import build; from rag.retrieve import retrieve; import tempfile;"
        "d = Path(tempfile.mkdtemp()); r = build(CORPUS, d / 'index', HashEmbedder());"
        "retrieve(r.store, HashEmbedder(), 'attack on the police office');"
        "print('pymilvus' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_flat_order_replays_faiss_ties():
    """Oracle: FAISS' own flat search on vectors with many exact ties (small integer coordinates)."""
    import faiss

    from index.milvus import flat_order

    rng = np.random.default_rng(3)
    vecs = rng.integers(0, 2, size=(300, 6)).astype(np.float32)
    index = faiss.IndexFlatIP(6)
    index.add(vecs)
    for q in rng.integers(0, 3, size=(20, 6)).astype(np.float32):
        scores = vecs @ q
        for k in (1, 7, 60):
            d, i = index.search(q[None], k)
            want = [(int(r), float(s)) for r, s in zip(i[0], d[0], strict=True)]
            kth = np.sort(scores)[::-1][k - 1]
            assert flat_order([(r, float(s)) for r, s in enumerate(scores) if s >= kth], k) == want


def test_milvus_gives_the_same_rankings_and_answers_as_faiss(tmp_path):
    """Keyword lists equal bm25s' exactly (scores, ties); dense lists equal FAISS' flat search;
    the fused hits of every question in evals/cases.jsonl agree."""
    from index.store import build, load
    from rag.retrieve import retrieve

    emb = GenericEmbedder()
    db = str(tmp_path / "rag.db")
    report = build(CORPUS, tmp_path / "index", emb, vector_store=db)
    assert report.store.backend.name == "milvus"
    local = load(tmp_path / "index", emb.fingerprint)
    remote = load(tmp_path / "index", emb.fingerprint, vector_store=db)
    qs = questions()
    assert lists(local, emb, qs) == lists(remote, emb, qs)  # the same rows in the same order, ties included
    assert sum(bool(x[0]) for x in lists(remote, emb, qs)) > 0.9 * len(qs)  # keyword lists are not empty
    for q in qs:
        a, b = local.backend.keyword(q, 60), remote.backend.keyword(q, 60)
        assert np.allclose([s for _, s in a], [s for _, s in b], rtol=1e-5)  # bm25s' scores
        ra, rb = retrieve(local, emb, q), retrieve(remote, emb, q)
        assert ra.hits == rb.hits and ra.pool == rb.pool and abs(ra.max_similarity - rb.max_similarity) < 1e-5


def test_eval_scores_are_the_same_with_milvus(tmp_path, monkeypatch):
    """`rag eval`'s scoring on the bundled corpus, with a model that answers from its first
    excerpt (so any retrieval difference changes what is cited and scored)."""
    import rag.wiring
    from evals import run as eval_run

    monkeypatch.setattr(rag.wiring, "build_embedder", lambda cfg: GenericEmbedder())

    def first_excerpt(messages):
        line = next((x for x in messages[-1]["content"].splitlines() if x.startswith("[1] ")), "")
        return line[4:] or "I don't know."

    scores = {}
    for store in ("faiss", str(tmp_path / "rag.db")):
        cfg = load_config(overrides={"data_dir": tmp_path / Path(store).stem, "vector_store": store, "judge": False}, env={})
        report = eval_run.run_eval(
            cfg, CORPUS, ROOT / "evals" / "cases.jsonl", dense=False, peer=False, generator=ScriptedGenerator([first_excerpt] * 500)
        )
        timing = ("ttft", "total", "decode", "_s")
        scores[store] = (
            {k: m["value"] for k, m in report["systems"]["ours"]["metrics"].items() if not any(t in k for t in timing)},
            [
                (
                    it["case_id"],
                    {k: v for k, v in it["scores"].items() if not any(t in k for t in timing)},
                    {k: v for k, v in it["output"].items() if not any(t in k for t in timing) and k != "extra"},
                    {k: v for k, v in it["output"]["extra"].items() if k != "timings_ms"},
                )
                for it in report["systems"]["ours"]["items"]
            ],
        )
    faiss_scores, milvus_scores = scores.values()
    assert faiss_scores == milvus_scores
    assert {"article_mrr", "sentence_ndcg@10", "key_fact_recall", "citation_recall"} <= set(faiss_scores[0])


def add_and_remove(corpus_copy, idx, emb, vector_store: str, count_rows: bool = False):
    """Add an article, then remove it, through `vector_store` (a Milvus Lite file or a server URI):
    each version searches as FAISS does, its collections are the live ones (holding its rows, when
    `count_rows`), and a pruned version's collections are dropped. Returns (check, mine) for more."""
    from index.milvus import connect, prefix
    from index.store import build, load
    from rag.retrieve import retrieve

    client = connect(vector_store)

    def mine():
        return sorted(c for c in client.list_collections() if c.startswith(prefix(idx)))

    def check(report, q):
        store = load(idx, emb.fingerprint, vector_store=vector_store)
        local = load(idx, emb.fingerprint)
        assert store.version == report.store.version and len(store.sentences) == report.sentences
        assert lists(store, emb, [q]) == lists(local, emb, [q])
        assert set(store.manifest["milvus"][k] for k in ("sentences", "chunks")) <= set(mine())
        if count_rows:
            assert client.get_collection_stats(store.manifest["milvus"]["sentences"])["row_count"] == report.sentences
        return retrieve(store, emb, q)

    first = build(corpus_copy, idx, emb, vector_store=vector_store)
    (corpus_copy / "zz_zeppelin.txt").write_text("Zeppelin lands\n\nA zeppelin landed in the harbour on Tuesday. Nobody was hurt.\n")
    added = build(corpus_copy, idx, emb, vector_store=vector_store)
    assert added.embedded_files == ["zz_zeppelin.txt"]
    top = check(added, "zeppelin harbour").hits[0].sentence
    assert top.article_id == "zz_zeppelin.txt" and top.text == "A zeppelin landed in the harbour on Tuesday."
    assert len(mine()) == 4  # the live version and the one it replaced, two collections each
    (corpus_copy / "zz_zeppelin.txt").unlink()
    removed = build(corpus_copy, idx, emb, vector_store=vector_store)
    assert removed.removed_files == ["zz_zeppelin.txt"]
    assert all(h.sentence.article_id != "zz_zeppelin.txt" for h in check(removed, "zeppelin harbour").hits)
    assert first.store.manifest["milvus"]["sentences"] not in mine()  # pruned with its version
    assert len(mine()) == 4
    return check, mine


def test_add_remove_and_rebuild_behave_as_with_faiss(tmp_path, corpus_copy):
    from index.store import build

    emb = GenericEmbedder()
    db = str(tmp_path / "rag.db")
    idx = tmp_path / "data" / "index"
    check, mine = add_and_remove(corpus_copy, idx, emb, db)
    rebuilt = build(corpus_copy, idx, emb, vector_store=db, rebuild=True)
    check(rebuilt, "police office attack")
    assert len(mine()) == 4


def test_unreachable_milvus_is_one_line_and_loses_nothing(tmp_path):
    from index.store import build, load

    emb = HashEmbedder()
    idx = tmp_path / "index"
    before = build(CORPUS, idx, emb)
    with pytest.raises(RagError, match=r"^cannot open Milvus at http://127\.0\.0\.1:9/?: .*server unavailable") as e:
        build(CORPUS, idx, emb, vector_store="http://127.0.0.1:9")
    assert "\n" not in str(e.value)
    assert idx.resolve().name == before.store.version  # the live version is untouched
    with pytest.raises(RagError, match=r"built without Milvus: run `rag index` with vector_store = http://\*\*\*@127"):
        load(idx, emb.fingerprint, vector_store="http://me:secret@127.0.0.1:9")
    build(CORPUS, idx, emb, vector_store=str(tmp_path / "rag.db"))
    with pytest.raises(RagError, match=r"^cannot open Milvus at http://\*\*\*@127\.0\.0\.1:9"):
        load(idx, emb.fingerprint, vector_store="http://me:secret@127.0.0.1:9")


def test_a_server_without_full_text_search_keeps_keyword_search_local(caplog):
    """The server's version decides: from 2.5 BM25 runs in Milvus, 2.3-2.4 locally (one warning),
    before 2.3 a one-line RagError naming the version needed; Milvus Lite is never asked."""
    from index.milvus import full_text

    class Server:
        def __init__(self, version):
            self.version, self.asked = version, 0

        def get_server_version(self):
            self.asked += 1
            return self.version

    uri = "http://me:secret@milvus:19530"
    assert full_text(uri, Server("v2.5.4")) and full_text(uri, Server("2.6.0")) and full_text(uri, Server("master-dev"))
    assert not caplog.records
    with caplog.at_level("WARNING", logger="index.milvus"):
        assert not full_text(uri, Server("v2.4.13"))
    assert [r.getMessage() for r in caplog.records] == [
        "Milvus at http://***@milvus:19530 is v2.4.13, which has no BM25 full-text search (Milvus 2.5 or later): "
        "dense search runs in Milvus, keyword search on the index's own BM25 in this process"
    ]
    with pytest.raises(RagError) as e:
        full_text(uri, Server("v2.2.16"))
    assert (
        str(e.value)
        == "Milvus at http://***@milvus:19530 is v2.2.16: needs Milvus 2.3 or later (2.5 or later for keyword search in Milvus)"
    )
    lite = Server("v2.2.0")
    assert full_text("data/rag.db", lite) and lite.asked == 0
