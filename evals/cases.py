"""Eval cases: reading and checking a cases file against its corpus (format: evals/README.md).

Every gold sentence must occur verbatim in one of the case's gold sources, so the gold
is tied to the text of the files, not to any system's output. A case file with a typo
fails loudly, with its line number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import RagError

TYPES = ("single_fact", "multi_article", "conflict", "unanswerable", "partial", "followup", "adversarial")


@dataclass(frozen=True)
class Case:
    id: str
    type: str
    question: str
    history: tuple[str, ...]
    gold_sources: tuple[str, ...]
    gold_sentences: tuple[str, ...]
    gold_spans: tuple[tuple[str, int, int], ...]  # (source, start, end) of every gold sentence occurrence
    key_facts: tuple[str, ...]
    answerable: bool
    expect_conflict: bool
    conflict_values: tuple[str, ...] = ()
    exact: str = ""
    must_not_contain: tuple[str, ...] = ()
    note: str = ""
    extra: dict = field(default_factory=dict, compare=False)


def cases_digest(ids: list[str], path: Path) -> str:
    """Identifies what was run: the case ids in order and the case file's content."""
    import hashlib

    return hashlib.sha256(json.dumps([*ids, Path(path).read_text(encoding="utf-8")]).encode()).hexdigest()


def _spans(text: str, needle: str) -> list[tuple[int, int]]:
    out, i = [], text.find(needle)
    while i >= 0:
        out.append((i, i + len(needle)))
        i = text.find(needle, i + 1)
    return out


def read_corpus_texts(corpus: Path) -> dict[str, str]:
    """File name → text, read the way the project reads articles (exact characters, for offsets)."""
    from index.reading import read_folder

    articles, _ = read_folder(Path(corpus))
    return {a.id: a.text for a in articles}


def load_cases(path: Path, texts: dict[str, str]) -> list[Case]:
    """Parse and validate a JSONL cases file against the corpus texts."""
    path = Path(path)
    if not path.exists():
        raise RagError(f"cases file not found: {path}")
    cases: list[Case] = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path.name}:{lineno}"
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            raise RagError(f"{where}: not valid JSON ({e.msg})") from None
        cases.append(_case(d, where, texts))
        if cases[-1].id in seen:
            raise RagError(f"{where}: duplicate case id {cases[-1].id!r}")
        seen.add(cases[-1].id)
    if not cases:
        raise RagError(f"no cases in {path}")
    return cases


def _case(d: dict, where: str, texts: dict[str, str]) -> Case:
    def need(key: str, typ: type | tuple[type, ...]):
        if key not in d:
            raise RagError(f"{where}: missing field {key!r}")
        if not isinstance(d[key], typ):
            raise RagError(f"{where}: field {key!r} has the wrong type")
        return d[key]

    cid = need("id", str)
    where = f"{where} ({cid})"
    ctype = need("type", str)
    if ctype not in TYPES:
        raise RagError(f"{where}: type must be one of {', '.join(TYPES)}")
    if "turns" in d:
        turns = need("turns", list)
        if len(turns) < 2 or not all(isinstance(t, str) and t.strip() for t in turns):
            raise RagError(f"{where}: 'turns' needs two or more non-empty questions (earlier ones first)")
        question, history = turns[-1], tuple(turns[:-1])
    else:
        question, history = need("question", str), ()
    sources = tuple(need("gold_sources", list))
    sentences = tuple(need("gold_sentences", list))
    key_facts = tuple(need("key_facts", list))
    answerable = need("answerable", bool)
    expect_conflict = need("expect_conflict", bool)
    conflict_values = tuple(d.get("conflict_values", ()))
    for s in sources:
        if s not in texts:
            raise RagError(f"{where}: gold source {s!r} is not in the corpus")
    spans: list[tuple[str, int, int]] = []
    for g in sentences:
        found = [(s, a, b) for s in sources for a, b in _spans(texts[s], g)]
        if not found:
            raise RagError(f"{where}: gold sentence not found verbatim in any gold source: {g[:80]!r}")
        spans.extend(found)
    if answerable and not key_facts:
        raise RagError(f"{where}: an answerable case needs key_facts")
    if answerable and not sources:
        raise RagError(f"{where}: an answerable case needs gold_sources")
    if not answerable and (key_facts or sources):
        raise RagError(f"{where}: an unanswerable case has no gold_sources or key_facts")
    if expect_conflict and len(conflict_values) < 2:
        raise RagError(f"{where}: expect_conflict needs two or more conflict_values")
    known = {
        "id",
        "type",
        "question",
        "turns",
        "gold_sources",
        "gold_sentences",
        "key_facts",
        "answerable",
        "expect_conflict",
        "conflict_values",
        "exact",
        "must_not_contain",
        "note",
    }
    return Case(
        id=cid,
        type=ctype,
        question=question,
        history=history,
        gold_sources=sources,
        gold_sentences=sentences,
        gold_spans=tuple(spans),
        key_facts=key_facts,
        answerable=answerable,
        expect_conflict=expect_conflict,
        conflict_values=conflict_values,
        exact=str(d.get("exact", "")),
        must_not_contain=tuple(d.get("must_not_contain", ())),
        note=str(d.get("note", "")),
        extra={k: v for k, v in d.items() if k not in known},
    )
