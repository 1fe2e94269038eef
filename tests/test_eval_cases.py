"""The case files: valid against their corpora, and a broken case fails loudly with its line."""

import json
from pathlib import Path

import pytest

from evals.cases import TYPES, load_cases, read_corpus_texts
from rag.errors import RagError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def kpo_texts():
    return read_corpus_texts(ROOT / "corpus")


def test_bundled_cases_are_valid_and_cover_every_kind(kpo_texts):
    cases = load_cases(ROOT / "evals" / "cases.jsonl", kpo_texts)
    assert len(cases) >= 60
    assert {c.type for c in cases} == set(TYPES)
    assert sum(c.expect_conflict for c in cases) >= 8
    assert sum(not c.answerable for c in cases) >= 10
    assert any(c.history for c in cases)
    for c in cases:
        for source, start, end in c.gold_spans:  # gold spans slice back to the gold text
            assert kpo_texts[source][start:end] in c.gold_sentences


def test_second_corpus_cases_are_valid():
    texts = read_corpus_texts(ROOT / "evals" / "corpus_millfire")
    cases = load_cases(ROOT / "evals" / "cases_millfire.jsonl", texts)
    assert len(cases) >= 15
    assert sum(c.expect_conflict for c in cases) >= 2


def _write(tmp_path, *rows):
    p = tmp_path / "cases.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return p


GOOD = {
    "id": "x1",
    "type": "single_fact",
    "question": "Where?",
    "gold_sources": ["a.txt"],
    "gold_sentences": ["The mill is in Eastmere."],
    "key_facts": ["Eastmere"],
    "answerable": True,
    "expect_conflict": False,
}
TEXTS = {"a.txt": "Intro. The mill is in Eastmere. End.", "b.txt": "Other."}


def test_turns_become_history(tmp_path):
    row = {**GOOD, "type": "followup", "turns": ["What burned?", "Where?"]}
    del row["question"]
    (c,) = load_cases(_write(tmp_path, row), TEXTS)
    assert c.question == "Where?" and c.history == ("What burned?",)
    assert c.gold_spans == (("a.txt", 7, 31),)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"gold_sentences": ["The mill is in Westmere."]}, "not found verbatim"),
        ({"gold_sources": ["c.txt"]}, "not in the corpus"),
        ({"type": "trivia"}, "type must be one of"),
        ({"key_facts": []}, "needs key_facts"),
        ({"answerable": False}, "unanswerable case has no gold"),
        ({"expect_conflict": True}, "two or more conflict_values"),
        ({"answerable": "yes"}, "wrong type"),
    ],
)
def test_broken_cases_are_rejected_with_line_number(tmp_path, change, message):
    with pytest.raises(RagError, match=message) as e:
        load_cases(_write(tmp_path, GOOD, {**GOOD, "id": "x2", **change}), TEXTS)
    assert "cases.jsonl:2" in str(e.value)


def test_duplicate_ids_and_bad_json(tmp_path):
    with pytest.raises(RagError, match="duplicate case id"):
        load_cases(_write(tmp_path, GOOD, GOOD), TEXTS)
    p = tmp_path / "bad.jsonl"
    p.write_text("{not json\n")
    with pytest.raises(RagError, match="bad.jsonl:1: not valid JSON"):
        load_cases(p, TEXTS)
