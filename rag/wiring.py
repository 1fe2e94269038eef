"""The composition root: the one place that builds models and the index from a Config."""

from __future__ import annotations

import logging
from pathlib import Path

from rag.config import Config
from rag.errors import RagError

log = logging.getLogger(__name__)


def build_embedder(cfg: Config):
    from index.embedding import load_embedder

    return load_embedder(cfg.embedder, cfg.models_dir)


def build_generator(cfg: Config):
    from rag.generate import LlamaCppGenerator, OpenAIGenerator
    from rag.models import bundled_gguf, packaged_model

    if cfg.backend == "openai":
        return OpenAIGenerator(
            cfg.llm_url, cfg.llm_model, cfg.llm_api_key or None, cfg.connect_timeout, cfg.read_timeout, cfg.llm_allow_insecure_key
        )
    threads = cfg.threads or None
    if cfg.backend == "gguf":
        return LlamaCppGenerator(Path(cfg.model), n_ctx=cfg.n_ctx, threads=threads, cache_dir=cfg.data_dir / "cache")
    model = packaged_model(cfg.profile)
    return LlamaCppGenerator(
        bundled_gguf(cfg.models_dir, model),
        n_ctx=cfg.n_ctx,
        threads=threads,
        chat_format="chatml",
        name=model.name,
        cache_dir=cfg.data_dir / "cache",
    )


def load_store(cfg: Config, embedder):
    from index.store import load

    return load(cfg.index_dir, embedder.fingerprint, cfg.chunk_size, cfg.chunk_overlap, vector_store=cfg.vector_store)


def adopt_indexed_corpus(cfg: Config) -> None:
    """One index, one corpus: when the config does not name a corpus folder, use the one the
    index was built from (`rag index ~/news`, then `rag chat` adds articles to ~/news); when it
    names another folder, refuse with one line (`--rebuild` replaces the index on purpose)."""
    from index.store import indexed_corpus

    remembered = indexed_corpus(cfg.index_dir)
    if remembered is None or remembered == Path(cfg.corpus).resolve():
        return
    source = cfg.sources.get("corpus", "default")
    if source == "default":
        cfg.corpus = remembered
        cfg.sources["corpus"] = f"index {cfg.index_dir}"
        return
    raise RagError(
        f"the index at {cfg.index_dir} holds the articles of {remembered}, but corpus = {cfg.corpus} ({source}): "
        f"drop that setting, or run `rag index {cfg.corpus} --rebuild` to replace the index"
    )


def build_index(cfg: Config, corpus: Path | None = None, embedder=None, rebuild: bool = False, previous=None, make_parts=None, added=None):
    """Build or update the index. Without `corpus`: the folder the index remembers, if the
    config does not name one (see `adopt_indexed_corpus`), else `cfg.corpus`. `make_parts`
    reads, splits and embeds the new files elsewhere (Ray workers: index/workers.py). `added`:
    files known to be new in the corpus, appended without a scan where that is an append."""
    from index.store import build, indexed_corpus

    if corpus is None:
        remembered = indexed_corpus(cfg.index_dir)
        corpus = remembered if remembered is not None and cfg.sources.get("corpus", "default") == "default" else cfg.corpus
    emb = embedder or build_embedder(cfg)
    return build(
        corpus,
        cfg.index_dir,
        emb,
        cfg.chunk_size,
        cfg.chunk_overlap,
        rebuild=rebuild,
        previous=previous,
        make_parts=make_parts,
        vector_store=cfg.vector_store,
        added=added,
    )


def build_engine(cfg: Config, generator=None):
    """Everything `answer()` needs, loaded once. Pass `generator` to reuse one."""
    from rag.answer import Engine
    from rag.roles import load_parser
    from rag.verify import HeuristicVerifier

    embedder = build_embedder(cfg)
    load_parser()  # the verifier's role parser (after the embedder: see rag.roles)
    store = load_store(cfg, embedder)
    if generator is None:
        generator = build_generator(cfg)
    if not store.sentences:
        raise RagError("the index holds no sentences: add articles and run `rag index`")
    return Engine(
        store=store,
        embedder=embedder,
        generator=generator,
        verifier=HeuristicVerifier(embedder),
        config=cfg,
        judge=build_model_judge(cfg, generator),
        rewriter=build_rewriter(cfg, generator) if cfg.followup == "model" else None,
    )


def build_model_judge(cfg: Config, generator):
    """The reader as claim judge: on for llama.cpp readers, except the 0.5B (`--profile fast`),
    which cannot tell true claims from misread ones (measured: README)."""
    from rag.judge import build_judge

    if not cfg.judge or cfg.backend == "openai" or (cfg.backend == "bundled" and cfg.profile == "fast"):
        return None
    return build_judge(generator, cfg.threads or None)


class _LazyGenerator:
    """A generator built on its first use: a chat of standalone questions never loads it."""

    def __init__(self, name: str, make):
        self.name, self._make, self._gen = name, make, None

    def stream(self, messages, max_tokens: int = 160):
        if self._gen is None:
            self._gen = self._make()
        yield from self._gen.stream(messages, max_tokens)


def build_rewriter(cfg: Config, generator):
    """The model that rewrites follow-ups (`rag.followup`): for a llama.cpp reader, a second
    small context over the same memory-mapped GGUF, built on first use, so a rewrite never
    evicts the answer prompt's cached prefix; for a server reader, the reader itself."""
    from rag.generate import gguf_path

    path = gguf_path(generator)
    if not path:
        return generator

    def make():
        from rag.generate import LlamaCppGenerator

        return LlamaCppGenerator(
            Path(path),
            n_ctx=1024,
            threads=cfg.threads or None,
            chat_format="chatml",
            name=f"{generator.name} (rewrite)",
            cache_dir=cfg.data_dir / "cache",  # the rewrite prompt's fixed system text, kept like the answer prompt's
        )

    return _LazyGenerator(f"{generator.name} (rewrite)", make)
