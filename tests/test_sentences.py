from pathlib import Path

import pytest

from index.chunking import make_chunks, split
from index.reading import read_article
from index.sentences import split_sentences

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def texts(t):
    return [t[s:e] for s, e in split_sentences(t)]


def test_abbreviations_initials_and_decimals_do_not_split():
    t = "Dr. A. B. Khaliq said 4.5 km were sealed. Brig. Tauqeer led it."
    assert texts(t) == ["Dr. A. B. Khaliq said 4.5 km were sealed.", "Brig. Tauqeer led it."]


def test_quotes_and_urls():
    t = "“Firing is still going on,” the statement said. Random shooting pic.twitter.com/2FFmGMAAYw — Kamran Khan. Next one?"
    assert texts(t) == [
        "“Firing is still going on,” the statement said.",
        "Random shooting pic.twitter.com/2FFmGMAAYw — Kamran Khan.",
        "Next one?",
    ]


def test_closing_quote_after_period_ends_sentence():
    t = "He said “we are ready.” Then he left."
    assert texts(t) == ["He said “we are ready.”", "Then he left."]


def test_lines_are_boundaries_and_spans_are_trimmed():
    t = "  Heading line\n\nFirst sentence here. Second one.\n"
    spans = split_sentences(t)
    assert [t[s:e] for s, e in spans] == ["Heading line", "First sentence here.", "Second one."]


@pytest.mark.parametrize("path", sorted(CORPUS.iterdir()), ids=lambda p: p.name)
def test_every_corpus_sentence_slices_back_exactly(path):
    a = read_article(path)
    raw = path.read_text(encoding="utf-8")
    assert a.text in raw  # the file's text, less any metadata line at its top
    sentences = split(a)
    assert len(sentences) > 5
    for s in sentences:
        assert a.text[s.start : s.end] == s.text and s.text in raw
        assert s.text == s.text.strip() and s.text
    # spans are ordered and disjoint
    assert all(a.end <= b.start for a, b in zip(sentences, sentences[1:], strict=False))


def test_chunks_are_windows_of_whole_sentences(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("One is here. Two is here. Three is here. Four is here. Five.")
    a = read_article(p)
    ss = split(a)
    chunks = make_chunks(a, ss, size=3, overlap=1)
    assert [len(c.sentence_ids) for c in chunks] == [3, 3]
    assert chunks[1].sentence_ids[0] == chunks[0].sentence_ids[-1]
    for c in chunks:
        assert a.text[c.start : c.end] == c.text
    with pytest.raises(ValueError):
        make_chunks(a, ss, size=2, overlap=2)


def test_a_run_without_sentence_ends_is_cut_into_pieces_that_keep_every_word():
    from index.sentences import MAX_SENTENCE_CHARS, split_sentences

    text = "Short one. " + "lorem ipsum " * 400 + "end.\n" + "x" * 2500
    spans = split_sentences(text)
    assert all(0 < e - s <= MAX_SENTENCE_CHARS and text[s:e] == text[s:e].strip() for s, e in spans)
    assert "".join(text[s:e] for s, e in spans).replace(" ", "") == text.replace(" ", "").replace("\n", "")


def test_an_overlong_run_is_cut_at_any_whitespace_not_inside_a_word():
    # Words joined by no-break spaces and tabs (pasted tables, some HTML exports): no ASCII space.
    text = "\u00a0".join(["rainfall"] * 200) + "\t" + "\t".join(["flooded"] * 200)
    spans = split_sentences(text)
    assert len(spans) > 2
    for s, e in spans:
        assert set(text[s:e].split()) <= {"rainfall", "flooded"}


def test_an_overlong_run_without_whitespace_is_cut_after_punctuation():
    text = "天气很好吗，" * 600  # 3,600 characters, no whitespace, no full stop the splitter knows
    spans = split_sentences(text)
    assert len(spans) > 3 and spans[-1][1] == len(text)
    assert all(text[s:e].endswith("，") and text[s:e].startswith("天") for s, e in spans)


def test_pieces_of_an_overlong_run_keep_exact_offsets_and_every_character():
    from index.sentences import MAX_SENTENCE_CHARS

    text = "  " + "a-b " * 300 + "x" * 1500 + "\u3000" + "q," * 800 + "  "
    spans = split_sentences(text)
    assert all(0 < e - s <= MAX_SENTENCE_CHARS and text[s:e] == text[s:e].strip() for s, e in spans)
    assert all(a[1] <= b[0] and not text[a[1] : b[0]].strip() for a, b in zip(spans, spans[1:], strict=False))
    assert "".join("".join(text[s:e].split()) for s, e in spans) == "".join(text.split())
