"""One browser session's conversation, and running one turn of it.

No Gradio here: `run_turn` drives the answer function in a worker thread and yields the
turn each time something visible changed (more draft text, the final answer, an error),
so the streaming and stopping logic is tested without a server.

Each browser session gets its own `Session` (through `gr.State`), so two people never see
each other's history, and Stop only stops the session it was pressed in.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from rag.errors import RagError
from rag.types import Answer
from ui.limits import Limits

log = logging.getLogger(__name__)

# answer_fn(question, history, on_token, should_stop) -> Answer
AnswerFn = Callable[[str, Sequence[str], Callable[[str], None], Callable[[], bool]], Answer]


@dataclass
class Turn:
    """One question and what became of it."""

    id: int
    question: str
    started: bool = False  # False while it waits in the queue for the model
    draft: str = ""
    answer: Answer | None = None
    error: str = ""
    stopped: bool = False

    @property
    def done(self) -> bool:
        return self.answer is not None or bool(self.error)


@dataclass
class Session:
    """The per-browser-session state kept in `gr.State`."""

    turns: list[Turn] = field(default_factory=list)
    stop_requested: bool = False
    next_id: int = 0
    rated: set[tuple[int, str]] = field(default_factory=set)  # (turn id, rating) already recorded

    def history(self, before: Turn | None = None) -> list[str]:
        """Earlier user questions that were answered (most recent last), for follow-ups.

        >>> s = Session()
        >>> s.add("Who attacked?").error = "LLM server down"
        >>> s.history()
        []
        """
        out = []
        for t in self.turns:
            if t is before:
                break
            if t.answer is not None:
                out.append(t.question)
        return out

    def last_answered(self) -> Turn | None:
        for t in reversed(self.turns):
            if t.answer is not None:
                return t
        return None

    def add(self, question: str) -> Turn:
        """A new turn for `question`, waiting to be answered."""
        turn = Turn(id=self.next_id, question=question)
        self.next_id += 1
        self.turns.append(turn)
        self.stop_requested = False
        return turn

    def waiting(self) -> Turn | None:
        """The oldest turn not yet started."""
        return next((t for t in self.turns if not t.started), None)

    def refusal(self, question: str, limits: Limits) -> str:
        """Why `question` may not join this conversation now (one line), or "" when it may.

        >>> Session().refusal("x" * 5000, Limits(question_chars=2000))
        'the question is 5,000 characters long; the limit is 2,000'
        """
        n = len(" ".join(question.split()))  # as the answer path counts it
        if n > limits.question_chars:
            return f"the question is {n:,} characters long; the limit is {limits.question_chars:,}"
        if len(self.turns) >= limits.turns:
            return f"this conversation has reached {limits.turns} questions: start a new conversation to ask more"
        if sum(not t.started for t in self.turns) >= limits.waiting:
            return f"{limits.waiting} questions are already waiting for an answer: ask again when they are answered"
        return ""

    def clear(self) -> None:
        self.turns.clear()
        self.stop_requested = True  # an answer still being written for the old conversation stops


_DONE = object()


def run_turn(session: Session, turn: Turn, answer_fn: AnswerFn, refresh_s: float = 0.08) -> Iterator[Turn]:
    """Answer `turn` (added with `session.add`); yield it as its draft grows and once done.

    The answer function runs in a worker thread; tokens come back through a queue and are
    yielded at most every `refresh_s` seconds. A RagError becomes the turn's `error` (one
    line for the user); any other exception is logged and shown as a short message, never
    a traceback. If the caller stops iterating (the browser went away), the worker is told
    to stop at the next token.
    """
    history = session.history(before=turn)
    question = turn.question
    turn.started = True
    yield turn
    events: queue.Queue = queue.Queue()

    def work() -> None:
        try:
            result = answer_fn(question, history, events.put, lambda: session.stop_requested)
            events.put((_DONE, result, None))
        except RagError as e:
            events.put((_DONE, None, str(e)))
        except Exception as e:  # the UI must stay up and say what happened
            log.exception("answering %r failed", question)
            events.put((_DONE, None, f"unexpected {type(e).__name__}: {e}"))

    worker = threading.Thread(target=work, name=f"answer-{turn.id}", daemon=True)
    worker.start()
    last = 0.0
    try:
        while True:
            item = events.get()
            if isinstance(item, tuple) and item and item[0] is _DONE:
                _, result, error = item
                turn.answer, turn.error = result, error or ""
                turn.stopped = session.stop_requested
                yield turn
                return
            turn.draft += item
            now = time.monotonic()
            if now - last >= refresh_s:
                last = now
                yield turn
    finally:
        if not turn.done:
            session.stop_requested = True
