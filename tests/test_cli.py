"""The `rag` command as a user meets it: clear one-line errors, exit codes, cheap imports."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RAG = [sys.executable, "-m", "rag"]


def run(*args, data_dir, timeout=300, **kw):
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(data_dir)}
    return subprocess.run(
        [*RAG, "--data-dir", str(data_dir), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env, **kw
    )


def one_clear_line(r):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = [x for x in r.stderr.splitlines() if x.strip() and not x.startswith("llama")]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def test_help_imports_nothing_heavy():
    code = "import sys, rag.cli; rag.cli._parser(); print(','.join(m for m in ('torch','llama_index','gradio','llama_cpp','faiss','sentence_transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == ""


def test_help_runs(tmp_path):
    r = run("--help", data_dir=tmp_path)
    assert r.returncode == 0 and "index" in r.stdout and "ask" in r.stdout


@pytest.mark.parametrize("question,needle", [("", "empty"), ("   \n\t ", "empty"), ("x" * 100_000, "limit")])
def test_bad_questions(tmp_path, question, needle):
    line = one_clear_line(run("ask", question, data_dir=tmp_path))
    assert needle in line


def test_missing_index_is_built_from_the_corpus_or_says_why_not(tmp_path):
    """No index: `rag ask` indexes the configured corpus first; a missing corpus is one clear line."""
    cfg = tmp_path / "rag.toml"
    cfg.write_text(f'corpus = "{tmp_path / "no-such-folder"}"\n')
    r = run("--config", str(cfg), "ask", "Where is it?", data_dir=tmp_path / "d")
    assert "indexing" in r.stderr and "not found" in one_clear_line_after_progress(r)


def one_clear_line_after_progress(r):
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    errors = [x for x in r.stderr.splitlines() if x.startswith("error: ")]
    assert len(errors) == 1, r.stderr
    return errors[0]


def test_missing_and_empty_corpus(tmp_path):
    assert "not found" in one_clear_line(run("index", str(tmp_path / "nope"), data_dir=tmp_path / "d"))
    (tmp_path / "empty").mkdir()
    assert "no readable articles" in one_clear_line(run("index", str(tmp_path / "empty"), data_dir=tmp_path / "d"))


def test_corrupted_index(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("A flood hit the valley on Monday. Two bridges were lost.")
    (corpus / "b.txt").write_bytes(b"\xff\xfe\x00binary")
    r = run("index", str(corpus), data_dir=tmp_path / "d")
    assert r.returncode == 0 and "skipped" in r.stderr and "b.txt" in r.stderr and "indexed 1 articles" in r.stdout
    (tmp_path / "d" / "index" / "spans.json").write_text("[broken")
    assert "unreadable" in one_clear_line(run("ask", "What happened?", data_dir=tmp_path / "d"))


def test_bad_config_values(tmp_path):
    cfg = tmp_path / "rag.toml"
    cfg.write_text('top_k = "many"\n')
    assert "top_k" in one_clear_line(run("--config", str(cfg), "config", data_dir=tmp_path))
    cfg.write_text("colour = 3\n")
    assert "unknown setting" in one_clear_line(run("--config", str(cfg), "config", data_dir=tmp_path))


def test_questions_file_errors(tmp_path):
    assert "not found" in one_clear_line(run("ask", "--questions", str(tmp_path / "q.txt"), data_dir=tmp_path))
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"q": "no question field"}\n')
    assert "question" in one_clear_line(run("ask", "--questions", str(bad), data_dir=tmp_path))


@pytest.mark.models
def test_real_models_answer_with_exact_citations(tmp_path):
    """The issue's acceptance check, with the packaged embedder and Qwen model."""
    d = tmp_path / "d"
    # Reuse the joined models if this checkout has them (joining takes a few seconds).
    models = ROOT / "data" / "models"
    if models.exists():
        d.mkdir()
        (d / "models").symlink_to(models)
    assert run("index", data_dir=d).returncode == 0
    qfile = tmp_path / "q.txt"
    qfile.write_text("Where is the Karachi Police Office located?\nHow many attackers were there?\nWho won the 2018 football World Cup?\n")
    r = run("ask", "--json", "--questions", str(qfile), data_dir=d, timeout=900)
    assert r.returncode == 0, r.stderr
    where, attackers, offtopic = [json.loads(line) for line in r.stdout.splitlines()]
    from index.reading import read_article

    for a in (where, attackers):
        assert not a["abstained"] and a["citations"]
        for c in a["citations"]:
            text = read_article(ROOT / "corpus" / c["source"]).text  # the text as read and indexed
            assert text[c["start"] : c["end"]] == c["quote"] and c["supported"]
    assert len({c["source"] for c in attackers["citations"]}) >= 2 and attackers["conflicts"]
    assert offtopic["abstained"] and not offtopic["citations"]
    assert set(where["timings_ms"]) >= {"retrieve", "first_token", "total"}


def test_config_numbers_are_never_coerced_silently(tmp_path):
    import pytest

    from rag.config import load_config
    from rag.errors import RagError

    for key, value in (("top_k", 3.9), ("port", True), ("min_similarity", False), ("top_k", "3.9")):
        with pytest.raises(RagError, match=f"config {key}"):
            load_config(overrides={key: value}, env={})
    assert load_config(overrides={"top_k": 4.0}, env={}).top_k == 4


def test_rag_index_of_a_file_of_another_type_says_it_was_skipped(cli, corpus_copy, tmp_path, capsys):
    data = str(tmp_path / "data")
    assert cli(["--data-dir", data, "index", str(corpus_copy)]) == 0
    capsys.readouterr()
    notes = corpus_copy / "notes.xyz"
    notes.write_text("Not an article type we read.\n")
    before = (tmp_path / "data" / "index").resolve()
    assert cli(["--data-dir", data, "index", str(notes)]) != 0
    out = capsys.readouterr()
    err = out.err.strip()
    assert len(err.splitlines()) == 1 and "skipped" in err and "notes.xyz" in err and ".txt" in err and ".md" in err, err
    assert not out.out and (tmp_path / "data" / "index").resolve() == before  # nothing indexed, no new version


def test_rag_index_of_a_missing_path_says_it_does_not_exist(cli, corpus_copy, tmp_path, capsys):
    data = str(tmp_path / "data")
    assert cli(["--data-dir", data, "index", str(corpus_copy)]) == 0
    capsys.readouterr()
    missing = corpus_copy / "missing.txt"
    for args in ([str(missing)], [str(missing), "--rebuild"], [str(tmp_path / "no-such-folder")]):
        assert cli(["--data-dir", data, "index", *args]) != 0
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "no such file or folder" in err and args[0] in err and "--rebuild" not in err, err
    assert not missing.exists()
