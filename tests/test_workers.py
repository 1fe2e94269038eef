"""Ingestion on Ray workers (`rag index --workers`) builds the same index as one process.

The Ray tests share one local Ray instance (num_cpus=2, started once for the module, ~10 s);
the error and import tests start no Ray at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evals.loadtest import HashEmbedder
from index.store import build, load
from index.workers import RayParts, WorkerSpec, parse_spec
from rag.cli import main
from rag.errors import RagError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


class Recording:
    """Wraps a `make_parts` and records the files each call was given."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __call__(self, paths, known, chunk_size, chunk_overlap):
        self.calls.append(sorted(p.name for p in paths))
        return self.inner(paths, known, chunk_size, chunk_overlap)


def _same_store(a, b) -> None:
    """Same articles, sentences (offsets and text), chunks and vectors, in the same rows."""
    assert list(a.articles) == list(b.articles)
    for aid in a.articles:
        x, y = a.articles[aid], b.articles[aid]
        assert (x.title, x.date, x.text, x.meta) == (y.title, y.date, y.text, y.meta)
    assert [(s.id, s.start, s.end, s.text) for s in a.sentences] == [(s.id, s.start, s.end, s.text) for s in b.sentences]
    assert [(c.id, c.sentence_ids, c.start, c.end) for c in a.chunks] == [(c.id, c.sentence_ids, c.start, c.end) for c in b.chunks]
    assert a.sentence_vectors.shape == b.sentence_vectors.shape and a.chunk_vectors.shape == b.chunk_vectors.shape
    assert np.allclose(a.sentence_vectors, b.sentence_vectors, atol=1e-6)
    assert np.allclose(a.chunk_vectors, b.chunk_vectors, atol=1e-6)
    strip = lambda files: {k: {f: v for f, v in r.items() if f != "mtime_ns"} for k, r in files.items()}  # noqa: E731
    assert strip(a.files) == strip(b.files)


def _corpus(corpus_copy: Path) -> Path:
    (corpus_copy / "broken.pdf").write_bytes(b"not a pdf at all")  # skipped by both, reported by both
    return corpus_copy


def test_workers_build_the_same_index_as_one_process(ray_local, corpus_copy, tmp_path):
    corpus = _corpus(corpus_copy)
    local = build(corpus, tmp_path / "local" / "index", HashEmbedder())
    with RayParts("2", HashEmbedder, HashEmbedder.fingerprint, progress=False) as parts:
        assert parts.workers == 2
        rec = Recording(parts)
        remote = build(corpus, tmp_path / "ray" / "index", HashEmbedder(), make_parts=rec)
    assert rec.calls == [sorted(p.name for p in corpus.iterdir())]  # every file went to the workers
    _same_store(local.store, remote.store)
    _same_store(load(tmp_path / "local" / "index"), load(tmp_path / "ray" / "index"))  # and as written to disk
    assert sorted(remote.embedded_files) == sorted(local.embedded_files) and len(local.embedded_files) >= 5
    assert [Path(s.path).name for s in remote.skipped] == [Path(s.path).name for s in local.skipped] == ["broken.pdf"]


def test_incremental_add_on_workers_equals_a_local_add(ray_local, corpus_copy, tmp_path):
    corpus = _corpus(corpus_copy)
    build(corpus, tmp_path / "local" / "index", HashEmbedder())
    build(corpus, tmp_path / "ray" / "index", HashEmbedder())
    first = sorted(p for p in corpus.iterdir() if p.suffix == ".txt")[0]
    shutil.copyfile(first, corpus / "zz_added.txt")
    (corpus / "zz_added.txt").write_text(first.read_text() + "\nA new closing sentence about the 42 inspectors.\n")
    edited = sorted(p for p in corpus.iterdir() if p.suffix == ".txt")[1]
    edited.write_text(edited.read_text().replace(".", ". Indeed.", 1))
    os.utime(edited, ns=(10**18, 10**18))  # changed size and mtime: read again
    local = build(corpus, tmp_path / "local" / "index", HashEmbedder())
    with RayParts("2", HashEmbedder, HashEmbedder.fingerprint, progress=False) as parts:
        rec = Recording(parts)
        remote = build(corpus, tmp_path / "ray" / "index", HashEmbedder(), make_parts=rec)
    _same_store(local.store, remote.store)
    assert sorted(remote.embedded_files) == sorted(local.embedded_files) == sorted(["zz_added.txt", edited.name])
    assert sorted(remote.reused_files) == sorted(local.reused_files)
    assert "zz_added.txt" in rec.calls[0] and edited.name in rec.calls[0] and first.name not in rec.calls[0]


def test_unchanged_content_is_not_embedded_again_on_the_workers(ray_local, corpus_copy, tmp_path):
    """A file touched but not changed is read by a worker, and its vectors are reused, as locally."""
    corpus = _corpus(corpus_copy)
    build(corpus, tmp_path / "index", HashEmbedder())
    touched = sorted(p for p in corpus.iterdir() if p.suffix == ".txt")[0]
    os.utime(touched, ns=(10**18, 10**18))
    with RayParts("1", HashEmbedder, HashEmbedder.fingerprint, progress=False) as parts:
        rec = Recording(parts)
        r = build(corpus, tmp_path / "index", HashEmbedder(), make_parts=rec)
    assert rec.calls == [sorted([touched.name, "broken.pdf"])]
    assert r.embedded_files == [] and touched.name in r.reused_files


def test_progress_counts_files(ray_local, corpus_copy, tmp_path, capfd):
    n = len(list(corpus_copy.iterdir()))
    with RayParts("2", HashEmbedder, progress=True) as parts:
        build(corpus_copy, tmp_path / "index", HashEmbedder(), make_parts=parts)
    err = capfd.readouterr().err
    assert "reading and embedding on 2 Ray workers" in err and f"{n}/{n}" in err


def test_workers_with_another_embedder_are_refused(ray_local):
    class Other(HashEmbedder):
        fingerprint = "other-v1"

    with pytest.raises(RagError, match="embedder"):
        with RayParts("1", Other, HashEmbedder.fingerprint, progress=False):
            pass


def test_cli_workers_builds_what_a_plain_index_builds(ray_local, corpus_copy, tmp_path, capsys):
    """`rag index --workers 2` end to end, with the packaged embedder, against a plain `rag index`."""
    assert main(["--data-dir", str(tmp_path / "plain"), "index", str(corpus_copy)]) == 0
    assert main(["--data-dir", str(tmp_path / "ray"), "index", str(corpus_copy), "--workers", "2"]) == 0
    out = capsys.readouterr()
    assert "2 Ray workers ready" in out.err
    a, b = load(tmp_path / "plain" / "index"), load(tmp_path / "ray" / "index")
    assert [(s.id, s.start, s.end) for s in a.sentences] == [(s.id, s.start, s.end) for s in b.sentences]
    assert a.manifest["embedder"] == b.manifest["embedder"]
    assert np.allclose(a.sentence_vectors, b.sentence_vectors, atol=1e-4)  # batches differ: float noise only
    assert np.allclose(a.chunk_vectors, b.chunk_vectors, atol=1e-4)


@pytest.mark.parametrize(
    "spec,expected",
    [("3", WorkerSpec(workers=3)), ("auto", WorkerSpec()), (" ray://head.example:10001 ", WorkerSpec(address="ray://head.example:10001"))],
)
def test_specs(spec, expected):
    assert parse_spec(spec) == expected


def _one_error_line(capsys) -> str:
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize("spec", ["0", "many", "ray://nohost", "ray://host:port"])
def test_a_bad_spec_is_one_line(spec, tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "index", str(ROOT / "corpus"), "--workers", spec]) == 2
    assert "--workers" in _one_error_line(capsys)


def test_without_ray_installed_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    assert main(["--data-dir", str(tmp_path), "index", str(ROOT / "corpus"), "--workers", "2"]) == 2
    assert "needs Ray, which is not installed" in _one_error_line(capsys)
    assert not (tmp_path / "index").exists()


def test_an_unreachable_cluster_is_one_line(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "index", str(ROOT / "corpus"), "--workers", "ray://127.0.0.1:1"]) == 2
    assert "cannot reach the Ray cluster at ray://127.0.0.1:1" in _one_error_line(capsys)


def test_plain_rag_index_never_imports_ray(tmp_path):
    code = (
        "import sys; from rag.cli import main; "
        f"rc = main(['--data-dir', {str(tmp_path)!r}, 'index', {str(ROOT / 'corpus')!r}]); "
        "print(json.dumps({'rc': rc, 'ray': 'ray' in sys.modules, 'workers': 'index.workers' in sys.modules}))"
    )
    p = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == {"rc": 0, "ray": False, "workers": False}


def test_bench_ingest_corpus_repeats_every_article_under_new_names(tmp_path):
    from evals.bench_ingest import corpus_folders, markdown, repeated_corpus

    folders = corpus_folders()
    assert folders[0].name == "corpus" and any(f.name == "corpus_coup" for f in folders)
    out = repeated_corpus(folders, tmp_path / "c", 2)
    n = sum(1 for f in folders for p in f.iterdir() if p.is_file())
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == len(set(names)) == 2 * n
    assert any(x.startswith("001_coup-") for x in names) and any(x.startswith("000_corpus-") for x in names)
    run = {"build_s": 2.0, "sentences_per_s": 50.0, "texts_per_s": 75.0}
    r = {"articles": 2 * n, "copies": 2, "cores": 2, "in_process": run, "ray_1": {**run, "ray_startup_s": 9.1}, "scaling_2_vs_1": 1.8}
    md = "\n".join(markdown(r))
    assert "| ray 1 | 2.0 | 50.0 | 75.0 | 9.1 |" in md and "scaling_2_vs_1 1.8" in md
