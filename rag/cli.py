"""`rag`: index articles, ask questions, open the chat, run the evals.

Imports here are cheap on purpose (`rag --help` must answer in well under a second);
models, faiss and gradio load inside the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from rag.errors import RagError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rag", description="Offline question answering over news articles, with verified sentence-level citations."
    )
    p.add_argument(
        "--config", type=Path, help="TOML config file (default: $RAG_CONFIG, else ~/.config/rag/rag.toml if it exists; never ./rag.toml)"
    )
    p.add_argument("--data-dir", type=Path, help="where the index and joined model live (default: ./data)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug (shows the exact prompt)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def model_flags(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--backend", metavar="{bundled,gguf,openai}", help="generator backend (default: bundled)")
        sp.add_argument("--profile", metavar="{fast,best}", help="bundled reader: best (1.5B, default) or fast (0.5B: quicker, weaker)")
        sp.add_argument("--model", help="GGUF file for --backend gguf")
        sp.add_argument("--llm-url", help="OpenAI-compatible base URL for --backend openai")
        sp.add_argument("--llm-model", help="model name on the server")
        sp.add_argument("--connect-timeout", metavar="SECONDS", help="seconds to connect to the LLM server (default 5)")
        sp.add_argument("--read-timeout", metavar="SECONDS", help="seconds to wait for the LLM server's next words (default 120)")
        sp.add_argument("--embedder", help="minilm (default), mpnet (better retrieval, slower indexing), or a sentence-transformers folder")
        sp.add_argument("--top-k", metavar="N", help="evidence sentences per question (default 8)")
        sp.add_argument("--retrieval", metavar="{hybrid,dense,bm25}", help="retrieval mode (default hybrid)")

    ix = sub.add_parser("index", help="build or update the index over a folder of articles")
    ix.add_argument(
        "corpus",
        nargs="?",
        type=Path,
        help="folder of articles (.txt, .md, .html, .pdf, .docx, .epub, .rtf) (default: the folder the index was built from, else corpus/); "
        "or one new file in that folder, added without scanning the others",
    )
    ix.add_argument("--rebuild", action="store_true", help="start over: re-embed everything; needed to index a different folder")
    ix.add_argument("--embedder", help="minilm (default), mpnet (better retrieval, slower indexing), or a sentence-transformers folder")
    ix.add_argument("--chunk-size", metavar="N", help="sentences per chunk (default 3)")
    ix.add_argument("--chunk-overlap", metavar="N", help="sentences shared by consecutive chunks (default 1)")
    ix.add_argument(
        "--workers",
        metavar="SPEC",
        help="read, split and embed on Ray workers: N (a local Ray instance with N workers), auto, or ray://host:10001 (needs ray)",
    )

    ask = sub.add_parser("ask", help="answer one question (or a file of questions)")
    ask.add_argument("question", nargs="?", help="the question")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument("--questions", type=Path, help="file with one question per line, or JSONL with a 'question' field")
    ask.add_argument(
        "--conversation", action="store_true", help="with --questions: each question follows up the ones before it, as in the chat"
    )
    model_flags(ask)

    chat = sub.add_parser("chat", help="open the chat UI in the browser")
    chat.add_argument("--host", help="default 127.0.0.1")
    chat.add_argument("--port", metavar="PORT", help="default 7860")
    model_flags(chat)

    ev = sub.add_parser("eval", help="run the evaluation suite and write reports")
    ev.add_argument("--corpus", type=Path, help="corpus folder (default: bundled corpus)")
    ev.add_argument("--cases", type=Path, help="cases file (default: evals/cases.jsonl)")
    ev.add_argument("--out", type=Path, help="report folder (default: evals/reports)")
    ev.add_argument("--limit", type=int, help="only the first N cases")
    ev.add_argument("--no-baselines", action="store_true", help="skip the dense-only and llama-index baselines")
    ev.add_argument("--gate", type=Path, help="fail when a headline metric falls below this baseline JSON")
    ev.add_argument(
        "--drafts",
        type=Path,
        metavar="FILE",
        help="replay the model's drafts saved in FILE by prompt, save new ones there (times are then not measurements)",
    )
    ev.add_argument("--peers", metavar="LIST", help="which llama-index peers answer: stock,tuned (default), stock or tuned")
    model_flags(ev)

    model_flags(sub.add_parser("config", help="show the effective configuration and where each value came from"))
    return p


def _overrides(args: argparse.Namespace) -> dict:
    """The settings given as flags. Their values stay text: `load_config` checks them like the
    environment's, so `--top-k 3.9` is the same one line as `RAG_TOP_K=3.9`, naming the flag."""
    from rag.config import FLAG_SETTINGS

    return {k: getattr(args, k) for k in FLAG_SETTINGS if getattr(args, k, None) is not None}


def _read_questions(path: Path) -> list[str]:
    if not path.exists():
        raise RagError(f"questions file not found: {path}")
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                out.append(str(json.loads(line)["question"]))
            except (json.JSONDecodeError, KeyError):
                raise RagError(f"{path}:{i}: a JSON line needs a 'question' field") from None
        else:
            out.append(line)
    if not out:
        raise RagError(f"no questions in {path}")
    return out


def _print_answer(a) -> None:
    if a.standalone_question and " ".join(a.standalone_question.split()) != " ".join(a.question.split()):
        print(f"Searching for: {a.standalone_question}")  # a follow-up, rewritten (rag/followup.py)
    print(a.answer)
    if a.citations:
        print()
        print("Sources:")
        for c in a.citations:
            print(f"  [{c.n}] {c.source} ({c.start}-{c.end}): “{c.quote}”")
    if a.claims_total:
        print(
            f"\n{a.claims_verified}/{a.claims_total} claims verified"
            + ("" if a.claims_verified == a.claims_total else " (unverified claims were left out of the answer)")
        )


def cmd_index(args, cfg) -> int:
    from rag.wiring import build_index

    _check_index_path(args.corpus)
    if args.corpus is not None and args.corpus.is_file() and not args.workers and not args.rebuild:
        r = build_index(cfg, args.corpus.parent, added=[args.corpus])  # one new file: appended without a scan where it can be
    else:
        r = _index_on_workers(args, cfg) if args.workers else build_index(cfg, args.corpus, rebuild=args.rebuild)
    if r.note:
        print(f"note: {r.note}: indexing every article again", file=sys.stderr)
    for s in r.skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    if r.removed_files:
        print(r.removed_summary(), file=sys.stderr)
    print(
        f"indexed {r.articles} articles from {r.corpus}, {r.sentences} sentences, {r.chunks} chunks in {r.seconds:.1f} s "
        f"(embedded {len(r.embedded_files)}, reused {len(r.reused_files)}, removed {len(r.removed_files)}) → {r.path}"
    )
    return 0


def _check_index_path(path: Path | None) -> None:
    """A path given to `rag index` that is not there, or a file of a type never read: one line,
    nothing indexed (rather than a scan that adds nothing, or a folder taken for another one)."""
    if path is None:
        return
    from index.reading import SUFFIXES

    if not path.exists():
        raise RagError(f"{path} not found: no such file or folder (give a folder of articles, or a new article file in the indexed folder)")
    if path.is_file() and path.suffix.lower() not in SUFFIXES:
        raise RagError(f"skipped {path}: not a type rag reads ({', '.join(SUFFIXES)}); nothing added")


def _index_on_workers(args, cfg):
    """`rag index --workers SPEC`: the same build, with the files read, split and embedded on Ray
    workers (index/workers.py)."""
    from functools import partial

    from index.embedding import load_embedder
    from index.workers import parse_spec, preflight, ray_parts
    from rag.wiring import build_embedder, build_index

    spec = parse_spec(args.workers)
    preflight(spec)  # no Ray, a bad spec or an unreachable cluster: one line, before any model loads
    emb = build_embedder(cfg)
    print(f"starting Ray workers ({args.workers})", file=sys.stderr, flush=True)
    with ray_parts(spec, partial(load_embedder, cfg.embedder, cfg.models_dir), emb.fingerprint) as make_parts:
        print(f"{make_parts.workers} Ray workers ready in {make_parts.startup_s:.1f} s", file=sys.stderr, flush=True)
        return build_index(cfg, args.corpus, embedder=emb, rebuild=args.rebuild, make_parts=make_parts)


def cmd_ask(args, cfg) -> int:
    from rag.answer import answer
    from rag.wiring import build_engine

    if args.questions:
        questions = _read_questions(args.questions)
    elif args.question is not None:
        questions = [args.question]
    else:
        raise RagError('give a question, e.g. rag ask "Where is the Karachi Police Office?", or --questions FILE')
    from rag.scope import clean_question

    for q in questions:  # bad input fails before any model loads
        clean_question(q, cfg.max_question_chars)
    if not cfg.index_dir.exists():
        from rag.wiring import build_index

        print(f"no index at {cfg.index_dir} yet: indexing {cfg.corpus} first (once)", file=sys.stderr, flush=True)
        r = build_index(cfg)
        print(f"indexed {r.articles} articles, {r.sentences} sentences in {r.seconds:.1f} s", file=sys.stderr, flush=True)
    engine = build_engine(cfg)
    for i, q in enumerate(questions):
        a = answer(q, engine, history=questions[:i] if args.conversation else ())
        if args.json:
            print(json.dumps(a.to_dict(), ensure_ascii=False), flush=True)
        else:
            if len(questions) > 1:
                print(f"Q: {q}")
            _print_answer(a)
            if len(questions) > 1:
                print()
    return 0


def cmd_chat(args, cfg) -> int:
    from ui.app import main as ui_main

    return ui_main(cfg)


def cmd_eval(args, cfg) -> int:
    from evals.run import main as eval_main

    return eval_main(args, cfg)


def cmd_config(args, cfg) -> int:
    """Every effective value and where it came from: default, the config file (and how it was
    chosen), an environment variable or the command line. Keys and URL passwords are masked."""
    from rag.config import user_config_file

    if cfg.config_file is None:
        user = user_config_file(dict(os.environ))
        print(f"# no config file (--config FILE, $RAG_CONFIG, or {user or '~/.config/rag/rag.toml'}); ./rag.toml is not read")
    for k, v in cfg.public().items():
        print(f"{k} = {v!r}    # {cfg.sources.get(k, 'default')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if not args.command:
        _parser().print_help()
        return 0
    try:
        from rag.config import load_config

        cfg = load_config(args.config, _overrides(args))
        if cfg.config_file is not None:
            print(f"config: {cfg.config_file}", file=sys.stderr, flush=True)
        if args.command in ("ask", "chat") or (args.command == "index" and args.corpus is None and not args.rebuild):
            from rag.wiring import adopt_indexed_corpus

            adopt_indexed_corpus(cfg)  # one index, one corpus: its folder, or one clear line
        return {"index": cmd_index, "ask": cmd_ask, "chat": cmd_chat, "eval": cmd_eval, "config": cmd_config}[args.command](args, cfg)
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
