"""The index keeps working and loses nothing: one corpus per index, one writer at a time,
readers see one whole version, broken manifests are clear and repairable, uploads are never
left half-added, and adding one article does not redo the others."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import HashEmbedder, ScriptedGenerator, as_format_1

import index.reading as reading
from index import store as store_mod
from index.store import build, load
from rag.errors import RagError

# --- helpers -----------------------------------------------------------------------------------


def _articles(folder: Path, names: dict[str, str], age_s: float = 3600) -> Path:
    """Write articles into `folder` with an mtime `age_s` seconds in the past."""
    folder.mkdir(parents=True, exist_ok=True)
    past = time.time() - age_s
    for name, text in names.items():
        (folder / name).write_text(text, encoding="utf-8")
        os.utime(folder / name, (past, past))
    return folder


NEWS = {
    "dam.txt": "Flood waters broke the old dam on Tuesday. Engineers said repairs will take a year.\n",
    "mayor.txt": "The mayor opened the new bridge on Friday. Traffic moved within the hour.\n",
}


def _cfg(data_dir: Path, default_corpus: Path):
    """A config whose corpus is the *default* (not named by the user), pointing at a copy."""
    from rag.config import load_config

    cfg = load_config(overrides={"data_dir": data_dir, "feedback_file": data_dir / "fb.jsonl"}, env={})
    cfg.corpus = default_corpus  # still sourced "default": what `rag chat` gets without settings
    assert cfg.sources["corpus"] == "default"
    return cfg


def _engine(cfg, emb):
    from rag.answer import Engine
    from rag.verify import HeuristicVerifier
    from rag.wiring import load_store

    return Engine(store=load_store(cfg, emb), embedder=emb, generator=ScriptedGenerator(), verifier=HeuristicVerifier(emb), config=cfg)


# --- one index, one corpus ---------------------------------------------------------------------


def test_chat_upload_after_indexing_another_folder_keeps_that_folder(tmp_path, corpus_copy):
    """`rag index ~/news`, `rag chat`, add an article: it lands in ~/news and nothing is dropped
    (the old code rebuilt from the default corpus/ and silently lost the user's articles)."""
    from ui.corpus import Library

    emb = HashEmbedder()
    news = _articles(tmp_path / "news", NEWS)
    cfg = _cfg(tmp_path / "data", corpus_copy)
    build(news, cfg.index_dir, emb)
    engine = _engine(cfg, emb)
    msg = Library(cfg, engine).add("quake.txt", b"A small quake shook the coast at dawn. No damage was reported.\n")
    assert "Added quake.txt" in msg
    assert (news / "quake.txt").exists() and not (corpus_copy / "quake.txt").exists()
    assert set(engine.store.articles) == {"dam.txt", "mayor.txt", "quake.txt"}
    assert set(load(cfg.index_dir, emb.fingerprint).articles) == {"dam.txt", "mayor.txt", "quake.txt"}


def test_a_chat_whose_corpus_was_named_elsewhere_adds_nothing_to_either_folder(tmp_path, corpus_copy):
    """An app built with corpus = X over an index of ~/news (not through `rag chat`'s start-up
    check) refuses the upload: before, it was written into ~/news behind the user's back."""
    from rag.config import load_config
    from ui.corpus import Library

    emb = HashEmbedder()
    news = _articles(tmp_path / "news", NEWS)
    data = tmp_path / "data"
    cfg = load_config(overrides={"data_dir": data, "corpus": corpus_copy, "feedback_file": data / "fb.jsonl"}, env={})
    build(news, cfg.index_dir, emb)
    engine = _engine(cfg, emb)
    with pytest.raises(RagError, match="holds the articles of .*nothing added"):
        Library(cfg, engine).add("quake.txt", b"A small quake shook the coast at dawn. No damage was reported.\n")
    assert not (news / "quake.txt").exists() and not (corpus_copy / "quake.txt").exists()
    assert set(load(cfg.index_dir, emb.fingerprint).articles) == {"dam.txt", "mayor.txt"}


def test_cli_index_uses_the_remembered_folder_and_refuses_another(cli, tmp_path, capsys):
    news = _articles(tmp_path / "news", NEWS)
    other = _articles(tmp_path / "other", {"x.txt": "A storm closed the port. Ships waited offshore.\n"})
    data = str(tmp_path / "data")
    assert cli(["--data-dir", data, "index", str(news)]) == 0
    assert cli(["--data-dir", data, "index"]) == 0  # no folder: the remembered one, not the bundled corpus/
    out = capsys.readouterr().out
    assert f"indexed 2 articles from {news.resolve()}" in out.splitlines()[-1]

    assert cli(["--data-dir", data, "index", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(news.resolve()) in err and "--rebuild" in err
    assert set(load(tmp_path / "data" / "index").articles) == {"dam.txt", "mayor.txt"}  # untouched

    assert cli(["--data-dir", data, "index", str(other), "--rebuild"]) == 0
    captured = capsys.readouterr()
    assert "removed 2 articles no longer in" in captured.err and "dam.txt, mayor.txt" in captured.err
    assert set(load(tmp_path / "data" / "index").articles) == {"x.txt"}


def test_a_named_corpus_that_differs_from_the_index_is_refused_by_chat(cli, tmp_path, capsys, monkeypatch):
    news = _articles(tmp_path / "news", NEWS)
    data = str(tmp_path / "data")
    assert cli(["--data-dir", data, "index", str(news)]) == 0
    monkeypatch.setenv("RAG_CORPUS", str(tmp_path / "elsewhere"))
    import ui.app

    monkeypatch.setattr(ui.app, "main", lambda cfg: pytest.fail("chat must not start"))
    assert cli(["--data-dir", data, "chat"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--rebuild" in err and "RAG_CORPUS" in err


def test_a_removed_file_is_reported_by_the_upload_message(tmp_path, corpus_copy):
    from ui.corpus import Library

    emb = HashEmbedder()
    news = _articles(tmp_path / "news", NEWS)
    cfg = _cfg(tmp_path / "data", corpus_copy)
    build(news, cfg.index_dir, emb)
    engine = _engine(cfg, emb)
    (news / "dam.txt").unlink()
    msg = Library(cfg, engine).add("quake.txt", b"A small quake shook the coast at dawn. No damage was reported.\n")
    assert "removed 1 article no longer in" in msg and "dam.txt" in msg


# --- writers: lock, prune, fsync ---------------------------------------------------------------


def _slow_builder(corpus: str, index_dir: str, inside, other_done) -> None:
    """Build, pausing inside the version folder's writing until the other build is done (at most 4 s)."""
    from index import store
    from index.lexical import BM25

    real = BM25.save  # written by every build (a build with nothing new links the other files)

    def paused(self, folder):
        if not inside.is_set():
            inside.set()
            other_done.wait(4)
        real(self, folder)

    BM25.save = paused
    store.build(Path(corpus), Path(index_dir), HashEmbedder())


def _builder(corpus: str, index_dir: str, times: int) -> None:
    from index import store

    for _ in range(times):
        store.build(Path(corpus), Path(index_dir), HashEmbedder())


def test_two_builds_in_two_processes_both_finish_and_the_index_is_whole(tmp_path, corpus_copy):
    """A pauses while its `.tmp` folder exists; B builds twice meanwhile. The old code's prune
    deleted A's folder (A then died with a faiss RuntimeError); with the lock B waits for A."""
    idx = tmp_path / "data" / "index"
    build(corpus_copy, idx, HashEmbedder())
    ctx = multiprocessing.get_context("spawn")
    inside, other_done = ctx.Event(), ctx.Event()
    a = ctx.Process(target=_slow_builder, args=(str(corpus_copy), str(idx), inside, other_done))
    a.start()
    assert inside.wait(60)
    b = ctx.Process(target=_builder, args=(str(corpus_copy), str(idx), 2))
    b.start()
    b.join(120)
    other_done.set()
    a.join(120)
    assert a.exitcode == 0 and b.exitcode == 0
    st = load(idx, HashEmbedder.fingerprint)
    assert set(st.articles) == {p.name for p in corpus_copy.iterdir()}
    assert np.allclose(HashEmbedder().embed([s.text for s in st.sentences]), st.sentence_vectors, atol=1e-6)
    assert not [p for p in (tmp_path / "data" / "index-versions").iterdir() if p.name.endswith(".tmp")]


def test_prune_keeps_a_running_builds_tmp_folder_and_clears_a_dead_ones(tmp_path, corpus_copy):
    idx = tmp_path / "index"
    vdir = tmp_path / "index-versions"
    vdir.mkdir()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        dead = subprocess.Popen(["true"])
        dead.wait()
        running = vdir / f"20000101T000000-{sleeper.pid}-1.tmp"
        crashed = vdir / f"20000101T000001-{dead.pid}-2.tmp"
        running.mkdir()
        crashed.mkdir()
        for _ in range(3):  # enough versions that the old prune reached the oldest folders
            build(corpus_copy, idx, HashEmbedder())
        assert running.is_dir()
        assert not crashed.exists()
        complete = [p for p in vdir.iterdir() if not p.name.endswith(".tmp")]
        assert len(complete) == 2 and idx.resolve() in {p.resolve() for p in complete}
    finally:
        sleeper.kill()
        sleeper.wait()


def test_files_and_folders_are_fsynced_before_the_swap(tmp_path, corpus_copy, monkeypatch):
    idx = tmp_path / "index"
    build(corpus_copy, idx, HashEmbedder())
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst, **kw):
        events.append(("replace", str(dst)))
        return real_replace(src, dst, **kw)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    first = {p.stat().st_ino for p in idx.resolve().iterdir()}  # fsync-ed when the first version was written
    (corpus_copy / "new.txt").write_text("A new report arrived today. It says little.")
    build(corpus_copy, idx, HashEmbedder())  # an append: one more segment, the first one's files linked
    swap = events.index(("replace", str(idx)))
    synced_before = {Path(p) for kind, p in events[:swap] if kind == "fsync"}
    live = idx.resolve()
    synced = {p.name for p in synced_before if p.parent.name.startswith(live.name)}
    written = {p.name for p in live.iterdir() if p.stat().st_ino not in first}
    assert {"manifest.json", "articles.1.json", "spans.1.json", "files.1.json", "sentences.1.faiss", "chunks.1.faiss"} <= written
    assert written <= synced, written - synced
    assert not synced & {"articles.json", "spans.json", "files.json", "sentences.faiss", "chunks.faiss"}  # linked: durable already
    assert live.parent in synced_before  # the rename of the version folder is durable
    assert ("fsync", str(tmp_path)) in events[swap:]  # and so is the swap of the link


# --- readers see one whole version -------------------------------------------------------------


def _swap_during_load(monkeypatch, corpus: Path, idx: Path, builds: int) -> dict:
    """Run `builds` builds (each adding an article) in the middle of the next `load`."""
    real = store_mod.vectors.load  # the first file read after the spans (the vectors live in the .faiss files)
    state = {"armed": True}

    def hooked(path, *a, **k):
        if state["armed"]:
            state["armed"] = False
            for i in range(builds):
                (corpus / f"late{i}.txt").write_text(f"Late report {i} came in. Officials confirmed the numbers again.\n")
                build(corpus, idx, HashEmbedder())
        return real(path, *a, **k)

    monkeypatch.setattr(store_mod.vectors, "load", hooked)
    return state


def test_a_swap_mid_load_cannot_mix_versions(tmp_path, corpus_copy, monkeypatch):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    build(corpus_copy, idx, emb)
    before = len(load(idx, emb.fingerprint).sentences)
    _swap_during_load(monkeypatch, corpus_copy, idx, builds=1)
    st = load(idx, emb.fingerprint)  # the old code read spans of one version and vectors of the next
    assert len(st.sentences) == before and "late0.txt" not in st.articles
    assert np.allclose(emb.embed([s.text for s in st.sentences]), st.sentence_vectors, atol=1e-6)


def test_a_version_pruned_mid_load_is_replaced_by_the_live_one(tmp_path, corpus_copy, monkeypatch):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    build(corpus_copy, idx, emb)
    _swap_during_load(monkeypatch, corpus_copy, idx, builds=2)
    st = load(idx, emb.fingerprint)
    assert {"late0.txt", "late1.txt"} <= set(st.articles)
    assert np.allclose(emb.embed([s.text for s in st.sentences]), st.sentence_vectors, atol=1e-6)


# --- broken manifests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "manifest",
    [
        "[]",
        '{"articles": 3}',
        '"index"',
        "null",
        '{"format": 1, "corpus": "CORPUS", "embedder": {"name": "n", "fingerprint": "hash-bow-v1"}, '
        '"splitter": {"version": 1, "chunk_size": 3, "chunk_overlap": 1}, "files": []}',
    ],
)
def test_a_manifest_of_the_wrong_shape_is_one_clear_line_and_rag_index_repairs_it(cli, tmp_path, corpus_copy, capsys, manifest):
    data = tmp_path / "data"
    assert cli(["--data-dir", str(data), "index", str(corpus_copy)]) == 0
    (data / "index" / "manifest.json").write_text(manifest.replace("CORPUS", str(corpus_copy.resolve())))
    with pytest.raises(RagError, match=r"rag index") as e:
        load(data / "index", HashEmbedder.fingerprint)
    assert "\n" not in str(e.value)
    capsys.readouterr()
    assert cli(["--data-dir", str(data), "index", str(corpus_copy)]) == 0  # the old code: AttributeError traceback
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and f"indexed {len(list(corpus_copy.iterdir()))} articles" in captured.out
    assert len(load(data / "index", HashEmbedder.fingerprint).articles) == len(list(corpus_copy.iterdir()))


# --- uploads -----------------------------------------------------------------------------------


def test_an_unexpected_error_while_reindexing_removes_the_new_file_and_keeps_the_rest(tmp_path, corpus_copy, monkeypatch):
    from ui.corpus import Library

    emb = HashEmbedder()
    cfg = _cfg(tmp_path / "data", corpus_copy)
    build(corpus_copy, cfg.index_dir, emb)
    engine = _engine(cfg, emb)
    before = sorted(p.name for p in corpus_copy.iterdir())

    def boom(*a, **k):
        raise ValueError("faiss said no")

    monkeypatch.setattr(store_mod.vectors, "build", boom)
    monkeypatch.setattr(store_mod.vectors, "add", boom)  # quake.txt sorts last: its vectors are added, not rebuilt
    with pytest.raises(RagError, match="quake.txt was not added: re-indexing failed: ValueError: faiss said no"):
        Library(cfg, engine).add("quake.txt", b"A small quake shook the coast at dawn. No damage was reported.\n")
    assert sorted(p.name for p in corpus_copy.iterdir()) == before
    assert len(engine.store.articles) == len(before)


def test_a_failure_after_the_swap_keeps_the_indexed_file(tmp_path, corpus_copy, monkeypatch):
    from index import versions
    from ui.corpus import Library

    emb = HashEmbedder()
    cfg = _cfg(tmp_path / "data", corpus_copy)
    build(corpus_copy, cfg.index_dir, emb)
    engine = _engine(cfg, emb)

    def boom(*a, **k):
        raise RuntimeError("prune failed")

    monkeypatch.setattr(versions, "prune", boom)
    with pytest.raises(RagError, match="quake.txt was indexed"):
        Library(cfg, engine).add("quake.txt", b"A small quake shook the coast at dawn. No damage was reported.\n")
    assert (corpus_copy / "quake.txt").exists() and "quake.txt" in load(cfg.index_dir, emb.fingerprint).articles


# --- incremental add ---------------------------------------------------------------------------


def test_adding_one_article_reads_and_splits_only_that_file(tmp_path, monkeypatch):
    corpus = _articles(
        tmp_path / "news", {f"a{i:03d}.txt": f"Report {i} says the river rose. Crews worked all night {i}.\n" for i in range(40)}
    )
    idx = tmp_path / "index"
    emb = HashEmbedder()
    build(corpus, idx, emb)
    calls = {"read": 0, "split": 0}
    real_read, real_split = reading.read_article, store_mod.split

    def counting_read(path):
        calls["read"] += 1
        return real_read(path)

    def counting_split(a):
        calls["split"] += 1
        return real_split(a)

    monkeypatch.setattr(reading, "read_article", counting_read)  # the old code read through read_folder
    monkeypatch.setattr(store_mod, "read_article", counting_read, raising=False)
    monkeypatch.setattr(store_mod, "split", counting_split)
    (corpus / "new.txt").write_text("A new report arrived today. It says the water fell.\n")
    r = build(corpus, idx, emb)
    assert calls == {"read": 1, "split": 1}
    assert r.embedded_files == ["new.txt"] and len(r.reused_files) == 40
    st = load(idx, emb.fingerprint)
    assert np.allclose(emb.embed([s.text for s in st.sentences]), st.sentence_vectors, atol=1e-6)
    assert np.allclose(emb.embed([c.text for c in st.chunks]), st.chunk_vectors, atol=1e-6)
    rec = store_mod.live_files(idx)["new.txt"]
    s0, s1 = rec["sentences"]
    assert [s.article_id for s in st.sentences[s0:s1]] == ["new.txt"] * 2 and {"size", "mtime_ns", "sha256"} <= set(rec)


def test_a_same_size_edit_within_the_mtime_window_is_still_seen(tmp_path):
    corpus = _articles(tmp_path / "news", NEWS, age_s=0)  # written just now: stat alone cannot be trusted
    idx = tmp_path / "index"
    emb = HashEmbedder()
    build(corpus, idx, emb)
    f = corpus / "dam.txt"
    st = f.stat()
    f.write_text(NEWS["dam.txt"].replace("Tuesday", "Thursday")[: st.st_size].ljust(st.st_size))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    r = build(corpus, idx, emb)
    assert r.embedded_files == ["dam.txt"]
    assert any("Thursday" in s.text for s in load(idx, emb.fingerprint).sentences)


def test_an_old_manifest_without_file_records_is_reused_by_hash(tmp_path, corpus_copy):
    idx = tmp_path / "index"
    emb = HashEmbedder()
    build(corpus_copy, idx, emb)
    path = idx / "manifest.json"
    m = as_format_1(idx)
    m["files"] = {k: {"sha256": v["sha256"], "chars": v["chars"]} for k, v in m["files"].items()}  # the first format-1 records
    m.pop("scanned_at_ns")
    path.write_text(json.dumps(m))
    r = build(corpus_copy, idx, emb)
    assert not r.embedded_files and len(r.reused_files) == len(m["files"])


def test_the_chat_upload_reuses_its_loaded_store_instead_of_loading_the_index_again(tmp_path, corpus_copy, monkeypatch):
    from ui.corpus import Library

    emb = HashEmbedder()
    cfg = _cfg(tmp_path / "data", corpus_copy)
    build(corpus_copy, cfg.index_dir, emb)
    engine = _engine(cfg, emb)
    loads = []
    real = store_mod._load_version
    monkeypatch.setattr(store_mod, "_load_version", lambda *a: loads.append(a) or real(*a))
    Library(cfg, engine).add("quake.txt", b"A small quake shook the coast at dawn. No damage was reported.\n")
    assert loads == [] and "quake.txt" in engine.store.articles
