"""The answer path end to end with fakes: retrieval, attribution, exact quotes."""

from conftest import HashEmbedder, ScriptedGenerator, make_engine

from rag.answer import answer


def test_cited_answer_quotes_exact_file_text(corpus_copy, tmp_path):
    gen = ScriptedGenerator(["The Karachi Police Office is located on Shahrae Faisal."])
    engine = make_engine(corpus_copy, tmp_path / "data", HashEmbedder(), gen)
    a = answer("Where is the Karachi Police Office located?", engine)
    assert not a.abstained
    assert a.citations, a
    for c in a.citations:
        text = engine.store.articles[c.source].text  # the file's text as read and indexed
        assert text[c.start : c.end] == c.quote and c.quote in (corpus_copy / c.source).read_text(encoding="utf-8")
    assert "Shahrae Faisal" in a.citations[0].quote
    assert "[1]" in a.answer
    assert gen.prompts and "Shahrae Faisal" in gen.prompts[0][-1]["content"]
