"""One typed configuration: defaults → TOML file → `RAG_*` environment → CLI flags.

The config is built once by the CLI (or the UI's `main`) and passed down; nothing reads
the environment anywhere else. `rag config` prints the effective values and where each
came from (API keys are never printed; a URL's user:password is shown as `***`).

The TOML file is only one the user chose: `--config FILE`, else `$RAG_CONFIG`, else their own
`$XDG_CONFIG_HOME/rag/rag.toml` (`~/.config/rag/rag.toml`). A `rag.toml` in whatever folder
`rag` happens to run from is never read: it could point the backend at a remote server, bind
the chat to every interface or move the feedback file. The CLI names the file it loaded.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import logging
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rag.errors import RagError

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Config:
    corpus: Path = ROOT / "corpus"
    data_dir: Path = ROOT / "data"
    backend: str = "bundled"  # bundled | gguf | openai
    profile: str = "best"  # the bundled reader: best (Qwen2.5-Coder 1.5B) | fast (0.5B: faster first token, weaker answers)
    model: str = ""  # GGUF path for the gguf backend
    llm_url: str = field(default="", repr=False)  # openai backend (may hold user:password: shown only through redact_url)
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_allow_insecure_key: bool = False  # send the API key over plain http to a non-loopback host
    connect_timeout: float = 5.0
    read_timeout: float = 120.0
    embedder: str = "minilm"  # minilm | mpnet (better retrieval, see README) | a sentence-transformers folder
    chunk_size: int = 3
    chunk_overlap: int = 1
    top_k: int = 8
    prompt_sentences: int = 6  # of the top_k evidence sentences, how many the model reads (fewer: faster first token)
    per_article: int = 3
    evidence_order: str = "rank"  # rank: the model reads the best-ranked sentences | articles: each article's best first (README)
    judge: bool = True  # the 1.5B reader confirms each claim the heuristic verifier passed (rag/judge.py; off for the 0.5B)
    judge_threshold: float = 0.8  # P(yes) below this: the claim is not shown in the model's words
    compare_articles: bool = False  # rag/compare.py: measured to add false conflicts without surfacing more (README)
    retrieval: str = "hybrid"  # hybrid | dense | bm25
    followup: str = "heuristic"  # follow-up → standalone question: heuristic | model (the reader rewrites it: ~5 s more on 2 cores; README)
    vector_store: str = "faiss"  # faiss | a Milvus Lite file (…/rag.db) | a Milvus server (http://host:19530): index/milvus.py
    min_similarity: float = 0.3  # below this best cosine, the corpus has nothing on the question
    max_question_chars: int = 2000
    max_answer_tokens: int = 160
    n_ctx: int = 4096
    threads: int = 0  # 0 = all cores
    host: str = "127.0.0.1"
    port: int = 7860
    feedback_file: Path = ROOT / "data" / "feedback.jsonl"
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    config_file: Path | None = field(default=None, repr=False, compare=False)  # the TOML file read, if any

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def public(self) -> dict[str, Any]:
        """Effective values, with secrets masked, for `rag config` and feedback records."""
        out = {}
        for f in fields(self):
            if f.name in _NOT_SETTINGS:
                continue
            v = getattr(self, f.name)
            if f.name == "llm_api_key":
                v = "(set)" if v else ""
            if f.name in ("llm_url", "vector_store"):
                v = redact_url(v)
            out[f.name] = str(v) if isinstance(v, Path) else v
        return out


_NOT_SETTINGS = ("sources", "config_file")


def redact_url(url: str) -> str:
    """`url` with any user:password replaced by `***`, for printing and storing.

    >>> redact_url("http://user:pass@host:8080/v1")
    'http://***@host:8080/v1'
    >>> redact_url("https://api.example.com/v1")
    'https://api.example.com/v1'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is not None and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))
    if "@" in url:  # not parseable as a URL: mask up to the last "@" of what looks like its authority
        head, sep, rest = url.partition("//")
        authority, slash, path = rest.partition("/")
        if "@" in authority:
            return f"{head}{sep}***@{authority.rpartition('@')[2]}{slash}{path}"
    return url


def user_config_file(env: dict[str, str]) -> Path | None:
    """The user's own config file, `$XDG_CONFIG_HOME/rag/rag.toml` or `~/.config/rag/rag.toml`."""
    base = env.get("XDG_CONFIG_HOME") or (str(Path(env["HOME"]) / ".config") if env.get("HOME") else "")
    return Path(base) / "rag" / "rag.toml" if base else None


# What each setting may hold beyond its type. Checked by pydantic (`_schema`) on every value, in
# every layer, so a bad value is reported with the place it came from even when a later layer
# overrides it: the file (or the variable) is wrong either way.
CHOICES: dict[str, tuple[str, ...]] = {
    "backend": ("bundled", "gguf", "openai"),
    "profile": ("best", "fast"),
    "retrieval": ("hybrid", "dense", "bm25"),
    "followup": ("model", "heuristic"),
    "evidence_order": ("rank", "articles"),
}
BOUNDS: dict[str, dict[str, float]] = {
    "connect_timeout": {"gt": 0},
    "read_timeout": {"gt": 0},
    "chunk_size": {"ge": 1},
    "chunk_overlap": {"ge": 0},  # and below chunk_size (checked on the final values)
    "top_k": {"ge": 1},
    "prompt_sentences": {"ge": 1},
    "per_article": {"ge": 1},
    "judge_threshold": {"ge": 0, "le": 1},
    "min_similarity": {"ge": -1, "le": 1},  # a cosine
    "max_question_chars": {"ge": 1},
    "max_answer_tokens": {"ge": 1},  # and below n_ctx (checked on the final values)
    "n_ctx": {"ge": 512},  # 0 would mean "the model's full training context" to llama.cpp: 32k tokens of memory
    "threads": {"ge": 0},
    "port": {"ge": 1, "le": 65535},
}
# The settings `rag` takes as flags (`--top-k`); an error in another override names no flag.
FLAG_SETTINGS = (
    "data_dir",
    "backend",
    "profile",
    "model",
    "llm_url",
    "llm_model",
    "connect_timeout",
    "read_timeout",
    "embedder",
    "top_k",
    "retrieval",
    "chunk_size",
    "chunk_overlap",
    "host",
    "port",
)
NOT_EMPTY = ("corpus", "data_dir", "feedback_file", "embedder", "host", "vector_store")
VECTOR_STORE_HELP = "must be faiss, a Milvus Lite file ending in .db, or a Milvus URI http(s)://host:port"


def vector_store_ok(value: str) -> bool:
    """Whether `value` names a vector store: "faiss", a Milvus Lite file, or a Milvus server URI.

    >>> [vector_store_ok(v) for v in ("faiss", "data/rag.db", "http://milvus:19530", "milvus", "http://")]
    [True, True, True, False, False]
    """
    if value == "faiss":
        return True
    if value.startswith(("http://", "https://")):
        try:
            return bool(urlsplit(value).hostname)
        except ValueError:
            return False
    return "://" not in value and value.endswith(".db") and Path(value).name != ".db"


_KINDS = {"Path": Path, "str": str, "int": int, "float": float, "bool": bool}
_KIND_WORDS = {int: "a whole number", float: "a number", bool: "true or false", str: "text", Path: "a path"}


def _kinds() -> dict[str, type]:
    """Each setting's Python type, read from the `Config` annotations (one place to declare a setting)."""
    return {f.name: _KINDS[str(f.type)] for f in fields(Config) if f.name not in _NOT_SETTINGS}


def load_config(config_file: Path | None = None, overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Config:
    """Build the effective config: defaults → TOML file → `RAG_*` environment → `overrides` (CLI flags).

    Every value is validated; a wrong type, an out-of-range value or an unknown key is a `RagError`
    whose one line names the key, the value and where it came from:

        config top_k = 3.9 (from /home/me/.config/rag/rag.toml): must be a whole number
    """
    cfg = Config()
    kinds = _kinds()
    sources = {name: "default" for name in kinds}  # for `rag config`
    where: dict[str, str] = {}  # for error lines: a file path, `env RAG_X` or `--flag`
    env = dict(os.environ if env is None else env)

    path, how = _chosen_file(config_file, env)
    if path is not None:
        data = _read_toml(path, how)
        for k in data:
            if k not in kinds:
                raise RagError(f"config file {path}: unknown setting {k!r}{_did_you_mean(k, kinds)}")
        in_file = {k: str(path) for k in data}
        _apply(cfg, _check(data, in_file, text=False), in_file, sources, where, report=f"{path} ({how})")
        cfg.config_file = path

    _warn_unknown_env(env, kinds)
    variables = {k: f"env RAG_{k.upper()}" for k in kinds if env.get(f"RAG_{k.upper()}", "") != ""}
    _apply(cfg, _check({k: env[f"RAG_{k.upper()}"] for k in variables}, variables, text=True), variables, sources, where)
    if not cfg.llm_api_key and env.get("OPENAI_API_KEY"):
        cfg.llm_api_key = env["OPENAI_API_KEY"]
        sources["llm_api_key"] = where["llm_api_key"] = "env OPENAI_API_KEY"

    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    for k in given:
        if k not in kinds:
            raise RagError(f"unknown setting {k!r}{_did_you_mean(k, kinds)}")
    named = {k: "--" + k.replace("_", "-") if k in FLAG_SETTINGS else "overrides" for k in given}
    _apply(cfg, _check(given, named, text=True), named, sources, where, report="command line")

    _check_together(cfg, where)
    cfg.sources = sources
    return dataclasses.replace(cfg)


def _chosen_file(config_file: Path | None, env: dict[str, str]) -> tuple[Path | None, str]:
    if config_file:
        return Path(config_file), "--config"
    if env.get("RAG_CONFIG"):
        return Path(env["RAG_CONFIG"]).expanduser(), "$RAG_CONFIG"
    user = user_config_file(env)
    if user is not None and user.is_file():
        return user, "user config"
    return None, ""


def _read_toml(path: Path, how: str) -> dict[str, Any]:
    if not path.exists():
        raise RagError(f"config file not found: {path} ({how})")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise RagError(f"config file {path} is not valid TOML: {e}") from None
    except OSError as e:
        raise RagError(f"config file {path} cannot be read: {e.strerror or e}") from None


def _apply(
    cfg: Config, values: dict[str, Any], origin: dict[str, str], sources: dict[str, str], where: dict[str, str], report: str = ""
) -> None:
    """Set checked `values` on `cfg`, noting where each came from: `report` (or its `origin`) for
    `rag config`, its `origin` (a file path, `env RAG_X`, `--flag`) for later error lines."""
    for k, v in values.items():
        setattr(cfg, k, Path(v).expanduser() if isinstance(v, Path) else v)
        sources[k], where[k] = report or origin[k], origin[k]


def _check(values: dict[str, Any], where: dict[str, str], text: bool) -> dict[str, Any]:
    """`values` validated and converted to their settings' types, or a `RagError` for the first bad one.

    With `text`, a string is parsed as a user would type it in a shell (`8`, `0.5`, `yes`); without
    it (TOML, Python callers) a value must already have its type: `port = true` is not a port and
    `top_k = "8"` is not a number. A whole float (4.0) is accepted as a whole number.
    """
    if not values:
        return {}
    from pydantic import ValidationError  # ~0.15 s: paid by whoever loads a config, not by `import rag`

    try:
        valid = _schema().model_validate(values, context={"text": text})
    except ValidationError as e:
        errors = e.errors(include_url=False)
        k = str(errors[0]["loc"][0])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        shown = _shown(k, values[k], text)
        raise RagError(
            f"config {k} = {shown} (from {where.get(k, 'default')}): {_problem(k, errors[0]['type'], values[k])}{more}"
        ) from None
    return {k: getattr(valid, k) for k in values}


@functools.cache
def _schema() -> Any:
    """The pydantic model of the settings, built on first use from `Config`, `CHOICES` and `BOUNDS`."""
    from typing import Literal

    from pydantic import ConfigDict, Field, ValidationInfo, create_model, field_validator

    kinds = _kinds()

    def typed(cls: Any, value: Any, info: ValidationInfo) -> Any:
        kind, name = kinds[info.field_name], info.field_name
        if isinstance(value, str) and kind in (str, Path):
            if name in NOT_EMPTY and not value.strip():
                raise ValueError("empty")
            if name == "vector_store" and not vector_store_ok(value):
                raise ValueError(VECTOR_STORE_HELP)
            return value
        if isinstance(value, str) and (info.context or {}).get("text"):
            return value.strip()  # pydantic parses "8", "0.5", "yes"
        if kind is Path:
            return value  # a Path, or pydantic's path_type error
        wrong = not isinstance(value, bool) if kind is bool else isinstance(value, (bool, str))
        if wrong:
            raise ValueError(f"not {_KIND_WORDS[kind]}")
        return value

    spec = {
        name: (Literal[CHOICES[name]] if name in CHOICES else kind, Field(None, **BOUNDS.get(name, {}))) for name, kind in kinds.items()
    }
    return create_model(
        "Settings",
        __config__=ConfigDict(extra="forbid", allow_inf_nan=False),
        __validators__={"typed": field_validator("*", mode="before")(typed)},
        **spec,
    )


def _problem(name: str, error_type: str, raw: Any) -> str:
    """What a valid value looks like, in words: 'must be a whole number', 'must be between 0 and 1'."""
    kind, bounds = _kinds()[name], BOUNDS.get(name, {})
    if error_type == "literal_error":
        return "must be one of " + "|".join(CHOICES[name])
    if kind in (str, Path) and isinstance(raw, str) and not raw.strip():
        return "must not be empty"
    if name == "vector_store" and isinstance(raw, str):
        return VECTOR_STORE_HELP
    if bounds and error_type in ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"):
        n = {k: int(v) if float(v).is_integer() else v for k, v in bounds.items()}
        if "ge" in n and "le" in n:
            return f"must be between {n['ge']} and {n['le']}"
        return f"must be more than {n['gt']}" if "gt" in n else f"must be at least {n['ge']}"
    return f"must be {_KIND_WORDS[kind]}"


def _shown(name: str, raw: Any, text: bool, limit: int = 60) -> str:
    """`raw` for an error line: as typed (env, flags) or as TOML writes it; one line, secrets hidden."""
    if name == "llm_api_key":
        return "(hidden)"
    if isinstance(raw, str) and name == "llm_url":
        raw = redact_url(raw)
    if isinstance(raw, str):
        plain = text and raw and raw.isprintable() and not any(c.isspace() for c in raw)
        shown = raw if plain else json.dumps(raw)
    elif isinstance(raw, bool):
        shown = "true" if raw else "false"
    elif isinstance(raw, Path):
        shown = json.dumps(str(raw))
    else:
        shown = repr(raw)  # escapes anything that would break the line
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _check_together(cfg: Config, where: dict[str, str]) -> None:
    """Rules between settings, on the final values."""

    def at(k: str) -> str:
        return f"{k} = {getattr(cfg, k)} " + (f"(from {where[k]})" if k in where else "(default)")

    if cfg.chunk_overlap >= cfg.chunk_size:
        raise RagError(f"config {at('chunk_overlap')}: must be less than {at('chunk_size')}")
    if cfg.max_answer_tokens >= cfg.n_ctx:
        raise RagError(f"config {at('max_answer_tokens')}: must be less than {at('n_ctx')}")
    if cfg.backend == "gguf" and not cfg.model:
        raise RagError("the gguf backend needs a model file: --model PATH or RAG_MODEL")


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key.lower().replace("-", "_"), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _warn_unknown_env(env: dict[str, str], known: dict[str, type]) -> None:
    """A `RAG_*` variable that is no setting but close to one (RAG_TOPK) is most likely a typo."""
    for var in env:
        name = var[4:].lower()
        if var.startswith("RAG_") and var != "RAG_CONFIG" and name not in known:
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.8)
            if close:
                log.warning("ignoring $%s: no such setting (did you mean $RAG_%s?)", var, close[0].upper())
