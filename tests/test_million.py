"""Issue 14 point 1: the 1M-sentence archive generator, vectors kept once in the FAISS index
(memory-mapped on load), and articles added to an HNSW index without rebuilding it."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import HashEmbedder

from evals.million import ComposedEmbedder, articles, base_sentences, pools, skeleton, write_corpus
from index import store as store_mod
from index import vectors
from index.chunking import split
from index.reading import read_article
from index.store import build, load

# --- the generator ------------------------------------------------------------------------------


def test_the_archive_is_the_same_for_a_seed_and_another_for_another_seed():
    a, b, c = articles(3000, seed=0), articles(3000, seed=0), articles(3000, seed=1)
    assert a == b and a != c
    assert len(a) == 300 and all(len(ss) <= 10 for _, ss in a)
    assert sum(len(ss) for _, ss in a) > 2700


def test_the_archive_is_real_sentences_with_varied_facts():
    base = {skeleton(s) for art in base_sentences() for s in art}
    sentences = [s for _, ss in articles(20_000) for s in ss]
    # Every generated sentence is a real one with its facts swapped ...
    assert all(skeleton(s) in base for s in sentences)
    # ... and the same real sentence appears with many different facts: near-duplicates.
    variants: dict[str, set[str]] = {}
    for s in sentences:
        variants.setdefault(skeleton(s), set()).add(s)
    with_facts = [v for k, v in variants.items() if "\x00" in k]
    assert len(with_facts) > 300 and np.median([len(v) for v in with_facts]) >= 5
    assert len(set(sentences)) > 0.6 * len(sentences)


def test_the_written_files_split_into_the_generated_sentences(tmp_path):
    n = write_corpus(tmp_path, 500)
    files = sorted(tmp_path.iterdir())
    assert len(files) == 50 and n == sum(len(ss) for _, ss in articles(500))
    generated = dict(articles(500))
    same = sum(
        [s.text for s in split(read_article(f))] == generated[f.name] for f in files
    )  # a title-like first line may be read as metadata
    assert same >= 40


def test_composed_vectors_are_the_real_ones_for_unchanged_sentences_and_move_with_the_facts():
    base = [["The mayor, Karimo, said 12 people were hurt.", "Rain fell all day."]]
    real = HashEmbedder()
    emb = ComposedEmbedder(real, beta=0.3, base=base)
    plain = emb.embed(["Rain fell all day."])[0]
    assert np.allclose(plain, real.embed(["Rain fell all day."])[0], atol=1e-6)
    name, number = pools()["name"][0], pools()["number"][0]  # facts of the pool the archive draws from
    same, varied = emb.embed(["The mayor, Karimo, said 12 people were hurt.", f"The mayor, {name}, said {number} people were hurt."])
    assert np.allclose(same, real.embed(["The mayor, Karimo, said 12 people were hurt."])[0], atol=1e-6)
    truth = real.embed([f"The mayor, {name}, said {number} people were hurt."])[0]
    assert float(same @ varied) < 0.999 and emb.fallbacks == 0
    assert float(varied @ truth) > float(same @ truth)  # swapping the facts moves it towards the real vector
    window = emb.embed(["Rain fell all day.\nThe mayor, Karimo, said 12 people were hurt."])[0]
    assert np.allclose(window, (plain + same) / np.linalg.norm(plain + same), atol=1e-6)
    emb.embed(["Something else entirely."])
    assert emb.fallbacks == 1


# --- one copy of the vectors --------------------------------------------------------------------


def _version(idx: Path) -> Path:
    return idx.resolve()


@pytest.mark.parametrize("kind", ["flat", "hnsw", "hnsw_fp16", "hnsw_sq8", "ivf"])
def test_vectors_are_saved_once_and_search_the_same_after_reload(corpus_copy, tmp_path, kind):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    r = build(corpus_copy, idx, emb, index_kind=kind)
    files = {p.name for p in _version(idx).iterdir() if not p.name.startswith("bm25.")}
    assert files == {"manifest.json", "articles.json", "spans.json", "files.json", "sentences.faiss", "chunks.faiss"}
    q = emb.embed(["How many attackers came in a white vehicle?", "Who claimed the attack?", "the police office"])
    before = vectors.search(r.store.sentence_index, q, 20), vectors.search(r.store.chunk_index, q, 20)
    st = load(idx, emb.fingerprint)
    assert st.mapped and vectors.kind_of(st.sentence_index) == kind
    after = vectors.search(st.sentence_index, q, 20), vectors.search(st.chunk_index, q, 20)
    for (s0, i0), (s1, i1) in zip(before, after, strict=True):
        assert np.array_equal(i0, i1) and np.allclose(s0, s1)
    tol = 1e-6 if kind in ("flat", "hnsw", "ivf") else 0.02  # the quantised kinds keep approximate vectors
    assert np.allclose(st.sentence_vectors, emb.embed([s.text for s in st.sentences]), atol=tol)


def test_the_float_vectors_are_read_from_the_index_without_a_copy(corpus_copy, tmp_path):
    emb = HashEmbedder()
    st = build(corpus_copy, tmp_path / "index", emb, index_kind="hnsw").store
    v = st.sentence_vectors
    assert not v.flags.owndata and not v.flags.writeable
    assert v.shape == (len(st.sentences), emb.dim)


def test_an_index_of_the_old_layout_with_npy_copies_still_loads(corpus_copy, tmp_path):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    build(corpus_copy, idx, emb)
    # The old layout also held sentences.npy and chunks.npy; they are not read any more.
    np.save(_version(idx) / "sentences.npy", np.zeros((3, 7), np.float32))
    np.save(_version(idx) / "chunks.npy", np.zeros((3, 7), np.float32))
    st = load(idx, emb.fingerprint)
    assert np.allclose(st.sentence_vectors, emb.embed([s.text for s in st.sentences]), atol=1e-6)
    assert np.allclose(st.chunk_vectors, emb.embed([c.text for c in st.chunks]), atol=1e-6)


# --- adding to an HNSW index --------------------------------------------------------------------

NEW = "Divers recovered a brass bell from the wreck of the ferry Ostrava near Pelican Bay.\nThe bell weighed 40 kilograms.\n"


def _top_article(st, emb, text: str) -> str:
    _, ids = vectors.search(st.sentence_index, emb.embed([text]), 1)
    return st.sentences[int(ids[0][0])].article_id


def _no_rebuild(monkeypatch):
    real = store_mod.vectors.build

    def refuse(vecs, kind="auto"):
        if len(vecs) > 10:  # an appended article's vectors may make a small flat part of their own
            raise AssertionError("the vector index was rebuilt")
        return real(vecs, kind)

    monkeypatch.setattr(store_mod.vectors, "build", refuse)


def test_an_article_sorting_last_is_added_to_the_hnsw_index_without_a_rebuild(corpus_copy, tmp_path, monkeypatch):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    build(corpus_copy, idx, emb, index_kind="hnsw")
    (corpus_copy / "zz_ferry.txt").write_text(NEW, encoding="utf-8")
    with monkeypatch.context() as m:
        _no_rebuild(m)
        r = build(corpus_copy, idx, emb, index_kind="hnsw")
    assert r.embedded_files == ["zz_ferry.txt"]
    st = load(idx, emb.fingerprint)
    assert _top_article(st, emb, "brass bell from the wreck of the ferry Ostrava") == "zz_ferry.txt"
    # Ids still line up with sentence rows: every vector is its sentence's, in the index and reloaded.
    for store in (r.store, st):
        assert np.allclose(store.sentence_vectors, emb.embed([s.text for s in store.sentences]), atol=1e-6)
        assert np.allclose(store.chunk_vectors, emb.embed([c.text for c in store.chunks]), atol=1e-6)


def test_a_chats_loaded_store_is_not_changed_by_an_add(corpus_copy, tmp_path):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    build(corpus_copy, idx, emb, index_kind="hnsw")
    serving = load(idx, emb.fingerprint)  # memory-mapped: FAISS would abort on an add to it
    n = serving.sentence_index.ntotal
    (corpus_copy / "zz_ferry.txt").write_text(NEW, encoding="utf-8")
    r = build(corpus_copy, idx, emb, index_kind="hnsw", previous=serving)
    assert serving.sentence_index.ntotal == n == len(serving.sentences)
    assert r.store.sentence_index.ntotal == len(r.store.sentences) > n
    built = r.store
    (corpus_copy / "zz_more.txt").write_text("A second late report arrived at night.\n", encoding="utf-8")
    r2 = build(corpus_copy, idx, emb, index_kind="hnsw", previous=built)  # an unmapped store a chat holds
    assert built.sentence_index.ntotal == len(built.sentences)
    assert r2.store.sentence_index.ntotal == len(r2.store.sentences)


def test_a_removed_or_earlier_sorting_article_rebuilds_and_is_never_found(corpus_copy, tmp_path):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    (corpus_copy / "zz_ferry.txt").write_text(NEW, encoding="utf-8")
    build(corpus_copy, idx, emb, index_kind="hnsw")
    (corpus_copy / "zz_ferry.txt").unlink()
    (corpus_copy / "aa_first.txt").write_text("An early bulletin named the ferry Kestrel.\n", encoding="utf-8")
    r = build(corpus_copy, idx, emb, index_kind="hnsw")
    assert r.removed_files == ["zz_ferry.txt"]
    st = load(idx, emb.fingerprint)
    assert st.sentence_index.ntotal == len(st.sentences)
    _, ids = vectors.search(st.sentence_index, emb.embed(["brass bell from the wreck of the ferry Ostrava"]), len(st.sentences))
    assert all(0 <= i < len(st.sentences) for i in ids[0])
    assert "zz_ferry.txt" not in {st.sentences[int(i)].article_id for i in ids[0]}
    assert _top_article(st, emb, "An early bulletin named the ferry Kestrel") == "aa_first.txt"
    assert np.allclose(st.sentence_vectors, emb.embed([s.text for s in st.sentences]), atol=1e-6)


def test_the_sizes_sorted_counts_are_stable():  # the archive's files sort in generation order
    names = [name for name, _ in articles(2000)]
    assert names == sorted(names) and Counter(len(n) for n in names) == {11: 200}


def test_an_append_links_the_main_index_and_searches_a_flat_part_beside_it(corpus_copy, tmp_path):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    build(corpus_copy, idx, emb, index_kind="hnsw")
    main = (_version(idx) / "sentences.faiss").stat().st_ino
    (corpus_copy / "zz_ferry.txt").write_text(NEW, encoding="utf-8")
    r = build(corpus_copy, idx, emb, index_kind="hnsw")
    assert (_version(idx) / "sentences.faiss").stat().st_ino == main  # not read, changed or written again
    st = load(idx, emb.fingerprint)
    for store in (r.store, st):
        assert [p.ntotal for p in vectors.parts_of(store.sentence_index)] == [len(store.sentences) - 2, 2]
        assert vectors.kind_of(store.sentence_index) == "hnsw"
    # The parts search as one index over all the vectors (the oracle: exact search over them all).
    q = emb.embed(["brass bell from the wreck of the ferry Ostrava", "How many attackers came?", "police office"])
    exact = vectors.build(np.array(st.sentence_vectors), "flat")
    got, want = vectors.search(st.sentence_index, q, 8), vectors.search(exact, q, 8)
    assert np.array_equal(got[1], want[1]) and np.allclose(got[0], want[0], atol=1e-6)
    assert _top_article(st, emb, "brass bell from the wreck of the ferry Ostrava") == "zz_ferry.txt"


def test_past_the_most_parts_the_appended_vectors_go_into_the_main_index(corpus_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "MAX_PARTS", 3)
    emb = HashEmbedder()
    idx = tmp_path / "index"
    build(corpus_copy, idx, emb, index_kind="hnsw")
    n_parts = []
    for i, word in enumerate(["bell", "anchor", "compass", "lantern"]):
        (corpus_copy / f"zz_{i}.txt").write_text(f"Divers recovered a brass {word} from the wreck {i}.\n", encoding="utf-8")
        st = build(corpus_copy, idx, emb, index_kind="hnsw").store
        n_parts.append(len(vectors.parts_of(st.sentence_index)))
        loaded = load(idx, emb.fingerprint)
        assert len(vectors.parts_of(loaded.sentence_index)) == n_parts[-1]
        assert np.allclose(loaded.sentence_vectors, emb.embed([s.text for s in loaded.sentences]), atol=1e-6)
        assert _top_article(loaded, emb, f"Divers recovered a brass {word} from the wreck {i}.") == f"zz_{i}.txt"
    assert n_parts == [2, 3, 1, 2]  # the third add folds every appended vector into the main HNSW index


def test_indexing_again_with_nothing_changed_rebuilds_nothing_and_writes_only_the_manifests(corpus_copy, tmp_path, monkeypatch):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    build(corpus_copy, idx, emb, index_kind="hnsw")
    (corpus_copy / "zz_ferry.txt").write_text(NEW, encoding="utf-8")
    build(corpus_copy, idx, emb, index_kind="hnsw")  # two vector parts, two segments
    before = {p.name: p.stat().st_ino for p in _version(idx).iterdir()}
    with monkeypatch.context() as m:
        m.setattr(store_mod.vectors, "build", lambda *a, **k: pytest.fail("the vector index was rebuilt"))
        r = build(corpus_copy, idx, emb, index_kind="hnsw")
    after = {p.name: p.stat().st_ino for p in _version(idx).iterdir()}
    assert r.embedded_files == [] and set(after) == set(before)
    assert sorted(n for n in after if after[n] != before[n]) == ["bm25.meta.json", "manifest.json"]  # the rest linked
    st = load(idx, emb.fingerprint)
    assert _top_article(st, emb, "brass bell from the wreck of the ferry Ostrava") == "zz_ferry.txt"
    assert np.allclose(st.sentence_vectors, emb.embed([s.text for s in st.sentences]), atol=1e-6)


def test_ivf_searching_every_cell_is_exact_search_and_takes_appended_articles(corpus_copy, tmp_path):
    emb = HashEmbedder()
    idx = tmp_path / "index"
    st = build(corpus_copy, idx, emb, index_kind="ivf").store
    q = emb.embed(["How many attackers came in a white vehicle?", "Who claimed the attack?", "the police office"])
    index = vectors.parts_of(st.sentence_index)[0]
    assert vectors.kind_of(index) == "ivf" and index.nprobe == min(vectors.IVF_NPROBE, index.nlist)
    index.nprobe = index.nlist
    exact = vectors.build(np.array(st.sentence_vectors), "flat")
    got, want = vectors.search(index, q, 10), vectors.search(exact, q, 10)
    assert np.allclose(got[0], want[0], atol=1e-6)
    (corpus_copy / "zz_ferry.txt").write_text(NEW, encoding="utf-8")
    r = build(corpus_copy, idx, emb, index_kind="ivf")
    assert r.embedded_files == ["zz_ferry.txt"] and vectors.kind_of(r.store.sentence_index) == "ivf"
    st = load(idx, emb.fingerprint)
    assert _top_article(st, emb, "brass bell from the wreck of the ferry Ostrava") == "zz_ferry.txt"
    assert np.allclose(st.sentence_vectors, emb.embed([s.text for s in st.sentences]), atol=1e-6)


# --- whole-answer latency over two stores (evals/scale_latency.py) -----------------------------


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_the_answers_step_asks_both_stores_in_turn_and_leaves_the_big_one_untouched(tmp_path, monkeypatch):
    import os

    from conftest import CORPUS, ScriptedGenerator

    import rag.answer
    import rag.wiring
    from evals.bench_million import step_answers

    for k in list(os.environ):
        if k.startswith("RAG_"):
            monkeypatch.delenv(k)
    (tmp_path / "rag.toml").write_text("")
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "rag.toml"))
    gen = ScriptedGenerator()
    monkeypatch.setattr(rag.wiring, "build_embedder", lambda cfg: HashEmbedder())
    monkeypatch.setattr(rag.wiring, "build_generator", lambda cfg: gen)
    archive, big = tmp_path / "archive", tmp_path / "big" / "index"
    write_corpus(archive, 400)
    built = build(archive, big, HashEmbedder())
    before = _tree(big.parent)
    asked: list[tuple[str, int]] = []  # (question, sentences in the store asked)
    real_answer = rag.answer.answer

    def spy(question, engine, **kw):
        asked.append((question, len(engine.store.sentences)))
        return real_answer(question, engine, **kw)

    monkeypatch.setattr(rag.answer, "answer", spy)

    r = step_answers(str(big), "2", str(tmp_path / "data"))

    assert r["stores"] == ["bundled", "big"] and r["n_questions"] == 2
    assert r["sentences"]["big"] == built.sentences and 0 < r["sentences"]["bundled"] < built.sentences
    for name in ("bundled", "big"):
        assert r[name]["n"] == 2 and r[name]["total_p50_s"] <= r[name]["total_p95_s"]
        assert r[name]["abstained"] == sum(row[name]["abstained"] for row in r["per_question"])
    assert set(r["ratio"]) == {"ttft_p50", "ttft_p95", "total_p50", "total_p95"}
    assert r["ratio"]["total_p50"] == round(r["big"]["total_p50_s"] / r["bundled"]["total_p50_s"], 3)
    # a warm-up over each, then each question over the bundled store, then over the big one
    sizes = [n for _, n in asked]
    small_n, big_n = r["sentences"]["bundled"], r["sentences"]["big"]
    assert sizes == [small_n, big_n] * 3
    questions = [q for q, _ in asked]
    assert questions[2] == questions[3] and questions[4] == questions[5] and questions[2] != questions[4]
    # the sentences each retrieved are its own store's
    bundled_files, archive_files = {p.name for p in CORPUS.iterdir()}, {p.name for p in archive.iterdir()}
    for row in r["per_question"]:
        assert row["bundled"]["retrieved"] and row["big"]["retrieved"]
        assert {i.split("#")[0] for i in row["bundled"]["retrieved"]} <= bundled_files
        assert {i.split("#")[0] for i in row["big"]["retrieved"]} <= archive_files
    assert _tree(big.parent) == before  # loading the big store wrote nothing
