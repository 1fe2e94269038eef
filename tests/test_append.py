"""An add told its new files (index/append.py): no scan of the other files, no parse of the
previous rows, and the same version a full scan's append writes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import HashEmbedder, as_format_1

from index import append as append_mod
from index import layout
from index import store as store_mod
from index.store import build, live_files, load
from rag.errors import RagError

NEW = "zz-late.txt"  # sorts after every bundled article
TEXT = "A late report came in at dusk.\nThe harbour master said two ferries were held back.\nNo one was hurt.\n"


def _indexed(corpus: Path, tmp_path: Path) -> tuple[Path, HashEmbedder]:
    emb, idx = HashEmbedder(), tmp_path / "data" / "index"
    build(corpus, idx, emb)
    return idx, emb


def _rows(st) -> tuple:
    return (
        [(s.id, s.start, s.end, s.text) for s in st.sentences],
        [(c.id, c.sentence_ids, c.text) for c in st.chunks],
        sorted((a.id, a.title, a.text) for a in st.articles.values()),
    )


def _same_version(a: Path, b: Path, emb) -> None:
    """Two index folders hold the same version: rows, manifest records, vectors, BM25 scores."""
    x, y = load(a, emb.fingerprint), load(b, emb.fingerprint)
    assert _rows(x) == _rows(y)
    mx, my = (json.loads((p / "manifest.json").read_text()) for p in (a, b))
    for m in (mx, my):
        del m["created_at"], m["scanned_at_ns"]
    assert mx == my
    rx, ry = (live_files(p) for p in (a, b))
    for r in (rx, ry):
        for rec in r.values():
            rec.pop("mtime_ns")
    assert rx == ry and list(rx) == list(ry)
    assert np.array_equal(x.sentence_vectors, y.sentence_vectors) and np.array_equal(x.chunk_vectors, y.chunk_vectors)
    for q in ("ferries held in the harbour", "how many attackers", "police"):
        assert np.array_equal(x.bm25.scores(q), y.bm25.scores(q))


_REAL_STAT = os.stat


def _count_stats(monkeypatch, folder: Path) -> list[str]:
    """Patch os.stat to record the names of the files of `folder` it is asked about; returns that list."""
    seen: list[str] = []
    real_stat = _REAL_STAT

    def counting_stat(path, *a, **k):
        if Path(os.fsdecode(path)).parent == folder:
            seen.append(Path(os.fsdecode(path)).name)
        return real_stat(path, *a, **k)

    monkeypatch.setattr(os, "stat", counting_stat)
    return seen


def test_an_add_told_its_file_stats_and_reads_no_other_file(corpus_copy, tmp_path, monkeypatch):
    idx, emb = _indexed(corpus_copy, tmp_path)
    (corpus_copy / NEW).write_text(TEXT)
    stat_ed = _count_stats(monkeypatch, corpus_copy)
    r = build(corpus_copy, idx, emb, added=[corpus_copy / NEW])
    monkeypatch.undo()
    assert set(stat_ed) == {NEW}, stat_ed
    assert r.embedded_files == [NEW] and len(r.reused_files) == 5 and r.articles == 6
    assert json.loads((idx / "manifest.json").read_text())["segments"][-1]["articles"] == 1


def test_an_append_never_parses_the_previous_rows_and_writes_what_a_scan_writes(corpus_copy, tmp_path, monkeypatch):
    idx, emb = _indexed(corpus_copy, tmp_path)
    twin = tmp_path / "twin"  # the same corpus and index, appended to by a full scan
    shutil.copytree(tmp_path / "data", twin, symlinks=True)
    (corpus_copy / NEW).write_text(TEXT)

    def no_rows(*a, **k):
        raise AssertionError("the previous version's articles and spans were parsed")

    monkeypatch.setattr(store_mod, "_read_rows", no_rows)
    r = build(corpus_copy, idx, emb, added=[corpus_copy / NEW])  # a new process: no store given
    assert not r.store.loaded
    monkeypatch.undo()
    monkeypatch.setattr(append_mod, "scanned", lambda *a, **k: None)  # the full build's append
    build(corpus_copy, twin / "index", emb)
    monkeypatch.undo()
    _same_version(idx, twin / "index", emb)
    assert _rows(r.store) == _rows(load(idx, emb.fingerprint))  # the lazy store reads the new version


def test_an_add_to_a_loaded_store_gives_it_the_new_rows(corpus_copy, tmp_path):
    idx, emb = _indexed(corpus_copy, tmp_path)
    served = load(idx, emb.fingerprint)
    (corpus_copy / NEW).write_text(TEXT)
    r = build(corpus_copy, idx, emb, previous=served, added=[corpus_copy / NEW])
    assert r.store.loaded and _rows(r.store) == _rows(load(idx, emb.fingerprint))
    assert r.store.sentence_row == {s.id: i for i, s in enumerate(r.store.sentences)}
    assert len(served.sentences) < len(r.store.sentences)  # the served store is not changed


@pytest.mark.parametrize("case", ["sorts_first", "removed", "unnamed", "already_indexed", "replaced"])
def test_an_add_that_is_not_an_append_scans_and_is_right(corpus_copy, tmp_path, case):
    idx, emb = _indexed(corpus_copy, tmp_path)
    name = "aaa-early.txt" if case == "sorts_first" else NEW
    if case == "already_indexed":
        name = sorted(p.name for p in corpus_copy.iterdir())[-1]
        (corpus_copy / name).write_text(TEXT)
    else:
        (corpus_copy / name).write_text(TEXT)
    if case in ("removed", "replaced"):
        (corpus_copy / sorted(p.name for p in corpus_copy.iterdir())[0]).unlink()
    if case == "replaced":  # as many files as indexed, one of them another: only their names tell
        (corpus_copy / "0-replacement.txt").write_text("A replacement report arrived.\n")
    if case == "unnamed":
        (corpus_copy / "zzz-unnamed.txt").write_text("An unnamed file also arrived.\n")
    r = build(corpus_copy, idx, emb, added=[corpus_copy / name])
    fresh = tmp_path / "fresh"
    build(corpus_copy, fresh, emb)
    assert _rows(load(idx, emb.fingerprint)) == _rows(load(fresh, emb.fingerprint))
    assert r.removed_files == ([] if case not in ("removed", "replaced") else [sorted(r.reused_files + r.removed_files)[0]])


def test_a_crash_mid_add_leaves_the_published_version(corpus_copy, tmp_path, monkeypatch):
    idx, emb = _indexed(corpus_copy, tmp_path)
    before = _rows(load(idx, emb.fingerprint))
    live = idx.resolve()
    (corpus_copy / NEW).write_text(TEXT)
    real = layout.vectors.save

    def crash(*a, **k):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(layout.vectors, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        build(corpus_copy, idx, emb, added=[corpus_copy / NEW])
    monkeypatch.setattr(layout.vectors, "save", real)
    assert idx.resolve() == live and _rows(load(idx, emb.fingerprint)) == before
    assert not [p for p in live.parent.iterdir() if p.name.endswith(".tmp")]
    build(corpus_copy, idx, emb, added=[corpus_copy / NEW])
    assert NEW in load(idx, emb.fingerprint).articles


def test_a_lazy_store_with_broken_spans_is_one_line_and_a_scan_rebuilds(corpus_copy, tmp_path):
    idx, emb = _indexed(corpus_copy, tmp_path)
    (corpus_copy / NEW).write_text(TEXT)
    build(corpus_copy, idx, emb, added=[corpus_copy / NEW])  # two segments now
    spans = idx.resolve() / "spans.1.json"
    data = spans.read_text()
    spans.unlink()  # a hard link shared with no other version now: write a broken copy
    spans.write_text(data[: len(data) // 2])
    st = load(idx, emb.fingerprint, lazy=True)
    with pytest.raises(RagError, match="unreadable"):
        st.sentences  # noqa: B018
    with pytest.raises(RagError, match="unreadable"):
        load(idx, emb.fingerprint)
    r = build(corpus_copy, idx, emb)  # the full scan does not reuse it
    assert "not reused" in r.note and NEW in load(idx, emb.fingerprint).articles


def test_rag_index_with_a_file_appends_it_without_reading_the_previous_rows(cli, corpus_copy, tmp_path, capsys, monkeypatch):
    data = str(tmp_path / "data")
    assert cli(["--data-dir", data, "index", str(corpus_copy)]) == 0
    (corpus_copy / NEW).write_text(TEXT)
    real = store_mod._read_rows
    monkeypatch.setattr(store_mod, "_read_rows", lambda *a, **k: pytest.fail("the previous rows were parsed"))
    assert cli(["--data-dir", data, "index", str(corpus_copy / NEW)]) == 0
    assert "indexed 6 articles" in capsys.readouterr().out
    monkeypatch.setattr(store_mod, "_read_rows", real)
    assert NEW in load(tmp_path / "data" / "index").articles
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("A storm closed the port.\n")
    assert cli(["--data-dir", data, "index", str(other / "x.txt")]) == 2  # not in the indexed folder: one line, nothing added
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--rebuild" in err
    assert "x.txt" not in load(tmp_path / "data" / "index").articles


def test_the_chats_upload_stats_no_other_file_of_another_size(corpus_copy, tmp_path, monkeypatch):
    from conftest import ScriptedGenerator

    from rag.answer import Engine
    from rag.config import load_config
    from rag.verify import HeuristicVerifier
    from rag.wiring import load_store
    from ui.corpus import Library

    emb = HashEmbedder()
    cfg = load_config(overrides={"data_dir": tmp_path / "data", "feedback_file": tmp_path / "fb.jsonl"}, env={})
    cfg.corpus = corpus_copy
    build(corpus_copy, cfg.index_dir, emb)
    engine = Engine(store=load_store(cfg, emb), embedder=emb, generator=ScriptedGenerator(), verifier=HeuristicVerifier(emb), config=cfg)
    stat_ed = _count_stats(monkeypatch, corpus_copy)
    msg = Library(cfg, engine).add(NEW, TEXT.encode())
    monkeypatch.setattr(os, "stat", _REAL_STAT)
    assert msg.startswith(f"Added {NEW}") and NEW in engine.store.articles
    assert set(stat_ed) == {NEW}, stat_ed
    assert _rows(engine.store) == _rows(load(cfg.index_dir, emb.fingerprint))
    # A duplicate of an indexed article is still found (it has that article's size).
    again = Library(cfg, engine).add("copy.txt", TEXT.encode())
    assert again.startswith("Nothing added") and NEW in again


def test_a_plain_build_that_only_appends_reads_no_previous_row_and_writes_what_the_full_build_writes(corpus_copy, tmp_path, monkeypatch):
    idx, emb = _indexed(corpus_copy, tmp_path)
    twin = tmp_path / "twin"
    shutil.copytree(tmp_path / "data", twin, symlinks=True)
    (corpus_copy / NEW).write_text(TEXT)
    monkeypatch.setattr(store_mod, "_read_rows", lambda *a, **k: pytest.fail("the previous rows were parsed"))
    r = build(corpus_copy, idx, emb)
    assert r.embedded_files == [NEW] and not r.removed_files and r.articles == 6
    monkeypatch.undo()
    monkeypatch.setattr(append_mod, "scanned", lambda *a, **k: None)
    build(corpus_copy, twin / "index", emb)
    monkeypatch.undo()
    _same_version(idx, twin / "index", emb)


@pytest.mark.parametrize("same_stat", [False, True])
def test_a_plain_build_finds_a_changed_file_even_with_its_size_and_mtime(corpus_copy, tmp_path, same_stat):
    victim = corpus_copy / sorted(p.name for p in corpus_copy.iterdir())[1]
    os.utime(victim)  # changed just before the index is built: its mtime cannot be trusted then
    idx, emb = _indexed(corpus_copy, tmp_path)
    st = victim.stat()
    text = victim.read_text()
    victim.write_text(text.replace("the", "THE", 1) if same_stat else text + "One more sentence.\n")
    if same_stat:  # same size, same mtime: only its hash tells (it changed right after the previous scan)
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert victim.stat().st_size == st.st_size
    (corpus_copy / NEW).write_text(TEXT)
    r = build(corpus_copy, idx, emb)
    assert victim.name in r.embedded_files and NEW in r.embedded_files
    fresh = tmp_path / "fresh"
    build(corpus_copy, fresh, emb)
    assert _rows(load(idx, emb.fingerprint)) == _rows(load(fresh, emb.fingerprint))


def test_an_index_written_before_segments_loads_and_takes_an_add(corpus_copy, tmp_path):
    idx, emb = _indexed(corpus_copy, tmp_path)
    manifest_file = idx.resolve() / "manifest.json"
    m = as_format_1(idx)
    del m["segments"], m["counts"]  # as written before segments: articles.json and spans.json only
    manifest_file.unlink()
    manifest_file.write_text(json.dumps(m))
    before = _rows(load(idx, emb.fingerprint))
    assert load(idx, emb.fingerprint, lazy=True).loaded  # no counts to check lazily against: read at once
    (corpus_copy / NEW).write_text(TEXT)
    r = build(corpus_copy, idx, emb, added=[corpus_copy / NEW])  # a full build, which writes segments
    after = load(idx, emb.fingerprint)
    assert r.embedded_files == [NEW] and _rows(after)[0][: len(before[0])] == before[0]
    assert json.loads((idx / "manifest.json").read_text())["segments"]
