"""UI logic without a server: highlights by offsets, answer formatting, sessions and
history, streaming and stopping a turn, feedback records, adding articles."""

from __future__ import annotations

import html
import json
import re
import socket

import pytest
from conftest import CORPUS, HashEmbedder, ScriptedGenerator, make_engine

from rag.errors import RagError
from rag.types import Answer, Article, Citation, Claim, Conflict, Version
from ui.chat import Session, Turn, run_turn
from ui.corpus import Library, pasted_article, safe_name, save_article
from ui.feedback import append_jsonl, feedback_record
from ui.format import assistant_html, chat_messages, link_markers, sources_html
from ui.highlight import Mark, highlight

TEXT = "Police said <six> died.\n\nOfficials & medics said five died. The attack began at 7pm."


def article(text: str = TEXT, id: str = "a.txt", title: str = "Attack", date: str | None = "2023-02-17") -> Article:
    return Article(id=id, title=title, date=date, path=id, text=text)


def cite(n: int, art: Article, quote: str, supported: bool = True) -> Citation:
    start = art.text.index(quote)
    return Citation(
        n=n, source=art.id, title=art.title, start=start, end=start + len(quote), quote=quote, score=0.9, supported=supported, date=art.date
    )


def cited_answer(**kw) -> tuple[Answer, dict[str, Article]]:
    a, b = article(), article("Another report. Five people were killed, police said.", "b.txt", "Second", None)
    citations = (cite(1, a, "Police said <six> died."), cite(2, b, "Five people were killed, police said."))
    claims = (Claim("Six died", (1,), True, 0.9), Claim("Five were killed", (2,), True, 0.8), Claim("It rained", (), False, 0.1))
    fields = dict(
        question="How many died?",
        answer="Six died [1]. Five were killed [2].",
        abstained=False,
        citations=citations,
        claims=claims,
        standalone_question="How many died?",
    )
    fields.update(kw)
    return Answer(**fields), {a.id: a, b.id: b}


def visible_text(fragment: str) -> str:
    """What a browser shows for an HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


# --- highlight -----------------------------------------------------------------------------


def test_highlight_marks_exactly_the_offsets_and_escapes():
    s = TEXT.index("Officials")
    e = TEXT.index("died.", s) + len("died.")
    out = highlight(TEXT, [Mark(s, e, "cite-active")])
    assert "&lt;six&gt;" in out and "&amp;" in out and "<six>" not in out
    marked = re.search(r'<mark class="cite-active">(.*?)</mark>', out, re.DOTALL)
    assert marked and html.unescape(marked.group(1)) == TEXT[s:e]
    assert visible_text(out) == TEXT  # nothing added, nothing lost


def test_highlight_round_trips_every_sentence_of_a_real_article():
    from index.chunking import split
    from index.reading import read_article

    art = read_article(sorted(CORPUS.iterdir())[0])
    for s in split(art):
        out = highlight(art.text, [Mark(s.start, s.end, "x")])
        inner = re.search(r'<mark class="x">(.*?)</mark>', out, re.DOTALL)
        assert inner and html.unescape(inner.group(1)) == s.text
        assert visible_text(out) == art.text


def test_highlight_skips_overlaps_and_rejects_spans_outside_the_text():
    out = highlight("abcdef", [Mark(0, 3, "a"), Mark(2, 5, "b"), Mark(4, 6, "c")])
    assert out == '<mark class="a">abc</mark>d<mark class="c">ef</mark>'
    with pytest.raises(ValueError):
        highlight("abc", [Mark(1, 9)])
    with pytest.raises(ValueError):
        highlight("abc", [Mark(2, 2)])


# --- formatting ----------------------------------------------------------------------------


def test_link_markers_links_known_numbers_only_and_escapes_text():
    out = link_markers("<b>Six</b> died [1][3].", 4, [1])
    assert "&lt;b&gt;Six&lt;/b&gt;" in out
    assert 'href="#cite-4-1"' in out and 'data-cite="4-1"' in out
    assert "#cite-4-3" not in out and "[3]" in out


def test_answer_message_has_linked_markers_badge_and_unverified_claims():
    ans, _ = cited_answer()
    out = assistant_html(Turn(0, ans.question, answer=ans))
    assert out.count('class="rag-ref"') == 2
    assert "2/3 claims verified" in out and "rag-badge partial" in out
    assert "It rained" in out and "unverified claim" in out
    assert "Searching for" not in out  # the question was already standalone


def test_all_verified_badge_is_marked_ok():
    ans, _ = cited_answer(claims=(Claim("Six died", (1,), True, 0.9),))
    out = assistant_html(Turn(0, ans.question, answer=ans))
    assert "1/1 claims verified" in out and "rag-badge ok" in out and "rag-unverified" not in out


def test_follow_up_shows_the_standalone_question():
    ans, _ = cited_answer(question="And how many were injured?", standalone_question="And how many were injured? (about: Karachi)")
    out = assistant_html(Turn(1, ans.question, answer=ans))
    assert "Searching for: <q>And how many were injured? (about: Karachi)</q>" in out


def test_abstention_is_distinct_and_has_no_sources():
    ans = Answer(question="Who won the match?", answer="The articles do not say.", abstained=True, citations=())
    turn = Turn(0, ans.question, answer=ans)
    out = assistant_html(turn)
    assert "rag-abstain" in out and "No answer in the articles." in out
    assert "rag-ref" not in out and "rag-badge" not in out
    panel = sources_html(turn, {})
    assert "No sources" in panel and "rag-cite" not in panel and "rag-view" not in panel


def test_conflicts_box_lists_each_version_with_its_sources():
    conflict = Conflict("the number of people killed", (Version("6", (1,), ("a.txt",), "dated 2023-02-17"), Version("5", (2,), ("b.txt",))))
    ans, _ = cited_answer(conflicts=(conflict,))
    out = assistant_html(Turn(2, ans.question, answer=ans))
    box = re.search(r'<div class="rag-conflict".*?</ul></div>', out).group(0)
    assert "Reports differ on the number of people killed" in box
    items = re.findall(r"<li>(.*?)</li>", box)
    assert len(items) == 2
    assert "<strong>6</strong>" in items[0] and "dated 2023-02-17" in items[0] and "a.txt" in items[0] and 'data-cite="2-1"' in items[0]
    assert "<strong>5</strong>" in items[1] and "b.txt" in items[1] and 'data-cite="2-2"' in items[1]


def test_errors_pending_and_drafts_render_without_tracebacks():
    assert "rag-error" in assistant_html(Turn(0, "q", error="LLM server http://x/v1 is not reachable"))
    assert "not reachable" in assistant_html(Turn(0, "q", error="LLM server http://x/v1 is not reachable"))
    assert "Waiting for the model" in assistant_html(Turn(0, "q"))
    assert "Searching the articles" in assistant_html(Turn(0, "q", started=True))
    draft = assistant_html(Turn(0, "q", started=True, draft="Six <people> died"))
    assert "rag-draft" in draft and "Six &lt;people&gt; died" in draft


def test_chat_messages_link_only_the_latest_turn_and_escape_questions():
    ans, _ = cited_answer()
    s = Session([Turn(0, "<i>first</i>", answer=ans), Turn(1, "second", answer=ans)])
    msgs = chat_messages(s)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert msgs[0]["content"] == "&lt;i&gt;first&lt;/i&gt;"
    assert "rag-ref" not in msgs[1]["content"] and "[1]" in msgs[1]["content"]
    assert 'data-cite="1-1"' in msgs[3]["content"]
    assert all("\n\n" not in m["content"] for m in msgs)  # one HTML block each, untouched by Markdown


def test_sources_panel_lists_only_cited_sources_with_exact_highlights():
    ans, arts = cited_answer()
    arts["unused.txt"] = article("Nothing cited here.", "unused.txt", "Unused")
    panel = sources_html(Turn(3, ans.question, answer=ans), arts)
    assert "unused.txt" not in panel and "Unused" not in panel
    assert "a.txt · 2023-02-17" in panel and "b.txt · date unknown" in panel
    assert panel.count('class="rag-cite"') == 2
    for c in ans.citations:
        view = re.search(rf'<section class="rag-view" data-view="3-{c.n}" hidden>(.*?)</section>', panel, re.DOTALL).group(1)
        active = re.search(r'<mark class="rag-hl cite-active"[^>]*>(.*?)</mark>', view, re.DOTALL).group(1)
        assert html.unescape(active) == c.quote == arts[c.source].text[c.start : c.end]
        body = re.search(r'<div class="rag-article-text"[^>]*>(.*?)</div>', view, re.DOTALL).group(1)
        assert visible_text(body) == arts[c.source].text  # the full article is shown


def test_sources_panel_survives_a_missing_article():
    ans, arts = cited_answer()
    del arts["b.txt"]
    panel = sources_html(Turn(0, ans.question, answer=ans), arts)
    assert "no longer in the index" in panel and "cite-active" in panel


# --- sessions and turns ----------------------------------------------------------------------


def fake_answer(question, history, on_token, should_stop, pieces=("Six ", "died."), record=None):
    if record is not None:
        record.append(list(history))
    for p in pieces:
        on_token(p)
    ans, _ = cited_answer(question=question)
    return ans


def test_history_holds_earlier_answered_questions_per_session():
    calls: list[list[str]] = []
    one, two = Session(), Session()
    for q in ["Who attacked the office?", "And how many were injured?"]:
        list(run_turn(one, one.add(q), lambda *a: fake_answer(*a, record=calls), refresh_s=0))
    list(run_turn(two, two.add("Where is it?"), lambda *a: fake_answer(*a, record=calls), refresh_s=0))
    assert calls == [[], ["Who attacked the office?"], []]
    assert one.history() == ["Who attacked the office?", "And how many were injured?"]
    assert two.history() == ["Where is it?"]


def test_questions_asked_while_busy_wait_in_order_and_see_earlier_answers():
    calls: list[list[str]] = []
    s = Session()
    first, second = s.add("Who attacked the office?"), s.add("And how many were injured?")
    assert s.waiting() is first and "Waiting for the model" in chat_messages(s)[3]["content"]
    list(run_turn(s, s.waiting(), lambda *a: fake_answer(*a, record=calls), refresh_s=0))
    assert s.waiting() is second
    list(run_turn(s, s.waiting(), lambda *a: fake_answer(*a, record=calls), refresh_s=0))
    assert s.waiting() is None and calls == [[], ["Who attacked the office?"]]
    assert first.id != second.id


def test_run_turn_streams_the_draft_then_the_final_answer():
    seen = []
    s = Session()
    for turn in run_turn(s, s.add("How many died?"), lambda *a: fake_answer(*a, pieces=("Six ", "people ", "died.")), refresh_s=0):
        seen.append((turn.draft, turn.answer is not None))
    assert seen[0] == ("", False)
    assert any(d and not done for d, done in seen[1:-1])
    assert seen[-1] == ("Six people died.", True)


def test_stop_ends_generation_and_marks_the_turn():
    session = Session()

    def endless(question, history, on_token, should_stop):
        n = 0
        while not should_stop():
            on_token(f"w{n} ")
            n += 1
            assert n < 100_000, "should_stop was never honoured"
        return fake_answer(question, history, on_token, should_stop, pieces=())

    for turn in run_turn(session, session.add("Tell me everything"), endless, refresh_s=0):
        if turn.draft:
            session.stop_requested = True  # what the Stop button does
    assert turn.answer is not None and turn.stopped
    assert "Stopped" in assistant_html(turn)


def test_errors_become_messages_not_tracebacks():
    def down(*a):
        raise RagError("LLM server http://127.0.0.1:9/v1 is not reachable; is it running?")

    def bug(*a):
        raise KeyError("boom")

    s = Session()
    turn = list(run_turn(s, s.add("q1"), down, refresh_s=0))[-1]
    assert turn.error.startswith("LLM server") and turn.answer is None
    turn = list(run_turn(s, s.add("q2"), bug, refresh_s=0))[-1]
    assert "KeyError" in turn.error and "Traceback" not in turn.error
    assert s.history() == []  # failed turns are not context for follow-ups


def test_abandoned_turn_tells_the_worker_to_stop():
    session = Session()
    stopped = []

    def slow(question, history, on_token, should_stop):
        import time

        for _ in range(2000):
            on_token("x")
            if should_stop():
                stopped.append(True)
                break
            time.sleep(0.001)
        return fake_answer(question, history, on_token, should_stop, pieces=())

    gen = run_turn(session, session.add("q"), slow, refresh_s=0)
    next(gen)
    next(gen)
    gen.close()  # the browser went away
    assert session.stop_requested


# --- feedback --------------------------------------------------------------------------------


def test_feedback_appends_one_json_line_per_rating(tmp_path):
    ans, _ = cited_answer()
    turn = Turn(0, "How many died?", answer=ans)
    path = tmp_path / "sub" / "feedback.jsonl"
    append_jsonl(path, feedback_record("helpful", turn, {"top_k": 8}))
    append_jsonl(path, feedback_record("evidence_wrong", turn))
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["rating"] for r in rows] == ["helpful", "evidence_wrong"]
    assert rows[0]["question"] == "How many died?" and rows[0]["answer"] == ans.answer
    assert rows[0]["citations"][0]["quote"] == "Police said <six> died." and rows[0]["citations"][0]["start"] == 0
    assert rows[0]["settings"] == {"top_k": 8} and rows[0]["claims_total"] == 3
    with pytest.raises(ValueError):
        feedback_record("great", turn)


# --- adding articles -------------------------------------------------------------------------


def test_safe_names_and_pasted_articles():
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("Über große Nachricht.MD") == "Uber_groe_Nachricht.md"
    with pytest.raises(RagError):
        safe_name("photo.png")
    name, data = pasted_article("", "", "Police said six died. Two were hurt.\nMore text.")
    assert name == "Police_said_six_died.txt" and data == b"Police said six died. Two were hurt.\nMore text.\n"
    with pytest.raises(RagError):
        pasted_article("t", "17/02/2023", "text")
    with pytest.raises(RagError):
        pasted_article("t", "", "   ")


def test_save_article_never_overwrites(tmp_path):
    first = save_article(tmp_path, "news.txt", b"one")
    same = save_article(tmp_path, "other.txt", b"one")
    other = save_article(tmp_path, "news.txt", b"two")
    assert first.new and first.path.name == "news.txt"
    assert not same.new and same.path.name == "news.txt" and "already in the corpus" in same.note
    assert other.new and other.path.name == "news-2.txt" and "news-2.txt" in other.note
    assert (tmp_path / "news.txt").read_bytes() == b"one" and (tmp_path / "news-2.txt").read_bytes() == b"two"
    for bad in (b"\x00\x01binary", b"\xff\xfe not utf8", b"   "):
        with pytest.raises(RagError):
            save_article(tmp_path, "bad.txt", bad)
    assert not (tmp_path / "bad.txt").exists()


def test_library_adds_an_article_and_reindexes_incrementally(corpus_copy, tmp_path):
    engine = make_engine(corpus_copy, tmp_path / "data", HashEmbedder(), ScriptedGenerator())
    before = set(engine.store.articles)
    lib = Library(engine.config, engine)
    name, data = pasted_article(
        "Harbour fire", "2023-03-01", "A fire broke out at the harbour warehouse on Monday. Firefighters said nobody was hurt."
    )
    msg = lib.add(name, data)
    assert "Harbour_fire.txt" in msg and "embedded 1 file" in msg
    assert set(engine.store.articles) == before | {"Harbour_fire.txt"}
    added = engine.store.articles["Harbour_fire.txt"]
    assert added.date == "2023-03-01" and (corpus_copy / "Harbour_fire.txt").read_bytes() == data
    assert any(s.article_id == "Harbour_fire.txt" for s in engine.store.sentences)
    assert "Nothing added" in lib.add("copy.txt", data)


# --- the app object --------------------------------------------------------------------------


def test_main_builds_a_missing_index_and_wires_the_engine(tmp_path, corpus_copy, monkeypatch):
    import rag.wiring
    import ui.app
    from rag.config import load_config

    monkeypatch.setattr(rag.wiring, "build_embedder", lambda cfg: HashEmbedder())
    gen = ScriptedGenerator(["The Karachi Police Office is located on Shahrae Faisal."])
    monkeypatch.setattr(rag.wiring, "build_generator", lambda cfg: gen)
    got = {}
    monkeypatch.setattr(ui.app, "build_ui", lambda *args, limits: got.update(args=args, limits=limits))
    monkeypatch.setattr(ui.app, "serve", lambda demo, host, port, limits: got.update(host=host, port=port, serve_limits=limits))
    cfg = load_config(overrides={"corpus": corpus_copy, "data_dir": tmp_path / "data", "feedback_file": tmp_path / "fb.jsonl"}, env={})
    assert ui.app.main(cfg) == 0
    assert cfg.index_dir.exists() and got["host"] == "127.0.0.1" and got["port"] == 7860
    assert got["limits"] == got["serve_limits"] and got["limits"].question_chars == cfg.max_question_chars
    answer_fn, list_articles_fn, _add, feedback_fn, examples = got["args"]
    assert examples == ui.app.BUNDLED_EXAMPLES  # the copy holds the bundled articles
    tokens: list[str] = []
    ans = answer_fn("Where is the Karachi Police Office located?", [], tokens.append, lambda: False)
    assert ans.citations and "".join(tokens).strip() == "The Karachi Police Office is located on Shahrae Faisal."
    assert {a.id for a in list_articles_fn()} == {p.name for p in corpus_copy.iterdir()}
    feedback_fn(feedback_record("wrong", Turn(0, ans.question, answer=ans)))
    row = json.loads((tmp_path / "fb.jsonl").read_text(encoding="utf-8"))
    assert row["rating"] == "wrong" and row["settings"]["data_dir"] == str(tmp_path / "data")


def test_build_ui_makes_blocks_and_serve_reports_a_busy_port():
    import ui.app

    demo = ui.app.build_ui(lambda *a: None, lambda: [], lambda n, d: "", lambda r: None, ui.app.BUNDLED_EXAMPLES)
    assert demo.title == "Ask the articles"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(RagError, match="cannot serve"):
            ui.app.serve(demo, "127.0.0.1", s.getsockname()[1], block=False)


def test_page_has_no_load_events():
    """A load event can replace a session's state that an early click already used (Gradio
    6.31 stores per-session state without a lock), so the page must not register any."""
    import ui.app

    demo = ui.app.build_ui(lambda *a: None, lambda: [], lambda n, d: "", lambda r: None, ui.app.BUNDLED_EXAMPLES)
    demo.default_config.attach_load_events()
    assert [f.name for f in demo.fns.values() if any(t[1] == "load" for t in f.targets)] == []


def test_examples_only_for_the_bundled_corpus(tmp_path):
    from ui.app import BUNDLED_EXAMPLES, examples_for

    assert examples_for(CORPUS) == BUNDLED_EXAMPLES
    (tmp_path / "other.txt").write_text("Some other story.")
    assert examples_for(tmp_path) == []
    assert examples_for(tmp_path / "missing") == []
