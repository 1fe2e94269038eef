"""BM25 built once with bm25s, saved beside the vectors and memory-mapped on load.

The oracle is the BM25 this project used before bm25s (`_Reference`, kept here verbatim):
the new index must rank every eval question's sentences the same and score them alike.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import HashEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st

from index import lexical
from index.chunking import split
from index.lexical import BM25, token_ids, tokens
from index.reading import read_folder
from index.store import build, load

ROOT = Path(__file__).resolve().parent.parent
EVALS = ROOT / "evals"


class _Reference:
    """The pre-bm25s BM25 (index/lexical.py before issue 13), rebuilt per process: the oracle."""

    def __init__(self, texts: list[str], k1: float = 1.5, b: float = 0.75):
        self.n = len(texts)
        docs = [tokens(t) for t in texts]
        lengths = np.array([len(d) for d in docs], dtype=np.float32)
        avg = float(lengths.mean()) if self.n and lengths.sum() else 1.0
        postings: dict[str, dict[int, int]] = {}
        for i, doc in enumerate(docs):
            for t in doc:
                row = postings.setdefault(t, {})
                row[i] = row.get(i, 0) + 1
        norm = k1 * (1 - b + b * lengths / avg)
        self._index: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for t, row in postings.items():
            ids = np.fromiter(row.keys(), dtype=np.int64, count=len(row))
            tf = np.fromiter(row.values(), dtype=np.float32, count=len(row))
            idf = np.log(1 + (self.n - len(row) + 0.5) / (len(row) + 0.5))
            self._index[t] = (ids, (idf * tf * (k1 + 1) / (tf + norm[ids])).astype(np.float32))

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(self.n, dtype=np.float32)
        for t in set(tokens(query)):
            if t in self._index:
                ids, w = self._index[t]
                scores[ids] += w
        return scores

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        scores = self.scores(query)
        if not scores.any() or k <= 0:
            return []
        k = min(k, self.n)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def _eval_sets() -> list[tuple[Path, Path]]:
    """(cases file, its corpus): evals/cases_<topic>.jsonl over evals/corpus_<topic>, the others over corpus/."""
    out = []
    for cases in sorted(EVALS.glob("cases*.jsonl")):
        topic = EVALS / ("corpus_" + cases.stem.removeprefix("cases_"))
        out.append((cases, topic if topic.is_dir() else ROOT / "corpus"))
    return out


def _questions(cases: Path) -> list[str]:
    rows = [json.loads(line) for line in cases.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    return [q for r in rows for q in ([r["question"]] if "question" in r else r.get("turns", []))]


def test_rankings_and_scores_match_the_previous_bm25_on_every_eval_question():
    """Every question (and follow-up turn) of evals/cases*.jsonl over its corpus's sentences: the
    same top 60 (retrieval's pool) in the same order, and every sentence's score within float32 noise."""
    questions = same = 0
    worst = 0.0
    for cases, corpus in _eval_sets():
        articles, _ = read_folder(corpus)
        texts = [s.text for a in articles for s in split(a)]
        old, new = _Reference(texts), BM25.build(texts)
        for q in _questions(cases):
            questions += 1
            worst = max(worst, float(np.abs(old.scores(q) - new.scores(q)).max()))
            same += [i for i, _ in old.search(q, 60)] == [i for i, _ in new.search(q, 60)]
    assert questions > 300  # all eight case files were read
    assert same == questions, f"identical top-60 for {same} of {questions} questions"
    assert worst < 1e-4, f"largest score difference {worst}"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="aAbB’'-. 0123 thesinglyrunning", max_size=60), max_size=6))
def test_token_ids_are_the_tokens_of_each_text(texts):
    ids, lengths, vocab = token_ids(texts)
    words = {i: w for w, i in vocab.items()}
    ends = np.cumsum(lengths).tolist()
    docs = [ids[end - n : end].tolist() for n, end in zip(lengths.tolist(), ends, strict=True)]
    assert [[words[i] for i in doc] for doc in docs] == [tokens(t) for t in texts]
    assert len(ids) == sum(lengths)


def test_a_query_term_counts_once_and_nothing_matches_nothing():
    bm = BM25.build(["police police station", "the fire station", "a car"])
    assert bm.search("police", 3) == bm.search("police police police", 3)
    assert [i for i, _ in bm.search("police station", 10)] == [0, 1]
    assert bm.search("the of and", 3) == [] and bm.search("zeppelin", 3) == [] and bm.search("police", 0) == []
    assert BM25.build([]).search("police", 3) == [] and BM25.build(["the", "of"]).search("the", 3) == []


def _version(idx: Path) -> Path:
    return idx.resolve()


def test_the_bm25_is_saved_with_the_index_and_a_loaded_store_does_not_retokenise(corpus_copy, tmp_path, monkeypatch):
    """Before: every process tokenised every sentence on its first question (2.4 s at 100k)."""
    emb = HashEmbedder()
    idx = tmp_path / "data" / "index"
    build(corpus_copy, idx, emb)
    assert (_version(idx) / "bm25.0.rows.npy").exists() and BM25.saved_in(_version(idx))
    calls = []
    real = lexical.tokens
    monkeypatch.setattr(lexical, "tokens", lambda text: calls.append(text) or real(text))
    st_ = load(idx, emb.fingerprint)
    q = "How many attackers came in a white vehicle?"
    got = st_.bm25.search(q, 60)
    assert calls == [q]  # only the query was tokenised
    assert all(isinstance(seg.rows, np.memmap) for seg in st_.bm25.segments)
    want = _Reference([s.text for s in st_.sentences]).search(q, 60)
    assert got and [i for i, _ in got] == [i for i, _ in want]
    assert np.allclose([x for _, x in got], [x for _, x in want], atol=1e-4)


def test_an_index_saved_without_bm25_or_with_a_stale_one_still_answers(corpus_copy, tmp_path, caplog):
    emb = HashEmbedder()
    idx = tmp_path / "data" / "index"
    build(corpus_copy, idx, emb)
    q = "Which road is the Karachi Police Office on?"
    want = load(idx, emb.fingerprint).bm25.search(q, 20)
    folder = _version(idx)
    meta = (folder / "bm25.meta.json").read_text()
    (folder / "bm25.meta.json").write_text(meta.replace(lexical.TOKENIZER, "another-tokenizer"))
    with caplog.at_level(logging.INFO, logger="index.store"):
        assert load(idx, emb.fingerprint).bm25.search(q, 20) == want
    assert "other settings" in caplog.text
    (folder / "bm25.meta.json").write_text(meta)
    (folder / "bm25.0.indptr.npy").write_bytes(b"\x93NUMPY garbage")
    assert load(idx, emb.fingerprint).bm25.search(q, 20) == want
    for f in folder.glob("bm25.*"):  # an index written before BM25 was saved
        f.unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="index.store"):
        assert load(idx, emb.fingerprint).bm25.search(q, 20) == want
    assert "none saved" in caplog.text


def test_an_added_article_is_in_the_new_versions_bm25(corpus_copy, tmp_path):
    emb = HashEmbedder()
    idx = tmp_path / "data" / "index"
    first = build(corpus_copy, idx, emb)
    assert first.store.bm25.search("zeppelin", 5) == []
    shutil.copy(corpus_copy / "000_44757a0c057781b9.txt", corpus_copy / "zz_extra.txt")
    with (corpus_copy / "zz_extra.txt").open("a", encoding="utf-8") as f:
        f.write("\nA zeppelin landed in Quetta on Monday.\n")
    second = build(corpus_copy, idx, emb)
    assert second.reused_files and "zz_extra.txt" in second.embedded_files
    for st_ in (second.store, load(idx, emb.fingerprint)):
        (row, _), *rest = st_.bm25.search("zeppelin", 5)
        assert rest == [] and st_.sentences[row].article_id == "zz_extra.txt"
        assert st_.bm25.n == len(st_.sentences) == second.sentences


@pytest.mark.parametrize("n", [0, 1])
def test_save_and_load_round_trip_of_tiny_indexes(tmp_path, n):
    texts = ["Police said the attack began at 7 pm."][:n]
    BM25.build(texts).save(tmp_path)
    bm = BM25.load(tmp_path, n)
    assert bm.search("attack", 3) == BM25.build(texts).search("attack", 3)
    with pytest.raises(ValueError, match="other settings"):
        BM25.load(tmp_path, n + 1)


# --- segments: an add tokenises only its sentences, and scores stay those of a build at once ---


@pytest.mark.parametrize("max_segments", [16, 1])  # 1: every extend merges the segments into one
def test_an_index_extended_in_segments_scores_bit_for_bit_as_one_built_at_once(tmp_path, monkeypatch, max_segments):
    monkeypatch.setattr(lexical, "MAX_SEGMENTS", max_segments)
    for n_set, (cases, corpus) in enumerate(_eval_sets()):
        articles, _ = read_folder(corpus)
        texts = [s.text for a in articles for s in split(a)]
        a, b = len(texts) // 2, len(texts) * 3 // 4
        once = BM25.build(texts)
        grown = BM25.build(texts[:a]).extend(texts[a:b]).extend([]).extend(texts[b:])
        assert len(grown.segments) == (4 if max_segments > 1 else 1)
        folder = tmp_path / str(n_set)
        folder.mkdir()
        grown.save(folder)
        for bm in (grown, BM25.load(folder, len(texts))):
            assert bm.vocab == once.vocab
            for q in _questions(cases):
                assert np.array_equal(bm.scores(q), once.scores(q)), q  # the same floats, not only close ones
                assert bm.search(q, 60) == once.search(q, 60)
            assert bm.share("polic") == once.share("polic")


def test_saving_an_extended_index_links_the_earlier_segments_and_leaves_them_unchanged(tmp_path):
    texts = ["Police said the attack began at 7 pm.", "Three attackers were killed.", "The office reopened on Monday."]
    first, second = tmp_path / "v1", tmp_path / "v2"
    first.mkdir()
    second.mkdir()
    BM25.build(texts[:2]).save(first)
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    BM25.load(first, 2).extend(texts[2:]).save(second)
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before
    for name in before:
        if name.startswith("bm25.0."):
            assert (first / name).stat().st_ino == (second / name).stat().st_ino  # the same file, not a copy
    assert not (first / "bm25.1.rows.npy").exists() and (second / "bm25.1.rows.npy").exists()
    assert BM25.load(second, 3).search("office reopened", 3) == BM25.build(texts).search("office reopened", 3)
