"""The per-file records: in their segment's file (format 2), read by no append; format 1 indexes
(every record in the manifest) load as before and are written in segments by their next add."""

from __future__ import annotations

import json

import pytest
from conftest import HashEmbedder, as_format_1

from index import layout
from index import store as store_mod
from index.store import build, live_files, load
from rag.errors import RagError

NEW, NEWER = "zz-late.txt", "zz-later.txt"  # sort after every bundled article
TEXT = "A late report came in at dusk.\nThe harbour master said two ferries were held back.\nNo one was hurt.\n"


def _indexed(corpus, tmp_path):
    emb, idx = HashEmbedder(), tmp_path / "data" / "index"
    build(corpus, idx, emb)
    return idx, emb


def _no_mtime(records: dict) -> dict:
    return {k: {f: v for f, v in r.items() if f != "mtime_ns"} for k, r in records.items()}


def test_an_add_reads_no_file_record_and_writes_only_its_own(corpus_copy, tmp_path, monkeypatch):
    idx, emb = _indexed(corpus_copy, tmp_path)
    before = idx.resolve()
    records = live_files(idx)
    (corpus_copy / NEW).write_text(TEXT)
    monkeypatch.setattr(layout, "read_records", lambda *a, **k: pytest.fail("the previous records were read"))
    r = build(corpus_copy, idx, emb, added=[corpus_copy / NEW])
    monkeypatch.undo()
    after = idx.resolve()
    manifest = json.loads((after / "manifest.json").read_text())
    assert "files" not in manifest and manifest["format"] == 2 and manifest["last_file"] == NEW
    assert (after / "files.json").stat().st_ino == (before / "files.json").stat().st_ino  # linked, not written
    assert list(json.loads((after / "files.1.json").read_text())) == [NEW]
    assert r.reused_files == list(records) and r.embedded_files == [NEW]
    assert list(r.store.files) == [*records, NEW]  # read on first use
    fresh = tmp_path / "fresh"
    build(corpus_copy, fresh, emb)
    assert _no_mtime(live_files(idx)) == _no_mtime(live_files(fresh))


def test_a_format_1_index_loads_and_its_add_writes_format_2(corpus_copy, tmp_path):
    idx, emb = _indexed(corpus_copy, tmp_path)
    old = as_format_1(idx)
    st = load(idx, emb.fingerprint)
    assert st.files == old["files"] and len(st.sentences) == old["counts"]["sentences"]
    (corpus_copy / NEW).write_text(TEXT)
    r = build(corpus_copy, idx, emb, added=[corpus_copy / NEW])
    assert r.embedded_files == [NEW] and r.reused_files == list(old["files"])
    live = idx.resolve()
    manifest = json.loads((live / "manifest.json").read_text())
    assert manifest["format"] == 2 and "files" not in manifest and len(manifest["segments"]) == 2
    assert json.loads((live / "files.json").read_text()) == old["files"]  # written once, in its segment
    assert list(live_files(idx)) == [*old["files"], NEW]
    (corpus_copy / NEWER).write_text(TEXT.replace("late", "later"))
    build(corpus_copy, idx, emb, added=[corpus_copy / NEWER])  # format 2 to format 2: linked
    assert (idx.resolve() / "files.json").stat().st_ino == (live / "files.json").stat().st_ino
    fresh = tmp_path / "fresh"
    build(corpus_copy, fresh, emb)
    assert _no_mtime(live_files(idx)) == _no_mtime(live_files(fresh))
    assert [s.id for s in load(idx, emb.fingerprint).sentences] == [s.id for s in load(fresh, emb.fingerprint).sentences]


def test_a_format_1_index_is_scanned_and_rebuilt_as_before(corpus_copy, tmp_path):
    idx, emb = _indexed(corpus_copy, tmp_path)
    as_format_1(idx)
    r = build(corpus_copy, idx, emb)  # nothing changed: everything reused, written as format 2
    assert not r.embedded_files and len(r.reused_files) == 5 and not r.note
    assert json.loads((idx / "manifest.json").read_text())["format"] == 2


def test_a_damaged_records_file_is_one_line_and_a_scan_rebuilds(corpus_copy, tmp_path):
    idx, emb = _indexed(corpus_copy, tmp_path)
    records = idx.resolve() / "files.json"
    data = records.read_text()
    records.unlink()  # hard-linked with no other version now: write a broken copy
    records.write_text(data.replace('"sha256"', '"sha"', 1))
    with pytest.raises(RagError, match="unreadable") as e:
        load(idx, emb.fingerprint).files  # noqa: B018
    assert len(str(e.value).splitlines()) == 1
    assert live_files(idx) is None
    r = build(corpus_copy, idx, emb)  # the scan does not reuse it
    assert "not reused" in r.note and len(live_files(idx)) == 5


def test_a_manifest_of_another_format_is_one_clear_line(corpus_copy, tmp_path):
    idx, emb = _indexed(corpus_copy, tmp_path)
    path = idx.resolve() / "manifest.json"
    m = json.loads(path.read_text())
    path.unlink()
    path.write_text(json.dumps({**m, "format": 3}))
    with pytest.raises(RagError, match="index format 3 is not one this version reads"):
        load(idx, emb.fingerprint)
    m["segments"][0].pop("names")
    path.unlink()
    path.write_text(json.dumps(m))
    with pytest.raises(RagError, match="segment without its counts and names"):
        store_mod.load(idx, emb.fingerprint)


def test_where_hard_links_fail_every_file_is_written(corpus_copy, tmp_path, monkeypatch):
    import errno
    import os

    idx, emb = _indexed(corpus_copy, tmp_path)
    build(corpus_copy, idx, emb)  # nothing changed: the previous segment's files would be linked
    (corpus_copy / NEW).write_text(TEXT)

    def no_link(*a, **k):
        raise OSError(errno.EXDEV, "cross-device link")

    monkeypatch.setattr(os, "link", no_link)  # another file system: the append fails, the full build writes all
    r = build(corpus_copy, idx, emb)
    monkeypatch.undo()
    assert r.embedded_files == [NEW] and list(live_files(idx))[-1] == NEW
    assert all(p.stat().st_nlink == 1 for p in idx.resolve().iterdir())
    assert [s.id for s in load(idx, emb.fingerprint).sentences][-1].startswith(NEW)
