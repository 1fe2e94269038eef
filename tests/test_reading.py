import pytest
from conftest import CORPUS

from index.chunking import split
from index.reading import read_article, read_folder
from rag.errors import RagError


def test_a_leading_date_is_metadata_not_the_first_sentence(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text(" date 2023-02-17 Karachi: Armed men attacked a building. More text follows here.\n")
    a = read_article(p)
    assert a.id == "x.txt" and a.date == "2023-02-17"
    assert a.title.startswith("Karachi: Armed men attacked a building.")
    assert a.text.startswith("Karachi: Armed men")  # the old reader kept " date 2023-02-17 " in the text
    assert split(a)[0].text == "Karachi: Armed men attacked a building."


def test_the_bundled_article_with_a_date_prefix_cites_its_first_sentence_without_it():
    a = read_article(CORPUS / "004_4931af1c09cdaace.txt")
    assert a.date == "2023-02-17"
    first = split(a)[0]
    assert first.text.startswith("Karachi: Heavily-armed terrorists entered") and "date" not in first.text
    assert a.text[first.start : first.end] == first.text


def test_metadata_lines_at_the_top_become_metadata(tmp_path):
    p = tmp_path / "bus.txt"
    p.write_text(
        "Title: Bus fares rise\nDate: 2023-04-10\nBy Amina Riaz\nSource: City Desk\n\nFares rise by ten per cent. Passes keep their price.\n"
    )
    a = read_article(p)
    assert (a.title, a.date, a.meta) == ("Bus fares rise", "2023-04-10", {"author": "Amina Riaz", "source": "City Desk"})
    assert a.text == "Fares rise by ten per cent. Passes keep their price.\n"
    # The eval corpora's shape: a date line, then the headline, which stays text.
    p.write_text("date: 2024-05-19\nCongo army says coup foiled\n\nKINSHASA, May 19 (Reuters) - The army said.\n")
    a = read_article(p)
    assert a.date == "2024-05-19" and a.text.startswith("Congo army says coup foiled\n") and a.title == "Congo army says coup foiled"
    # A pasted article: headline, then its Date line.
    p.write_text("Blast in Karachi\nDate: 2023-02-17\n\nPolice said six died.\n")
    a = read_article(p)
    assert a.date == "2023-02-17" and a.text == "Blast in Karachi\n\nPolice said six died.\n"


def test_lines_that_only_look_like_metadata_stay_text(tmp_path):
    body = "Storm hits the coast\nBy the evening the river had burst its banks. Source: the district office.\nDate: Friday\n"
    p = tmp_path / "s.txt"
    p.write_text(body + "Later lines: untouched.\n" + "Source: AP\n")
    a = read_article(p)
    assert a.text.startswith("Storm hits the coast\nBy the evening the river") and a.text.endswith("Source: AP\n")
    assert a.meta == {} and a.date is None


def test_markdown_heading_is_title(tmp_path):
    p = tmp_path / "m.md"
    p.write_text("# Flood hits the valley\n\nRain fell for two days.\n")
    assert read_article(p).title == "Flood hits the valley"


def test_html_text_is_the_extracted_text_and_offsets_point_into_it(tmp_path):
    raw = "<html><head><title>Fire at mill</title></head><body><p>The mill burned on Monday.</p><p>Nine workers escaped.</p></body></html>"
    p = tmp_path / "f.html"
    p.write_text(raw)
    a = read_article(p)
    assert a.title == "Fire at mill"
    assert a.text == "The mill burned on Monday.\nNine workers escaped."
    assert [a.text[s.start : s.end] for s in split(a)] == ["The mill burned on Monday.", "Nine workers escaped."]


def test_bad_files_are_skipped_and_the_rest_indexed(tmp_path):
    (tmp_path / "good.txt").write_text("A good article about a flood. It rained.")
    (tmp_path / "latin1.txt").write_bytes("Un caf\xe9 au lait co\xfbte deux euros.".encode("latin-1"))
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "empty.md").write_text("   \n")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    articles, skipped = read_folder(tmp_path)
    assert [a.id for a in articles] == ["good.txt", "latin1.txt"]  # Latin-1 is read now, not skipped
    assert articles[1].text == "Un caf\xe9 au lait co\xfbte deux euros."
    reasons = {s.path.rsplit("/", 1)[1]: s.reason for s in skipped}
    assert set(reasons) == {"bin.txt", "empty.md", "notes.pdf"}
    assert "binary" in reasons["bin.txt"] and reasons["notes.pdf"].startswith("not a readable PDF file")
    assert all("\n" not in r for r in reasons.values())


def test_empty_and_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(RagError, match="no readable articles"):
        read_folder(tmp_path)
    with pytest.raises(RagError, match="not found"):
        read_folder(tmp_path / "nope")


def test_scripts_styles_and_comments_are_blanked_in_one_pass_keeping_offsets():
    from index.reading import _blank_tags

    html = '<p>Hello <b>world</b></p><script>var x = "<p>";</script><!-- note --><style>a{}</style>Tail'
    out = _blank_tags(html)
    assert len(out) == len(html)
    assert out.split() == ["Hello", "world", "Tail"]
    assert out.index("Tail") == html.index("Tail")
    # An opener without its closer hides the rest; a lone "<" run is text, not a tag.
    assert _blank_tags("Before<script>never closed <p>x</p>").split() == ["Before"]
    assert len(_blank_tags("<" * 50_000 + "ok")) == 50_002
