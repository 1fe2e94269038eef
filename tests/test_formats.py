"""Reading the formats people have: a folder mixing .txt, .md, a saved news page, .pdf, .docx,
.epub, .rtf and a Windows-1252 file indexes with one build, and every article cites exact,
highlightable sentences. The fixtures are small real files (tests/fixtures/make_mixed.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, HashEmbedder, ScriptedGenerator, make_engine

from index.reading import read_article
from index.store import build, load
from rag.errors import RagError
from ui.highlight import Mark, highlight

MIXED = ROOT / "tests" / "fixtures" / "mixed"
TITLES = {
    "bus_fares.txt": "Bus fare rise in Lahore",
    "dock_strike_cp1252.txt": "Dock strike ends after talks",
    "flood_valley.md": "Flood hits the Swat valley",
    "harbour_news.html": "Q&A: Police’s report on the harbour fire",
    "mill_fire.epub": "Mill fire in Hyderabad",
    "power_cut.rtf": "Power cut across Quetta",
    "quake_report.pdf": "Earthquake shakes the northern valley",
    "train_derailment.docx": "Train derails near Kotri junction",
}
# One sentence of each article, exactly as it must be cited.
SENTENCES = {
    "bus_fares.txt": "Bus fares in Lahore will rise by ten per cent from next week, the transport authority said.",
    "dock_strike_cp1252.txt": "“We accepted a pay rise of twelve per cent,” said the union leader, José Fernández — a veteran of the docks.",
    "flood_valley.md": "The river rose by six feet in twelve hours, according to the irrigation department.",
    "harbour_news.html": "The fire at the Karachi harbour warehouse started shortly after midnight on Tuesday, the police report says.",
    "mill_fire.epub": "The mill’s owner said the loss of machinery would run into millions.",
    "power_cut.rtf": "A fault at the main grid station was repaired by the evening.",
    "quake_report.pdf": "An earthquake of magnitude 5.8 struck the northern valley early on Sunday morning, the national seismic centre said.",  # on two lines in the PDF
    "train_derailment.docx": "Twenty-two passengers were treated for minor injuries at the Kotri hospital.",
}


@pytest.fixture
def mixed(tmp_path) -> Path:
    dst = tmp_path / "mixed"
    shutil.copytree(MIXED, dst)
    return dst


def test_a_mixed_folder_indexes_with_one_build_and_every_sentence_slices_its_stored_text(mixed, tmp_path):
    emb = HashEmbedder()
    report = build(mixed, tmp_path / "index", emb)
    # The old reader skipped the cp1252 file and listed no .pdf, .docx, .epub or .rtf.
    assert report.skipped == [] and sorted(report.embedded_files) == sorted(TITLES)
    store = load(tmp_path / "index", emb.fingerprint)
    assert {a.id: a.title for a in store.articles.values()} == TITLES
    for article in store.articles.values():
        sentences = [s for s in store.sentences if s.article_id == article.id]
        assert sentences, article.id
        for s in sentences:
            assert article.text[s.start : s.end] == s.text and s.text == s.text.strip()
        assert SENTENCES[article.id] in {s.text for s in sentences}, article.id
        for bad in ("&amp;", "&#", "&nbsp;", "&ldquo;", "\xa0", "<p", "</", "\ufffd"):
            assert bad not in article.text, (article.id, bad)


def test_the_news_page_is_its_main_text_with_title_date_and_author():
    a = read_article(MIXED / "harbour_news.html")
    assert a.title == "Q&A: Police’s report on the harbour fire"  # the old title: "Q&amp;A: Police &#8217;s report ..."
    assert a.date == "2023-03-01" and a.meta.get("author") == "Sara Khan"
    assert "“The blaze began in the storage area on the ground floor,” the report’s authors wrote." in a.text
    assert "shortly after midnight" in a.text  # &nbsp; decoded to a plain space
    for boilerplate in (
        "Home",
        "Subscribe",
        "Weather",
        "Related stories",
        "Cotton prices",
        "Cookie",
        "rights reserved",
        "dataLayer",
        "font-family",
    ):
        assert boilerplate not in a.text, boilerplate
    assert a.text.splitlines()[1].startswith("The fire at the Karachi harbour")  # no menu glued to the first sentence


def test_a_page_trafilatura_cannot_read_falls_back_to_its_plain_text(tmp_path, monkeypatch):
    import trafilatura

    p = tmp_path / "tiny.html"
    p.write_text("<html><head><title>Tom&#8217;s shop</title></head><body><nav>Menu</nav><p>Open&nbsp;on Sunday.</p></body></html>")
    monkeypatch.setattr(trafilatura, "bare_extraction", lambda *a, **k: None)
    a = read_article(p)
    assert a.title == "Tom’s shop" and a.text == "Tom’s shop\nMenu\nOpen on Sunday."

    def broken(*a, **k):
        raise ValueError("parser broke")

    monkeypatch.setattr(trafilatura, "bare_extraction", broken)
    assert read_article(p).text == "Tom’s shop\nMenu\nOpen on Sunday."


def test_a_windows_1252_file_is_decoded_not_skipped():
    raw = (MIXED / "dock_strike_cp1252.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    a = read_article(MIXED / "dock_strike_cp1252.txt")
    assert "dock workers’ strike" in a.text and "José Fernández — a veteran" in a.text


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("Zürich und Köln sind schön, sagt der Bürgermeister.".encode("latin-1"), "Zürich und Köln sind schön, sagt der Bürgermeister."),
        (
            "Москва - столица России. Президент выступил в пятницу.".encode("cp1251"),
            "Москва - столица России. Президент выступил в пятницу.",
        ),
        ("\ufeffBOM and UTF-8.".encode(), "BOM and UTF-8."),
        ("Twice as wide: UTF-16.".encode("utf-16"), "Twice as wide: UTF-16."),
    ],
    ids=["latin-1", "cp1251", "utf-8-bom", "utf-16"],
)
def test_text_encodings_are_detected(data, text):
    from index.reading import decode

    assert decode(data) == text


def test_binary_and_broken_documents_are_skipped_with_one_line_reasons(tmp_path):
    (tmp_path / "good.txt").write_text("A good article. It rained.")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\nnot really a pdf")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    (tmp_path / "broken.epub").write_bytes(b"nothing")
    (tmp_path / "blob.txt").write_bytes(bytes(range(1, 256)) * 4)
    report = build(tmp_path, tmp_path / "index", HashEmbedder())
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"broken.pdf", "broken.docx", "broken.epub", "blob.txt"}
    assert all(r and "\n" not in r and len(r) < 200 for r in reasons.values()), reasons
    assert reasons["broken.pdf"].startswith("not a readable PDF file")


def test_pdf_lines_are_joined_into_paragraphs_and_headings_kept_apart():
    from index.formats import reflow

    lines = [
        "Quake hits valley",
        "The tremor was felt in three districts and was",
        "strongest in the north. Engineers found a well-",
        "known fault.",
        "",
    ]
    assert (
        reflow(lines)
        == "Quake hits valley\nThe tremor was felt in three districts and was strongest in the north. Engineers found a well-known fault."
    )


QUESTIONS = {  # source: (question, the scripted model's answer)
    "bus_fares.txt": ("By how much will bus fares in Lahore rise?", "Bus fares in Lahore will rise by ten per cent from next week."),
    "dock_strike_cp1252.txt": (
        "What pay rise did the dock workers accept?",
        "The union leader said they accepted a pay rise of twelve per cent.",
    ),
    "flood_valley.md": ("How much did the river rise in the Swat valley?", "The river rose by six feet in twelve hours."),
    "harbour_news.html": (
        "When did the harbour warehouse fire start?",
        "The fire started shortly after midnight on Tuesday, the police report says.",
    ),
    "mill_fire.epub": ("What did the mill owner say about the machinery?", "The owner said the loss of machinery would run into millions."),
    "power_cut.rtf": (
        "When was the fault at the Quetta grid station repaired?",
        "The fault at the main grid station was repaired by the evening.",
    ),
    "quake_report.pdf": (
        "What magnitude was the earthquake in the northern valley?",
        "An earthquake of magnitude 5.8 struck the valley on Sunday morning.",
    ),
    "train_derailment.docx": (
        "How many passengers were hurt when the train derailed near Kotri?",
        "Twenty-two passengers were treated for minor injuries.",
    ),
}


def test_every_article_of_the_mixed_folder_is_answerable_with_a_highlighted_citation(mixed, tmp_path):
    from rag.answer import answer

    gen = ScriptedGenerator()
    engine = make_engine(mixed, tmp_path / "data", HashEmbedder(), gen)
    for source, (question, reply) in QUESTIONS.items():
        gen.replies.clear()
        gen.enqueue(reply)
        a = answer(question, engine)
        assert SENTENCES[source] in {c.quote for c in a.citations if c.source == source}, (source, a.answer, a.citations)
        for c in a.citations:
            text = engine.store.articles[c.source].text
            assert text[c.start : c.end] == c.quote
            marked = highlight(text, [Mark(c.start, c.end, "cite-active")])
            assert marked.count('<mark class="cite-active">') == 1 and marked.count("</mark>") == 1


def test_the_answer_path_does_not_import_the_readers(tmp_path):
    """`rag ask` / `rag chat` start-up: config, wiring, the store and the answer path, not llama-index."""
    emb = HashEmbedder()
    build(MIXED, tmp_path / "index", emb)
    code = (
        "import sys, rag, rag.cli, rag.wiring, rag.answer, index.store, ui.corpus\n"
        f"store = index.store.load({str(tmp_path / 'index')!r})\n"
        "heavy = ('llama_index', 'trafilatura', 'pypdf', 'docx2txt', 'ebooklib', 'charset_normalizer', 'lxml')\n"
        "print(len(store.articles), sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[0] == f"{len(TITLES)} []"


def test_an_index_read_by_the_old_reader_is_rebuilt_with_a_clear_message(mixed, tmp_path):
    emb = HashEmbedder()
    build(mixed, tmp_path / "index", emb)
    manifest_path = (tmp_path / "index").resolve() / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["splitter"]["version"] = 2  # what an index read before this reader recorded
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(RagError, match=r"older sentence splitter \(version 2, now \d+\): run `rag index` to rebuild"):
        load(tmp_path / "index", emb.fingerprint)
    report = build(mixed, tmp_path / "index", emb)
    assert "not reused" in report.note and sorted(report.embedded_files) == sorted(TITLES)


def test_a_two_megabyte_news_page_reads_in_seconds(tmp_path):
    paragraph = (MIXED / "bus_fares.txt").read_text().splitlines()[5]
    page = "<html><head><title>Long page</title></head><body><nav><a href='/'>Home</a></nav><article>"
    page += "".join(f"<p>{i}: {paragraph}</p>\n" for i in range(2_000_000 // len(paragraph))) + "</article></body></html>"
    p = tmp_path / "long.html"
    p.write_text(page)
    t0 = time.perf_counter()
    a = read_article(p)
    assert time.perf_counter() - t0 < 60  # about 1.5 s; the upload limit is 2 MB
    assert len(a.text) > 1_500_000 and "Home" not in a.text
