"""The chat UI: a thin Gradio adapter over the answer function.

`build_ui(answer_fn, list_articles_fn, add_article_fn, feedback_fn, examples)` lays out the
page and connects events; everything it shows is rendered by `ui.format` from `Answer`s,
and the conversation logic lives in `ui.chat`. `main(cfg)` wires the real engine and
serves the page (Gradio's queue, 127.0.0.1:7860 by default, never a public share link).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no outbound calls

import gradio as gr  # noqa: E402

from rag.errors import RagError  # noqa: E402
from rag.types import Article  # noqa: E402
from ui.assets import CSS, HEAD  # noqa: E402
from ui.chat import AnswerFn, Session, Turn, run_turn  # noqa: E402
from ui.corpus import SUFFIXES, pasted_article  # noqa: E402
from ui.feedback import RATINGS, feedback_record  # noqa: E402
from ui.format import SOURCES_EMPTY, article_rows, assistant_html, chat_messages, sources_html  # noqa: E402
from ui.limits import BodyLimit, Limits, RateLimit  # noqa: E402

log = logging.getLogger(__name__)

BUNDLED_EXAMPLES = [
    "What happened at the Karachi Police Office?",
    "How many attackers were killed?",
    "Where is the Karachi Police Office located?",
    "Who claimed responsibility for the attack?",
]
FEEDBACK_ICONS = {"helpful": "✓", "wrong": "✗", "evidence_wrong": "⚠"}
PLACEHOLDER = (
    "**Ask a question about the indexed articles.**\n\n"
    "Every sentence of an answer cites the exact sentence it comes from: select a [n] to read it, highlighted, in its article."
)


def build_ui(
    answer_fn: AnswerFn,
    list_articles_fn: Callable[[], Iterable[Article]],
    add_article_fn: Callable[[str, bytes], str],
    feedback_fn: Callable[[dict[str, Any]], None],
    examples: Sequence[str] = (),
    limits: Limits = Limits(),
) -> gr.Blocks:
    """The whole page. `answer_fn(question, history, on_token, should_stop) -> Answer`;
    `add_article_fn(file_name, content) -> message` (raises RagError); `feedback_fn(record)`
    stores one feedback record. Every input is checked against `limits` here, on the server:
    the browser's own limits (set from the same numbers) do not bind an API caller."""
    feedback_rate = RateLimit(limits.feedback_per_minute, 60.0)

    def articles() -> dict[str, Article]:
        return {a.id: a for a in list_articles_fn()}

    def accept(question: str, session: Session):
        """Put the question in the chat at once (even while another answer holds the model).

        A question over the limits is not kept: the chat shows why, the session is unchanged."""
        q = " ".join((question or "").split())
        if not q:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        refusal = session.refusal(q, limits)
        if refusal:
            notice = {"role": "assistant", "content": assistant_html(Turn(-1, "", error=refusal))}
            return chat_messages(session) + [notice], gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        turn = session.add(q)
        return (
            chat_messages(session),
            sources_html(turn, {}),
            "",
            gr.update(interactive=False),
            gr.update(visible=True),
            gr.update(visible=False),
            "",
        )

    def accept_example(session: Session, evt: gr.SelectData):
        value = evt.value.get("text", "") if isinstance(evt.value, dict) else str(evt.value or "")
        return accept(value, session)

    def answer_next(session: Session):
        """Answer the oldest waiting question, streaming the draft, then the verified answer."""
        turn = session.waiting()
        if turn is None:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        for t in run_turn(session, turn, answer_fn):
            if t.done:
                idle = session.waiting() is None
                yield (
                    chat_messages(session),
                    sources_html(t, articles()),
                    gr.skip(),
                    gr.update(interactive=True),
                    gr.update(visible=not idle),
                    gr.update(visible=t.answer is not None),
                    "",
                )
            else:
                yield chat_messages(session), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()

    def stop(session: Session) -> None:
        session.stop_requested = True

    def new_chat(session: Session):
        session.stop_requested = True
        session.clear()
        return [], SOURCES_EMPTY, gr.update(visible=False), ""

    def give_feedback(rating: str, session: Session) -> str:
        turn = session.last_answered()
        if turn is None:
            return "Ask a question first."
        if (turn.id, rating) in session.rated:
            return f"Already recorded “{RATINGS[rating]}” for this answer."
        try:
            record = feedback_record(rating, turn, max_bytes=limits.feedback_bytes)
        except RagError as e:
            return f"⚠ Could not save feedback: {e}"
        if not feedback_rate.allow():
            return "⚠ Too much feedback at once: please try again in a minute."
        try:
            feedback_fn(record)
        except (OSError, RagError) as e:
            return f"⚠ Could not save feedback: {e}"
        session.rated.add((turn.id, rating))
        return f"Thanks: recorded “{RATINGS[rating]}” for “{turn.question}”."

    def refresh_articles():
        arts = list(list_articles_fn())
        return article_rows(arts), f"{len(arts)} articles indexed."

    def add(name: str, data: bytes):
        try:
            msg = add_article_fn(name, data)
        except RagError as e:
            msg = f"⚠ {e}"
        except OSError as e:
            msg = f"⚠ Could not save the article: {e}"
        except Exception as e:  # the page must stay up and say what happened
            log.exception("adding %r failed", name)
            msg = f"⚠ {name} was not added: unexpected {type(e).__name__}"
        rows, summary = refresh_articles()
        return msg, rows, summary

    def add_file(path: str | list[str] | None):
        """Add one uploaded file; Gradio's temporary copy is deleted afterwards."""
        paths = [p for p in (path if isinstance(path, list | tuple) else [path]) if p]
        try:
            if not paths:
                return "⚠ Choose a file first.", gr.skip(), gr.skip(), gr.skip()
            if len(paths) > limits.files_per_upload:
                return f"⚠ {len(paths)} files at once: add {limits.files_per_upload} at a time.", gr.skip(), gr.skip(), None
            first = Path(paths[0])
            try:
                size = first.stat().st_size
                if size > limits.upload_bytes:
                    return f"⚠ {first.name} is {size:,} bytes; the limit is {limits.upload_bytes:,}.", gr.skip(), gr.skip(), None
                data = first.read_bytes()
            except OSError:
                return "⚠ The uploaded file is gone: please upload it again.", gr.skip(), gr.skip(), None
            msg, rows, summary = add(first.name, data)
            return msg, rows, summary, None
        finally:
            for leftover in paths:
                forget_upload(Path(leftover))

    def forget_upload(p: Path) -> None:
        """Delete an uploaded file from Gradio's cache (never a file outside it)."""
        cache = Path(upload.GRADIO_CACHE).resolve()
        try:
            p = p.resolve()
            if cache in p.parents:
                p.unlink(missing_ok=True)
                if p.parent != cache:
                    p.parent.rmdir()  # Gradio keeps each upload in a folder of its own
        except OSError:
            pass  # not empty, or already gone: the cache's own clean-up takes the rest

    def add_pasted(title: str, date: str, text: str):
        fields = {"title": (title, limits.title_chars), "date": (date, limits.date_chars), "article text": (text, limits.paste_chars)}
        for label, (value, most) in fields.items():
            if len(value or "") > most:
                return f"⚠ The {label} is {len(value):,} characters long; the limit is {most:,}.", *(gr.skip(),) * 5
        try:
            name, data = pasted_article(title, date, text)
        except RagError as e:
            return f"⚠ {e}", gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        msg, rows, summary = add(name, data)
        cleared = "" if not msg.startswith("⚠") else gr.skip()
        return msg, rows, summary, cleared, cleared, cleared

    # Uploads are deleted once added; the cache clean-up (hourly, files over an hour old) takes
    # the ones never added.
    with gr.Blocks(title="Ask the articles", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        # A plain value, deep-copied for each browser session. Not a callable: Gradio turns a
        # callable default into a load event that can replace the state an early click already used.
        session = gr.State(Session())
        gr.Markdown(
            "# Ask the articles\nAnswers come only from the indexed news articles, and every sentence cites its source.",
            elem_classes="rag-header",
        )
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=320):
                        chatbot = gr.Chatbot(
                            label="Conversation",
                            elem_id="rag-chat",
                            height="62vh",
                            min_height=320,
                            placeholder=PLACEHOLDER,
                            examples=[{"text": q} for q in examples] or None,
                            feedback_options=None,
                            latex_delimiters=[],
                            buttons=["copy"],
                            autoscroll=True,
                        )
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(
                                show_label=False,
                                placeholder="Ask about the articles… (Enter to send)",
                                lines=1,
                                max_lines=4,
                                scale=6,
                                min_width=180,
                                autofocus=True,
                                elem_id="rag-question",
                                max_length=limits.question_chars,
                            )
                            ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="rag-ask")
                            stop_btn = gr.Button("Stop", variant="stop", scale=1, min_width=70, visible=False, elem_id="rag-stop")
                        with gr.Row(visible=False, elem_id="rag-feedback") as feedback_row:
                            fb_buttons = {
                                k: gr.Button(f"{FEEDBACK_ICONS[k]} {label}", size="sm", elem_id=f"rag-fb-{k}", min_width=100)
                                for k, label in RATINGS.items()
                            }
                        feedback_status = gr.Markdown("", elem_id="rag-feedback-status")
                        new_btn = gr.Button("New conversation", size="sm", variant="secondary", elem_id="rag-new")
                    with gr.Column(scale=2, min_width=300):
                        sources = gr.HTML(SOURCES_EMPTY, elem_id="rag-sources", js_on_load=None, padding=True)
            with gr.Tab("Articles", id="articles") as articles_tab:
                first_rows, first_summary = refresh_articles()  # refreshed whenever the tab is opened
                summary = gr.Markdown(first_summary)
                table = gr.Dataframe(
                    value=first_rows,
                    headers=["File", "Title", "Date", "Words"],
                    datatype=["str", "str", "str", "number"],
                    interactive=False,
                    wrap=True,
                    elem_id="rag-articles",
                )
                gr.Markdown(
                    "### Add an article\nThe file is saved into the corpus folder (never replacing a file) and the index is updated."
                )
                add_status = gr.Markdown("", elem_id="rag-add-status")
                with gr.Row(equal_height=False):
                    with gr.Column(min_width=280):
                        upload = gr.File(
                            label="Upload an article (.txt, .md, .html, .pdf, .docx, .epub, .rtf)",
                            file_types=list(SUFFIXES),
                            type="filepath",
                            elem_id="rag-upload",
                        )
                        upload_btn = gr.Button("Add uploaded file", elem_id="rag-add-file")
                    with gr.Column(min_width=280):
                        paste_title = gr.Textbox(label="Title", elem_id="rag-paste-title", max_length=limits.title_chars)
                        paste_date = gr.Textbox(label="Date (optional, YYYY-MM-DD)", elem_id="rag-paste-date", max_length=limits.date_chars)
                        paste_text = gr.Textbox(label="Article text", lines=6, elem_id="rag-paste-text", max_length=limits.paste_chars)
                        paste_btn = gr.Button("Add pasted article", elem_id="rag-add-paste")

        outputs = [chatbot, sources, question, ask_btn, stop_btn, feedback_row, feedback_status]
        run: dict[str, Any] = dict(
            fn=answer_next, inputs=[session], outputs=outputs, concurrency_id="answer", concurrency_limit=1, show_progress="hidden"
        )
        # Accepting a question is queued too (an example click with queue=False got a fresh
        # session state in Gradio 6.31) but never waits: no concurrency limit.
        now: dict[str, Any] = dict(outputs=outputs, concurrency_limit=None, show_progress="hidden")
        question.submit(accept, [question, session], **now).then(**run)
        ask_btn.click(accept, [question, session], **now).then(**run)
        chatbot.example_select(accept_example, [session], **now).then(**run)
        stop_btn.click(stop, [session], None, queue=False)
        new_btn.click(new_chat, [session], [chatbot, sources, feedback_row, feedback_status], queue=False)
        chatbot.clear(new_chat, [session], [chatbot, sources, feedback_row, feedback_status], queue=False)
        for rating, btn in fb_buttons.items():
            btn.click(partial(give_feedback, rating), [session], [feedback_status], queue=False, api_name=f"feedback_{rating}")
        # No load event either (see the State above): the table is refreshed when its tab opens.
        articles_tab.select(refresh_articles, None, [table, summary])
        upload_btn.click(add_file, [upload], [add_status, table, summary, upload], concurrency_id="index", concurrency_limit=1)
        paste_btn.click(
            add_pasted,
            [paste_title, paste_date, paste_text],
            [add_status, table, summary, paste_title, paste_date, paste_text],
            concurrency_id="index",
            concurrency_limit=1,
        )
    return demo


def serve(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, block: bool = True, limits: Limits = Limits()) -> None:
    """Launch with the queue (the model serves one answer at a time); never a share link.
    Request bodies and uploads are capped by the page's limits before Gradio reads them."""
    from starlette.middleware import Middleware

    body_limit = Middleware(BodyLimit, max_bytes=limits.request_bytes, upload_bytes=limits.upload_request_bytes)
    demo.queue(default_concurrency_limit=1, max_size=64)
    try:
        demo.launch(
            server_name=host,
            server_port=port,
            share=False,
            inbrowser=False,
            prevent_thread_lock=not block,
            show_error=False,
            head=HEAD,
            css=CSS,
            theme=gr.themes.Soft(),
            ssr_mode=False,
            mcp_server=False,
            pwa=False,
            footer_links=["gradio", "settings"],
            max_file_size=limits.upload_bytes,
            app_kwargs={"middleware": [body_limit]},
            quiet=not block,
        )
    except OSError as e:
        if "empty port" in str(e):
            raise RagError(f"cannot serve on {host}:{port}: the port is in use; choose another with --port or RAG_PORT") from None
        raise RagError(f"cannot serve on {host}:{port}: {e}") from None


def examples_for(corpus: Path) -> list[str]:
    """Example questions when the corpus holds the bundled articles; none for a corpus we
    know nothing about (a question about absent articles would only teach abstention)."""
    from rag.config import ROOT

    try:
        bundled = {p.name for p in (ROOT / "corpus").iterdir()}
        present = {p.name for p in Path(corpus).iterdir()}
    except OSError:
        return []
    return list(BUNDLED_EXAMPLES) if bundled and bundled <= present else []


def make_app(cfg, engine) -> gr.Blocks:
    """The page wired to a loaded engine: answers, the corpus folder, the feedback file."""
    from rag.answer import answer
    from ui.corpus import Library
    from ui.feedback import append_jsonl

    library = Library(cfg, engine)

    def answer_fn(question, history, on_token, should_stop):
        return answer(question, engine, history=history, on_token=on_token, should_stop=should_stop)

    def feedback_fn(record: dict[str, Any]) -> None:
        append_jsonl(cfg.feedback_file, {**record, "settings": cfg.public()})

    return build_ui(answer_fn, library.articles, library.add, feedback_fn, examples_for(cfg.corpus), limits=Limits.from_config(cfg))


def main(cfg) -> int:
    """`rag chat`: load (or first build) the index and the model, then serve the chat."""
    from rag.wiring import build_engine, build_index

    if not cfg.index_dir.exists():
        log.warning("no index at %s: building it from %s", cfg.index_dir, cfg.corpus)
        build_index(cfg)
    serve(make_app(cfg, build_engine(cfg)), cfg.host, cfg.port, limits=Limits.from_config(cfg))
    return 0
