"""The model-free disagreement eval counts a conflict only when two expected values would be shown,
and a false conflict only on an answerable case that expects none."""

from __future__ import annotations

import json

from evals.cases import load_cases, read_corpus_texts
from evals.conflict_eval import tally
from tests.conftest import make_engine

ARTICLES = {
    "a.txt": "Siege report\n\nThree gunmen stormed the Veldor hotel on Friday night. The hotel has 200 rooms.\n",
    "b.txt": "Siege update\n\nFive gunmen stormed the Veldor hotel, police said. Guests were moved to a school.\n",
}


def _case(id_: str, question: str, conflict: bool, values=(), answerable=True) -> dict:
    return {
        "id": id_,
        "type": "conflict" if conflict else "single_fact",
        "question": question,
        "gold_sources": ["a.txt"] if answerable else [],
        "gold_sentences": [],
        "key_facts": ["x"] if answerable else [],
        "answerable": answerable,
        "expect_conflict": conflict,
        "conflict_values": list(values),
    }


def test_counts_surfaced_conflicts_and_false_ones(tmp_path, real_embedder):
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text)
    rows = [
        _case("c1", "How many gunmen stormed the Veldor hotel?", True, ["three|3", "five|5"]),
        _case("c2", "How many gunmen stormed the Veldor hotel?", True, ["three|3", "seven|7"]),  # only one expected value is there
        _case("f1", "How many gunmen stormed the Veldor hotel?", False),  # answerable, expects no conflict: a false one
        _case("n1", "Where were the guests moved to?", False),
        _case("u1", "How many gunmen stormed the Veldor hotel?", False, answerable=False),  # unanswerable: not counted
    ]
    cases_file = tmp_path / "cases.jsonl"
    cases_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cases = load_cases(cases_file, read_corpus_texts(corpus))
    engine = make_engine(corpus, tmp_path / "data", real_embedder, generator=None)
    t = tally(engine.store, real_embedder, cases, top_k=8, per_article=3)
    assert (t.surfaced, t.conflicts, t.false, t.others) == (1, 2, 1, 2)
    assert t.misses[0] == rows[1]["question"] and t.misses[1].startswith("FALSE: ")
