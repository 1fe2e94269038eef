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
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rag.errors import RagError

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
    embedder: str = "bundled"  # bundled | path to a sentence-transformers folder
    chunk_size: int = 3
    chunk_overlap: int = 1
    top_k: int = 8
    prompt_sentences: int = 6  # of the top_k evidence sentences, how many the model reads (fewer: faster first token)
    per_article: int = 3
    judge: bool = True  # the 1.5B reader confirms each claim the heuristic verifier passed (rag/judge.py; off for the 0.5B)
    judge_threshold: float = 0.8  # P(yes) below this: the claim is not shown in the model's words
    compare_articles: bool = False  # rag/compare.py: measured to add false conflicts without surfacing more (README)
    retrieval: str = "hybrid"  # hybrid | dense | bm25
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
            if f.name == "llm_url":
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


def _coerce(name: str, raw: Any, typ: Any) -> Any:
    if str(typ) in ("bool", "<class 'bool'>"):
        word = str(raw).strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
        raise RagError(f"config {name}: {raw!r} is not true or false")
    t = typ if isinstance(typ, type) else {"Path": Path, "str": str, "int": int, "float": float}.get(str(typ), str)
    try:
        if t is Path:
            return Path(str(raw)).expanduser()
        if t in (int, float) and (isinstance(raw, bool) or (t is int and isinstance(raw, float) and not raw.is_integer())):
            raise ValueError(raw)  # `port = true` is not 1, `top_k = 3.9` is not 3
        return t(raw)
    except (TypeError, ValueError):
        raise RagError(f"config {name}: {raw!r} is not a valid {getattr(t, '__name__', t)}") from None


def load_config(config_file: Path | None = None, overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Config:
    """Build the effective config. Unknown keys are an error, not silently ignored."""
    cfg = Config()
    types = {f.name: f.type for f in fields(Config) if f.name not in _NOT_SETTINGS}
    sources = {name: "default" for name in types}
    env = dict(os.environ if env is None else env)

    path, how = (Path(config_file), "--config") if config_file else (None, "")
    if path is None and env.get("RAG_CONFIG"):
        path, how = Path(env["RAG_CONFIG"]).expanduser(), "$RAG_CONFIG"
    if path is None:
        user = user_config_file(env)
        if user is not None and user.is_file():
            path, how = user, "user config"
    if path is not None:
        if not path.exists():
            raise RagError(f"config file not found: {path} ({how})")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise RagError(f"config file {path} is not valid TOML: {e}") from None
        except OSError as e:
            raise RagError(f"config file {path} cannot be read: {e.strerror or e}") from None
        for k, v in data.items():
            if k not in types:
                raise RagError(f"config file {path}: unknown setting {k!r}")
            setattr(cfg, k, _coerce(k, v, types[k]))
            sources[k] = f"{path} ({how})"
        cfg.config_file = path

    for k in types:
        key = "RAG_" + k.upper()
        if env.get(key, "") != "":
            setattr(cfg, k, _coerce(k, env[key], types[k]))
            sources[k] = f"env {key}"
    if not cfg.llm_api_key and env.get("OPENAI_API_KEY"):
        cfg.llm_api_key = env["OPENAI_API_KEY"]
        sources["llm_api_key"] = "env OPENAI_API_KEY"

    for k, v in (overrides or {}).items():
        if v is None:
            continue
        if k not in types:
            raise RagError(f"unknown setting {k!r}")
        setattr(cfg, k, _coerce(k, v, types[k]))
        sources[k] = "command line"
    if cfg.backend not in ("bundled", "gguf", "openai"):
        raise RagError(f"backend must be bundled, gguf or openai (got {cfg.backend!r})")
    if cfg.profile not in ("fast", "best"):
        raise RagError(f"profile must be fast or best (got {cfg.profile!r})")
    if cfg.retrieval not in ("hybrid", "dense", "bm25"):
        raise RagError(f"retrieval must be hybrid, dense or bm25 (got {cfg.retrieval!r})")
    for k in ("top_k", "prompt_sentences", "per_article", "max_answer_tokens"):
        if getattr(cfg, k) < 1:
            raise RagError(f"config {k} must be at least 1 (got {getattr(cfg, k)})")
    if cfg.backend == "gguf" and not cfg.model:
        raise RagError("the gguf backend needs a model file: --model PATH or RAG_MODEL")
    cfg.sources = sources
    return dataclasses.replace(cfg)
