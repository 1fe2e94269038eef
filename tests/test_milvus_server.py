"""Milvus through a server URI (`vector_store = "http://127.0.0.1:PORT"`), against a real Milvus
standalone: the `milvus` package's embedded server (v2.3.5, started once for this module on a
free port, in a tmp folder, stopped at the end).

Milvus 2.3 has no BM25 full-text search: dense search runs in the server, keyword search on the
version's own BM25 in this process, and `rag index` says so in one log line. Rankings, fused hits
and incremental builds are those of FAISS + bm25s."""

from __future__ import annotations

import logging
import shutil
import socket

import pytest
from conftest import CORPUS, HashEmbedder

pytest.importorskip("pymilvus")
pytest.importorskip("milvus", reason="the `milvus` package (embedded Milvus standalone server) is not installed")

from test_milvus import GenericEmbedder, add_and_remove, lists, questions  # noqa: E402  (after the skips)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_uri(tmp_path_factory):
    """A Milvus standalone on free ports, its data in a tmp folder. Its embedded etcd's peer port
    (fixed at 2380 by the package) is moved too, so it can run beside another Milvus."""
    import os

    from milvus import MilvusServer, MilvusServerConfig

    folder = tmp_path_factory.mktemp("milvus-server")
    port, etcd, peer = _free_port(), _free_port(), _free_port()
    (folder / "etcd.yaml").write_text(
        f"name: default\nlisten-client-urls: http://127.0.0.1:{etcd}\nadvertise-client-urls: http://127.0.0.1:{etcd}\n"
        f"listen-peer-urls: http://127.0.0.1:{peer}\ninitial-advertise-peer-urls: http://127.0.0.1:{peer}\n"
        f"initial-cluster: default=http://127.0.0.1:{peer}\n"
    )
    server = MilvusServer(MilvusServerConfig(), wait_for_started=False, proxy_port=port, etcd_port=etcd)
    server.set_base_dir(str(folder / "data"))
    saved = os.environ.get("ETCD_CONFIG_PATH")
    os.environ["ETCD_CONFIG_PATH"] = str(folder / "etcd.yaml")  # read by the server process at its start
    try:
        server.start()
        server.wait_started(timeout=120_000)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)  # its 246 MB of unpacked binaries, not kept with pytest's tmp folders
        if saved is None:
            os.environ.pop("ETCD_CONFIG_PATH", None)
        else:
            os.environ["ETCD_CONFIG_PATH"] = saved


def test_the_server_is_a_milvus_without_full_text_search(server_uri):
    from index.milvus import FULL_TEXT, connect, version_of

    version = version_of(connect(server_uri).get_server_version())
    assert version is not None and (2, 3) <= version < FULL_TEXT  # what the rest of this module is about


def test_retrieval_through_the_uri_equals_faiss(tmp_path, server_uri, caplog):
    """Every question of evals/cases.jsonl: the same ranked lists (rows, order, ties) and the
    same fused hits (sentence ids, in order) as FAISS + bm25s on the same version."""
    from index.store import build, load
    from rag.retrieve import retrieve

    emb = GenericEmbedder()
    with caplog.at_level(logging.INFO, logger="index.milvus"):
        report = build(CORPUS, tmp_path / "index", emb, vector_store=server_uri)
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "index.milvus"]
    assert said == [
        f"Milvus at {server_uri} is v2.3.5-lite, which has no BM25 full-text search (Milvus 2.5 or later): "
        "dense search runs in Milvus, keyword search on the index's own BM25 in this process"
    ]
    record = report.store.manifest["milvus"]
    assert record["keyword"] == "local" and report.store.backend.name == "milvus"
    local = load(tmp_path / "index", emb.fingerprint)
    remote = load(tmp_path / "index", emb.fingerprint, vector_store=server_uri)
    qs = questions()
    assert len(qs) >= 50
    got, want = lists(remote, emb, qs), lists(local, emb, qs)
    assert got == want  # keyword (local BM25), dense sentences and dense chunks (in the server)
    assert sum(bool(x[1]) for x in got) == len(qs)  # the server answered every dense search
    for q in qs:
        ra, rb = retrieve(local, emb, q), retrieve(remote, emb, q)
        assert [h.sentence.id for h in rb.hits] == [h.sentence.id for h in ra.hits]
        assert rb.hits == ra.hits and rb.pool == ra.pool and abs(ra.max_similarity - rb.max_similarity) < 1e-5


def test_incremental_add_and_remove_through_the_uri_behave_as_with_faiss(tmp_path, corpus_copy, server_uri):
    add_and_remove(corpus_copy, tmp_path / "data" / "index", GenericEmbedder(), server_uri, count_rows=True)


def test_a_version_built_for_the_server_is_searched_there(tmp_path, server_uri):
    """Reading it through Milvus Lite instead (another Milvus, without its collections) is one line."""
    from index.store import build, load
    from rag.errors import RagError

    emb = HashEmbedder()
    build(CORPUS, tmp_path / "index", emb, vector_store=server_uri)
    with pytest.raises(
        RagError, match=r"^Milvus at .*rag\.db has no collection rag_\w+_s for this index version: run `rag index --rebuild`$"
    ):
        load(tmp_path / "index", emb.fingerprint, vector_store=str(tmp_path / "rag.db"))
