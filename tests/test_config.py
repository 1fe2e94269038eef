"""Validated configuration: every bad value is one line naming the key, the value and where it
came from (the file, the variable or the flag); good values load with their types; `rag config`
still says where each value came from.

Most cases run `rag.cli.main` in-process (an exception other than `RagError` would fail the test
with its traceback); one runs `python -m rag` to see the real exit code and stderr.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rag.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No `RAG_*` variable and no user config file from the machine running the tests."""
    import os

    for k in list(os.environ):
        if k.startswith("RAG_") or k == "OPENAI_API_KEY":
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return tmp_path


def one_error_line(capsys, argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip() and not x.startswith("config: ")]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (code, err)
    assert "Traceback" not in err
    return lines[0]


# key, as written in rag.toml, as shown from the file, as set in the environment, flag argv (or None), problem
BAD = [
    ("top_k", "3.9", "3.9", "3.9", ["config", "--top-k", "3.9"], "must be a whole number"),
    ("port", "true", "true", "true", ["chat", "--port", "true"], "must be a whole number"),
    ("judge_threshold", "1.5", "1.5", "1.5", None, "must be between 0 and 1"),
    ("backend", '"foo"', '"foo"', "foo", ["config", "--backend", "foo"], "must be one of bundled|gguf|openai"),
    ("retrieval", '"BM25"', '"BM25"', "sparse", ["ask", "--retrieval", "sparse", "q"], "must be one of hybrid|dense|bm25"),
    ("n_ctx", "0", "0", "0", None, "must be at least 512"),
    ("read_timeout", "-1", "-1", "-1", ["config", "--read-timeout", "-1"], "must be more than 0"),
    ("connect_timeout", "-0.5", "-0.5", "-0.5", ["ask", "--connect-timeout", "-0.5", "q"], "must be more than 0"),
    ("chunk_size", "0", "0", "0", ["index", "--chunk-size", "0"], "must be at least 1"),
    ("min_similarity", "nan", "nan", "inf", None, "must be between -1 and 1"),
    ("judge", "1", "1", "maybe", None, "must be true or false"),
    ("top_k", '"8"', '"8"', "eight", ["config", "--top-k", "eight"], "must be a whole number"),
]


@pytest.mark.parametrize("key,toml,shown,_env,_flag,problem", BAD, ids=[f"{b[0]}={b[1]}" for b in BAD])
def test_bad_value_in_the_file_is_one_line_naming_the_file(clean_env, capsys, key, toml, shown, _env, _flag, problem):
    path = clean_env / "rag.toml"
    path.write_text(f"{key} = {toml}\n")
    line = one_error_line(capsys, ["--config", str(path), "config"])
    assert line == f"error: config {key} = {shown} (from {path}): {problem}"


@pytest.mark.parametrize("key,_toml,_shown,env,_flag,problem", BAD, ids=[f"{b[0]}={b[3]}" for b in BAD])
def test_bad_value_in_the_environment_is_one_line_naming_the_variable(
    clean_env, capsys, monkeypatch, key, _toml, _shown, env, _flag, problem
):
    var = f"RAG_{key.upper()}"
    monkeypatch.setenv(var, env)
    assert one_error_line(capsys, ["config"]) == f"error: config {key} = {env} (from env {var}): {problem}"


FLAGGED = [b for b in BAD if b[4]]


@pytest.mark.parametrize("key,_toml,_shown,_env,argv,problem", FLAGGED, ids=[" ".join(b[4]) for b in FLAGGED])
def test_bad_flag_is_one_line_naming_the_flag(clean_env, capsys, key, _toml, _shown, _env, argv, problem):
    """Not argparse's usage block and `invalid int value` (several lines): the same line as the env's."""
    flag = next(a for a in argv if a.startswith("--"))
    value = argv[argv.index(flag) + 1]
    line = one_error_line(capsys, ["--data-dir", str(clean_env / "data"), *argv])
    assert line == f"error: config {key} = {value} (from {flag}): {problem}"


def test_the_real_command_exits_2_with_one_line_and_no_traceback(tmp_path):
    path = tmp_path / "rag.toml"
    path.write_text("judge_threshold = 1.5\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "RAG_N_CTX": "4096"}
    r = subprocess.run(
        [sys.executable, "-m", "rag", "--config", str(path), "config"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [f"error: config judge_threshold = 1.5 (from {path}): must be between 0 and 1"]


def test_unknown_key_in_the_file_suggests_the_closest(clean_env, capsys):
    path = clean_env / "rag.toml"
    path.write_text("topk = 3\n")
    assert (
        one_error_line(capsys, ["--config", str(path), "config"])
        == f"error: config file {path}: unknown setting 'topk' (did you mean 'top_k'?)"
    )
    path.write_text("[server]\nurl = 'http://127.0.0.1:8080/v1'\n")  # a table is no setting either
    assert one_error_line(capsys, ["--config", str(path), "config"]) == f"error: config file {path}: unknown setting 'server'"


def test_unknown_override_suggests_the_closest():
    from rag.config import load_config
    from rag.errors import RagError

    with pytest.raises(RagError, match=r"^unknown setting 'topk' \(did you mean 'top_k'\?\)$"):
        load_config(overrides={"topk": 3}, env={})


def test_a_typo_in_a_variable_name_is_warned_about_not_silently_ignored(caplog):
    from rag.config import load_config

    cfg = load_config(env={"RAG_TOPK": "3", "RAG_UPDATE_SCREENSHOT": "1"})
    assert cfg.top_k == 8
    assert [r.getMessage() for r in caplog.records] == ["ignoring $RAG_TOPK: no such setting (did you mean $RAG_TOP_K?)"]


def test_settings_that_only_make_sense_together(clean_env, capsys, tmp_path):
    """An overlap as large as the chunk used to crash `rag index` with a ValueError traceback."""
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "a.txt").write_text("One sentence here. Two sentences here. Three here.\n")
    line = one_error_line(capsys, ["--data-dir", str(tmp_path / "data"), "index", "--chunk-overlap", "3", str(corpus)])
    assert line == "error: config chunk_overlap = 3 (from --chunk-overlap): must be less than chunk_size = 3 (default)"
    assert not (tmp_path / "data" / "index").exists()
    path = tmp_path / "rag.toml"
    path.write_text("n_ctx = 512\nmax_answer_tokens = 600\n")
    line = one_error_line(capsys, ["--config", str(path), "config"])
    assert line == f"error: config max_answer_tokens = 600 (from {path}): must be less than n_ctx = 512 (from {path})"


def test_a_bad_value_is_reported_even_when_a_later_layer_overrides_it(monkeypatch, clean_env, capsys):
    """The file is wrong whatever the environment says today; tomorrow the variable is gone."""
    path = clean_env / "rag.toml"
    path.write_text("top_k = 3.9\n")
    monkeypatch.setenv("RAG_TOP_K", "4")
    assert "(from " + str(path) + ")" in one_error_line(capsys, ["--config", str(path), "config"])


def test_error_lines_hide_secrets_and_stay_one_line(clean_env, capsys, monkeypatch):
    path = clean_env / "rag.toml"
    path.write_text('llm_api_key = ["sk-very-secret"]\n')
    line = one_error_line(capsys, ["--config", str(path), "config"])
    assert line == f"error: config llm_api_key = (hidden) (from {path}): must be text" and "sk-very" not in line
    monkeypatch.setenv("RAG_BACKEND", "openai\u2028evil\nline")
    line = one_error_line(capsys, ["config"])  # U+2028 and \n would split the line for str.splitlines
    assert line == 'error: config backend = "openai\\u2028evil\\nline" (from env RAG_BACKEND): must be one of bundled|gguf|openai'
    monkeypatch.delenv("RAG_BACKEND")
    line = one_error_line(capsys, ["config", "--backend", "x" * 500])
    assert len(line) < 200 and line.endswith("(from --backend): must be one of bundled|gguf|openai")


def test_empty_paths_and_hosts_are_errors_not_the_current_folder(clean_env, capsys):
    path = clean_env / "rag.toml"
    path.write_text('data_dir = ""\n')
    assert one_error_line(capsys, ["--config", str(path), "config"]) == f'error: config data_dir = "" (from {path}): must not be empty'
    path.write_text('host = "  "\n')
    assert one_error_line(capsys, ["--config", str(path), "config"]) == f'error: config host = "  " (from {path}): must not be empty'


@pytest.mark.parametrize(
    "word,value",
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("Yes", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("NO", False),
    ],
)
def test_booleans_from_the_environment(word, value):
    from rag.config import load_config

    assert load_config(env={"RAG_JUDGE": word, "RAG_COMPARE_ARTICLES": word}).judge is value


def test_good_values_load_with_their_types(tmp_path):
    from rag.config import Config, load_config

    path = tmp_path / "rag.toml"
    path.write_text('top_k = 4.0\njudge_threshold = 1\ncorpus = "~/news"\nbackend = "gguf"\nmodel = "m.gguf"\njudge = false\nport = 8000\n')
    cfg = load_config(path, env={"HOME": str(tmp_path), "RAG_READ_TIMEOUT": "30", "RAG_DATA_DIR": "~/d", "RAG_THREADS": " 2 "})
    assert isinstance(cfg, Config)
    assert (cfg.top_k, cfg.judge_threshold, cfg.judge, cfg.port, cfg.read_timeout, cfg.threads) == (4, 1.0, False, 8000, 30.0, 2)
    assert type(cfg.top_k) is int and type(cfg.judge_threshold) is float and type(cfg.read_timeout) is float
    assert cfg.corpus == Path.home() / "news" and cfg.data_dir == Path.home() / "d" and cfg.index_dir == Path.home() / "d" / "index"
    cfg = load_config(overrides={"top_k": "5", "port": 7000, "data_dir": tmp_path, "connect_timeout": "2.5", "retrieval": "bm25"}, env={})
    assert (cfg.top_k, cfg.port, cfg.data_dir, cfg.connect_timeout, cfg.retrieval) == (5, 7000, tmp_path, 2.5, "bm25")
    assert load_config(env={}) == Config()  # the defaults themselves are valid


def test_rag_config_still_says_where_each_value_came_from(clean_env, capsys, monkeypatch):
    path = clean_env / "rag.toml"
    path.write_text("top_k = 5\nport = 9000\nper_article = 2\n")
    monkeypatch.setenv("RAG_TOP_K", "6")
    monkeypatch.setenv("RAG_PORT", "9001")
    assert main(["--config", str(path), "config", "--top-k", "7"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "top_k = 7    # command line" in out
    assert "port = 9001    # env RAG_PORT" in out
    assert f"per_article = 2    # {path} (--config)" in out
    assert "judge_threshold = 0.8    # default" in out


def test_the_schema_covers_every_setting_and_import_stays_cheap():
    from rag.config import BOUNDS, CHOICES, Config, _schema

    settings = set(Config().public())
    assert set(_schema().model_fields) == settings and set(BOUNDS) <= settings and set(CHOICES) <= settings
    code = "import sys, rag.config, rag.cli; rag.cli._parser(); print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
