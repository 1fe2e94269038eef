import pytest

from index.reading import read_article, read_folder
from rag.errors import RagError


def test_title_and_date_from_text(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text(" date 2023-02-17 Karachi: Armed men attacked a building. More text follows here.\n")
    a = read_article(p)
    assert a.id == "x.txt" and a.date == "2023-02-17"
    assert a.title.startswith("Karachi: Armed men attacked a building.")


def test_markdown_heading_is_title(tmp_path):
    p = tmp_path / "m.md"
    p.write_text("# Flood hits the valley\n\nRain fell for two days.\n")
    assert read_article(p).title == "Flood hits the valley"


def test_html_offsets_point_into_the_raw_file(tmp_path):
    raw = "<html><head><title>Fire at mill</title></head><body><p>The mill burned on Monday.</p><p>Nine workers escaped.</p></body></html>"
    p = tmp_path / "f.html"
    p.write_text(raw)
    a = read_article(p)
    assert a.title == "Fire at mill"
    assert len(a.text) == len(raw)
    i = a.text.index("Nine workers escaped.")
    assert raw[i : i + len("Nine workers escaped.")] == "Nine workers escaped."


def test_bad_files_are_skipped_and_the_rest_indexed(tmp_path):
    (tmp_path / "good.txt").write_text("A good article about a flood. It rained.")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "empty.md").write_text("   \n")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    articles, skipped = read_folder(tmp_path)
    assert [a.id for a in articles] == ["good.txt"]
    reasons = {s.path.rsplit("/", 1)[1]: s.reason for s in skipped}
    assert set(reasons) == {"latin1.txt", "bin.txt", "empty.md"}
    assert "UTF-8" in reasons["latin1.txt"] and "binary" in reasons["bin.txt"]


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
