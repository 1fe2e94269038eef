"""The focus of a question (rag/focus.py): its words without the corpus's topic words, searched
densely as one more ranked list in retrieval's fusion."""

from __future__ import annotations

from pathlib import Path

from index.store import build, load
from rag.focus import focus_query
from rag.retrieve import retrieve

SHARES = {"harbor": 0.6, "bridg": 0.7, "former": 0.01, "name": 0.02, "toll": 0.03}


def test_topic_words_are_dropped_and_the_rest_kept_as_written():
    assert focus_query("What was the Harbor Bridge's former name?", SHARES.get) == "former name"
    assert focus_query("What is the TOLL on the harbor bridge?", SHARES.get) == "TOLL"


def test_no_focus_without_a_topic_word_or_without_anything_left():
    assert focus_query("What was the former name?", SHARES.get) is None  # nothing dropped: the question is its focus
    assert focus_query("Where is the Harbor Bridge?", SHARES.get) is None  # only topic words
    assert focus_query("What was the Harbor Bridge's former name?", SHARES.get, topic_share=0.9) is None


def test_shares_come_from_the_saved_bm25_counts(tmp_path: Path, hash_embedder):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The Harbor Bridge closed. The Harbor Bridge reopened. Tolls rose.", encoding="utf-8")
    (corpus / "b.txt").write_text("The Harbor Bridge is old. Its former name was Miller Span.", encoding="utf-8")
    build(corpus, tmp_path / "index", hash_embedder)
    store = load(tmp_path / "index")
    assert store.bm25.share("bridg") == 3 / 5 and store.bm25.share("former") == 1 / 5 and store.bm25.share("nowhere") == 0.0
    assert focus_query("What was the Harbor Bridge's former name?", store.bm25.share, topic_share=0.5) == "former name"


class _Recording:
    """The store's own backend, except that a dense search for the focus's vector puts one marked
    row first: a row only the focus search can bring."""

    def __init__(self, inner, marked_vec, marked_row):
        self.inner, self.marked_vec, self.marked_row, self.name = inner, marked_vec, marked_row, "recording"
        self.dense_calls = 0

    def dense(self, query_vec, k, what):
        self.dense_calls += 1
        hits = self.inner.dense(query_vec, k, what)
        if what == "sentences" and abs(float(query_vec @ self.marked_vec) - 1.0) < 1e-5:
            return [(self.marked_row, 1.0)] + [h for h in hits if h[0] != self.marked_row]
        return hits

    def keyword(self, query, k):
        return self.inner.keyword(query, k)


def test_retrieval_fuses_a_dense_search_for_the_focus(tmp_path: Path, hash_embedder, monkeypatch):
    corpus = tmp_path / "c"
    corpus.mkdir()
    topic = " ".join(f"The Harbor Bridge report {i} says the Harbor Bridge carried traffic." for i in range(8))
    (corpus / "a.txt").write_text(topic + " Crews painted the railings in spring.", encoding="utf-8")
    (corpus / "b.txt").write_text(topic + " A ferry crossed nearby.", encoding="utf-8")
    build(corpus, tmp_path / "index", hash_embedder)
    store = load(tmp_path / "index")
    q = "What was the Harbor Bridge report's former name?"
    focus = focus_query(q, store.bm25.share)
    assert focus == "former name"
    marked = next(i for i, s in enumerate(store.sentences) if "railings" in s.text)
    rec = _Recording(store.backend, hash_embedder.embed([focus])[0], marked)
    store.backend = rec
    got = retrieve(store, hash_embedder, q, top_k=4, per_article=4)
    assert rec.dense_calls == 3  # sentences, windows, and the focus
    score = {h.sentence.id: h.score for h in got.pool}
    rec.dense_calls = 0
    monkeypatch.setattr("rag.retrieve.focus_query", lambda *a, **k: None)
    plain = {h.sentence.id: h.score for h in retrieve(store, hash_embedder, q, top_k=4, per_article=4).pool}
    assert rec.dense_calls == 2
    marked_id = store.sentences[marked].id
    assert abs(score[marked_id] - plain[marked_id] - 1 / (60 + 1)) < 1e-12  # first place in one more list
    monkeypatch.undo()
    rec.dense_calls = 0
    retrieve(store, hash_embedder, q, top_k=4, per_article=4, mode="dense")
    assert rec.dense_calls == 2  # no focus outside hybrid retrieval (its shares come from BM25)
