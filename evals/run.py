"""`rag eval`: build an index for a corpus, answer every case, score, compare, write reports.

    rag eval                                   # bundled corpus, evals/cases.jsonl, with baselines
    rag eval --corpus evals/corpus_millfire    # picks evals/cases_millfire.jsonl
    rag eval --limit 5 --no-baselines          # a quick look while developing
    rag eval --gate evals/baseline.json        # exit 1 when a headline metric regressed

The models are loaded once. The index for the eval lives in `<data_dir>/eval-<corpus name>`
so the user's own index is never touched. The llama-index peer runs in its own process.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.cases import Case, cases_digest, load_cases, read_corpus_texts
from evals.metrics import peak_rss_mb
from evals.peer import PeerSettings, conversation_query
from evals.report import by_type, machine, write
from evals.scoring import SPEED_KEYS, aggregate, score_item
from evals.systems import CachingGenerator, Output, answer_case, peer_outputs, progress
from rag.config import Config
from rag.errors import RagError

log = logging.getLogger(__name__)

EVALS = Path(__file__).resolve().parent


def default_cases(corpus: Path, cfg: Config) -> Path:
    """evals/cases.jsonl for the bundled corpus; evals/cases_<topic>.jsonl for evals/corpus_<topic>."""
    if corpus.resolve() != Path(cfg.corpus).resolve() and corpus.name.startswith("corpus_"):
        candidate = corpus.parent / f"cases_{corpus.name.removeprefix('corpus_')}.jsonl"
        if candidate.exists():
            return candidate
        raise RagError(f"no cases file for {corpus}: pass --cases FILE (expected {candidate})")
    return EVALS / "cases.jsonl"


def _items(cases: list[Case], outputs: list[Output], texts: dict[str, str], supports) -> list[dict[str, Any]]:
    items = []
    for case, out in zip(cases, outputs, strict=True):
        items.append(
            {
                "case_id": case.id,
                "type": case.type,
                "question": case.question,
                "history": list(case.history),
                "output": out.to_dict(),
                "scores": score_item(case, out, texts, supports),
            }
        )
    return items


def _system(items: list[dict[str, Any]], resources: dict[str, Any], skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {"metrics": aggregate([it["scores"] for it in items], skip), "by_type": by_type(items), "resources": resources, "items": items}


def _peer_model(cfg: Config) -> str | None:
    if cfg.backend == "openai":
        return None
    if cfg.backend == "gguf":
        return str(Path(cfg.model).expanduser())
    from rag.models import bundled_gguf, packaged_model

    return str(bundled_gguf(cfg.models_dir, packaged_model(cfg.profile)))


def _peer_embedder(cfg: Config) -> str:
    """The folder of the embedder the product uses, for the llama-index peers."""
    if cfg.embedder in ("", "bundled", "minilm"):
        from index.embedding import packaged_minilm_path

        return str(packaged_minilm_path())
    if cfg.embedder == "mpnet":
        from index.mpnet import packaged_mpnet_path

        return str(packaged_mpnet_path(cfg.models_dir))
    return cfg.embedder


def load_drafts(path: Path) -> dict[str, list[str]]:
    """Drafts by prompt from `--drafts FILE` ({} when the file does not exist yet; its folder
    must, so that saving them after a long run cannot fail)."""
    if not path.parent.is_dir():
        raise RagError(f"the folder of the drafts file does not exist: {path.parent}")
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RagError(f"cannot read the drafts file {path}: {e}") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise RagError(f"{path} is not a drafts file (a JSON object of prompt -> list of text pieces)")
    return data


def save_drafts(path: Path, cache: dict[str, list[str]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(cache), encoding="utf-8")
    tmp.replace(path)


def run_eval(
    cfg: Config,
    corpus: Path,
    cases_path: Path,
    limit: int | None = None,
    dense: bool = True,
    peer: bool = True,
    generator: Any = None,
    peers: tuple[str, ...] = ("stock", "tuned"),
    drafts: Path | None = None,
) -> dict[str, Any]:
    """Everything but the writing: returns the report as a dict. `generator` replaces the configured one (tests).
    `peers`: which llama-index peers answer (the stock one, the tuned one, or both). `drafts`: a JSON file of
    the model's drafts by prompt; a prompt found there is replayed (not generated), and every draft is saved
    back, so a change after the draft (verification, quoting, disagreements) is re-measured in minutes."""
    from index.store import indexed_corpus
    from rag.wiring import build_engine, build_generator, build_index

    texts = read_corpus_texts(corpus)
    cases = load_cases(cases_path, texts)
    if limit:
        cases = cases[:limit]
    name = corpus.resolve().name
    ecfg = dataclasses.replace(cfg, corpus=corpus, data_dir=Path(cfg.data_dir) / f"eval-{name}")
    started = datetime.now(UTC).isoformat(timespec="seconds")
    mach = machine()

    t0 = time.perf_counter()
    # The eval's index is a cache of this corpus: one built from this corpus elsewhere (a moved checkout) is replaced.
    remembered = indexed_corpus(ecfg.index_dir)
    built = build_index(ecfg, corpus, rebuild=remembered is not None and remembered != corpus.resolve())
    index_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    # From the user's cfg, not ecfg: the joined model lives in the user's data dir.
    model = generator if generator is not None else build_generator(cfg)
    recorded = load_drafts(drafts) if drafts else None
    recorder = CachingGenerator(model, cache=recorded, replay=recorded is not None)  # ours generates (unless replaying); drafts recorded
    replayer = CachingGenerator(model, cache=recorder.cache)  # dense-only replays a draft whose prompt was seen
    engine = build_engine(ecfg, generator=recorder)
    load_s = time.perf_counter() - t0

    def supports(claim: str, passages: list[str]) -> bool:
        return engine.verifier.support(claim, passages).supported

    notes = []
    dense_engine = None
    if dense and cfg.retrieval != "dense":
        dense_engine = build_engine(dataclasses.replace(ecfg, retrieval="dense"), generator=replayer)
    peer_proc = None
    if peer:
        peer_gguf = _peer_model(cfg)
        if peer_gguf is None:
            notes.append("peer skipped: the llama-index peer needs a local GGUF (backend bundled or gguf).")
        else:
            import importlib.util

            if importlib.util.find_spec("llama_index") is None:
                raise RagError("the llama-index peer baseline needs the eval extra: `make eval`, or --no-baselines")
            from evals.peer import PeerProcess

            peer_proc = PeerProcess(
                PeerSettings(
                    str(corpus.resolve()), peer_gguf, _peer_embedder(cfg), cfg.max_answer_tokens, cfg.n_ctx, cfg.threads, tuned=True
                )
            )

    # Case by case, every system in turn: on a shared machine, load drifts over a long run,
    # and interleaving spreads it evenly instead of favouring whichever system runs last.
    ours: list[Output] = []
    dense_out: list[Output] = []
    peer_raw: list[dict[str, Any]] = []
    tuned_raw: list[dict[str, Any]] = []
    spent = {"ours": 0.0, "dense": 0.0, "peer": 0.0, "peer_tuned": 0.0}
    try:
        for case in progress(cases, "eval"):
            t0 = time.perf_counter()
            ours.append(answer_case(engine, case))
            spent["ours"] += time.perf_counter() - t0
            if dense_engine is not None:
                t0 = time.perf_counter()
                dense_out.append(answer_case(dense_engine, case))
                spent["dense"] += time.perf_counter() - t0
            if peer_proc is not None and "stock" in peers:
                t0 = time.perf_counter()
                peer_raw.append(peer_proc.ask(case.id, conversation_query(case.question, list(case.history))))
                spent["peer"] += time.perf_counter() - t0
            if peer_proc is not None and "tuned" in peers:
                t0 = time.perf_counter()
                tuned_raw.append(peer_proc.ask(case.id, conversation_query(case.question, list(case.history)), "tuned"))
                spent["peer_tuned"] += time.perf_counter() - t0
    finally:
        peer_summary = peer_proc.close() if peer_proc is not None else None

    if drafts is not None:
        try:
            save_drafts(drafts, recorder.cache)
        except OSError as e:  # the run's scores are still written
            notes.append(f"ours: the drafts could not be saved to {drafts}: {e}")
    if recorder.hits:
        notes.append(f"ours: {recorder.hits}/{len(cases)} drafts replayed from {drafts}: its times are not measurements.")
    systems = {
        "ours": _system(
            _items(cases, ours, texts, supports),
            {
                "index build s": round(index_s, 1),
                "model+index load s": round(load_s, 1),
                "run s": round(spent["ours"], 1),
                "peak RSS MB (whole eval process)": peak_rss_mb(),
            },
        )
    }
    if dense_engine is not None:
        systems["dense"] = _system(
            _items(cases, dense_out, texts, supports),
            {"run s": round(spent["dense"], 1), "drafts replayed from the main run": f"{replayer.hits}/{len(cases)}"},
            skip=SPEED_KEYS,
        )
        notes.append(
            "dense-only: same pipeline with cfg.retrieval='dense'; a draft whose prompt equals the main run's is replayed, "
            "so its speed is not reported."
        )
    if peer_summary is not None and "stock" in peers:
        systems["peer"] = _system(
            _items(cases, peer_outputs({"outputs": peer_raw}, texts, supports), texts, supports),
            {
                "import s": round(peer_summary["import_s"], 1),
                "model load s": round(peer_summary["load_s"], 1),
                "index build s": round(peer_summary["index_s"], 1),
                "run s": round(spent["peer"], 1),
                "peak RSS MB (its own process)": round(peer_summary["peak_rss_mb"], 1),
                "global Settings untouched": peer_summary["global_settings_untouched"],
            },
        )
        notes.append(
            "peer: CitationQueryEngine.from_args defaults (top-2 of 1024-token chunks, 512-token citation sources), same GGUF, "
            "ChatML, greedy; it gives no offsets, so its span validity is 'cited chunk occurs verbatim in the file'; "
            "follow-ups get the earlier questions as context."
        )
    if peer_summary is not None and "tuned_settings" in peer_summary and "tuned" in peers:
        systems["peer_tuned"] = _system(
            _items(cases, peer_outputs({"outputs": tuned_raw}, texts, supports, loose=True), texts, supports),
            {
                "index build s": round(peer_summary["tuned_index_s"], 1),
                "run s": round(spent["peer_tuned"], 1),
            },
        )
        notes.append(
            "peer_tuned: llama-index pipeline tuned for the task (evals/peer_tuned.py): SentenceWindowNodeParser (window 3) + "
            "MetadataReplacementPostProcessor, QueryFusionRetriever (reciprocal rank) of dense + BM25 (bm25s), top-8, "
            "CitationQueryEngine with our prompt's rules, same GGUF and process as the stock peer (asked right after it); "
            "its windows are located in the file ignoring whitespace, and cited as the file's text there."
        )
    notes.append(
        "systems are run case by case in turn (ours, dense-only, peer, peer_tuned), so load from other processes affects them alike."
    )

    return {
        "corpus": str(corpus),
        "corpus_name": name,
        "cases_file": str(cases_path),
        "n_cases": len(cases),
        "cases_sha256": cases_digest([c.id for c in cases], cases_path),
        "limit": limit,
        "created_at": started,
        "machine": mach,
        "model": model.name,
        "retrieval": cfg.retrieval,
        "index": {"articles": built.articles, "sentences": built.sentences, "chunks": built.chunks},
        "config": {
            k: v
            for k, v in cfg.public().items()
            if k
            in (
                "top_k",
                "per_article",
                "min_similarity",
                "max_answer_tokens",
                "n_ctx",
                "chunk_size",
                "chunk_overlap",
                "embedder",
                "backend",
                "threads",
            )
        },
        "systems": systems,
        "notes": notes,
    }


def main(args: Any, cfg: Config) -> int:
    """Entry point of `rag eval` (args: corpus, cases, out, limit, no_baselines, gate)."""
    from evals import gate as gate_mod
    from evals.report import headline_table

    corpus = Path(args.corpus or cfg.corpus)
    if not corpus.is_dir():
        raise RagError(f"corpus folder not found: {corpus}")
    cases_path = Path(args.cases) if args.cases else default_cases(corpus, cfg)
    if args.limit is not None and args.limit < 1:
        raise RagError("--limit must be 1 or more")
    baseline = None
    if args.gate:
        if not Path(args.gate).exists():
            raise RagError(f"baseline file not found: {args.gate}")
        baseline = json.loads(Path(args.gate).read_text())
    peers = tuple(p for p in (getattr(args, "peers", None) or "stock,tuned").split(",") if p)
    if not peers or set(peers) - {"stock", "tuned"}:
        raise RagError("--peers takes stock, tuned or stock,tuned")
    report = run_eval(
        cfg,
        corpus,
        cases_path,
        args.limit,
        dense=not args.no_baselines,
        peer=not args.no_baselines,
        peers=peers,
        drafts=getattr(args, "drafts", None),
    )
    paths = write(report, Path(args.out) if args.out else EVALS / "reports")
    print(headline_table(report["systems"]))
    print()
    print("reports: " + ", ".join(str(p) for p in paths.values()))
    if baseline is not None:
        checks = gate_mod.check(report, baseline)
        print()
        print(gate_mod.render(checks))
        if not all(c.passed for c in checks):
            print("gate: FAILED (a headline metric fell below the baseline by more than its noise)")
            return 1
        print("gate: passed")
    return 0
