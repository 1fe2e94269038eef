"""Feedback on an answer, appended as one JSON line to a local file.

A record holds what is needed to reproduce and judge the answer later: the question (and
the standalone question used for retrieval), the answer text, its citations with offsets,
the verification counts, the conflicts, the model and the settings it ran with.

Feedback comes from anyone who can reach the chat, also through its API, so it is bounded:
a few ratings a minute per answer, a process-wide rate, and a size cap per record; past a
limit the user gets one clear line and nothing is written. A URL's user:password in the
settings is stored as `***`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.config import redact_url
from rag.errors import RagError
from ui.chat import Turn

RATINGS = {"helpful": "Helpful", "wrong": "Wrong", "evidence_wrong": "Evidence is wrong"}
MAX_RECORD_BYTES = 64 * 1024  # a record is a few KB: question, answer, citations, settings
_write_lock = threading.Lock()


class FeedbackLimit:
    """At most `per_answer` ratings of one answer and `per_process` ratings in all within any
    `window` seconds. Thread-safe; `clock` is injectable for tests."""

    def __init__(self, per_answer: int = 5, per_process: int = 30, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.per_answer, self.per_process, self.window, self.clock = per_answer, per_process, window, clock
        self._all: deque[float] = deque()
        self._by_key: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, key: int) -> None:
        """Count one rating for `key` (an answered turn), or raise RagError when over a limit."""
        with self._lock:
            now = self.clock()
            for q in (self._all, *self._by_key.values()):
                while q and q[0] <= now - self.window:
                    q.popleft()
            self._by_key = {k: q for k, q in self._by_key.items() if q}
            mine = self._by_key.setdefault(key, deque())
            if len(mine) >= self.per_answer:
                wait = mine[0] + self.window - now
                raise RagError(f"this answer was already rated {len(mine)} times in the last minute; try again in {wait:.0f} s")
            if len(self._all) >= self.per_process:
                wait = self._all[0] + self.window - now
                raise RagError(f"too much feedback right now (at most {self.per_process} a minute); try again in {wait:.0f} s")
            mine.append(now)
            self._all.append(now)


LIMIT = FeedbackLimit()


def _scrubbed(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: redact_url(v) if isinstance(v, str) else v for k, v in settings.items()}


def feedback_record(rating: str, turn: Turn, settings: dict[str, Any] | None = None, limit: FeedbackLimit | None = LIMIT) -> dict[str, Any]:
    """The JSON record for `rating` (a key of RATINGS) on an answered turn. Raises RagError,
    with nothing counted, when the record is too large, and when `limit` refuses it."""
    if rating not in RATINGS:
        raise ValueError(f"unknown rating {rating!r}")
    a = turn.answer
    if a is None:
        raise ValueError("the turn has no answer to rate")
    record = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "rating": rating,
        "question": turn.question,
        "standalone_question": a.standalone_question or a.question,
        "answer": a.answer,
        "abstained": a.abstained,
        "stopped": turn.stopped,
        "citations": [c.to_dict() for c in a.citations],
        "claims_verified": a.claims_verified,
        "claims_total": a.claims_total,
        "conflicts": [c.to_dict() for c in a.conflicts],
        "model": a.model,
        "settings": _scrubbed(settings or {}),
    }
    size = len(json.dumps(record, ensure_ascii=False).encode("utf-8"))
    if size > MAX_RECORD_BYTES:
        raise RagError(f"this feedback record is {size // 1024:,} KB; the limit is {MAX_RECORD_BYTES // 1024} KB")
    if limit is not None:
        limit.admit(id(turn))
    return record


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line (creating the folder); one writer at a time, one write per line."""
    path = Path(path)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    if len(line.encode("utf-8")) > MAX_RECORD_BYTES + 16 * 1024:  # the record plus the settings the app adds
        raise RagError(f"this feedback record is {len(line) // 1024:,} KB; the limit is {MAX_RECORD_BYTES // 1024} KB")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _write_lock, open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
