"""The retrieval-only eval: finds every case set and counts a gold sentence only where it was retrieved."""

from __future__ import annotations

import json

from evals.cases import load_cases, read_corpus_texts
from evals.retrieval_eval import KS, case_sets, hits_at
from tests.conftest import make_engine


def test_case_sets_pair_every_eval_corpus_with_its_cases():
    sets = case_sets()
    names = {cases.stem for _, cases in sets}
    assert {"cases", "cases_phrasings", "cases_train", "cases_coup"} <= names
    assert all(corpus.is_dir() and cases.exists() for corpus, cases in sets)


def test_hit_at_k_counts_only_retrieved_gold_sentences(tmp_path, hash_embedder):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Harbour news\n\nThe ferry left the harbour at noon. Gulls followed the ferry.\n")
    (corpus / "b.txt").write_text("Rail news\n\nThe night train reached the mountain town late. Snow closed the pass.\n")
    rows = [
        {
            "id": "q1",
            "type": "single_fact",
            "question": "When did the ferry leave the harbour?",
            "gold_sources": ["a.txt"],
            "gold_sentences": ["The ferry left the harbour at noon."],
            "key_facts": ["noon"],
            "answerable": True,
            "expect_conflict": False,
        },
        # Its gold sentence shares no word with the question, another sentence shares four: it is not first.
        {
            "id": "q2",
            "type": "single_fact",
            "question": "When did the night train reach the mountain town?",
            "gold_sources": ["a.txt"],
            "gold_sentences": ["Gulls followed the ferry."],
            "key_facts": ["x"],
            "answerable": True,
            "expect_conflict": False,
        },
    ]
    cases_file = tmp_path / "cases.jsonl"
    cases_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cases = load_cases(cases_file, read_corpus_texts(corpus))
    engine = make_engine(corpus, tmp_path / "data", hash_embedder, generator=None)
    one = hits_at(engine.store, hash_embedder, cases[:1], top_k=8, per_article=3)
    assert set(one) == set(KS) and one[1] == 1.0
    both = hits_at(engine.store, hash_embedder, cases, top_k=8, per_article=3)
    assert both[1] == 0.5 and both[8] == 1.0  # q2's gold sentence is retrieved, but not first
