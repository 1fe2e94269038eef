"""Feedback on an answer, appended as one JSON line to a local file.

A record holds what is needed to reproduce and judge the answer later: the question (and
the standalone question used for retrieval), the answer text, its citations with offsets,
the verification counts, the conflicts, the model and the settings it ran with.

Feedback comes from anyone who can reach the chat, also through its API, so it is bounded:
a record has a size cap (here), and the chat counts records with one rate limit and lets a
session rate an answer once per rating (`ui.app`, `ui.limits`); past a limit the user gets one
clear line and nothing is written. A URL's user:password in the settings is stored as `***`.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.config import redact_url
from rag.errors import RagError
from ui.chat import Turn

RATINGS = {"helpful": "Helpful", "wrong": "Wrong", "evidence_wrong": "Evidence is wrong"}
MAX_RECORD_BYTES = 64 * 1024  # a record is a few KB: question, answer, citations, settings
_write_lock = threading.Lock()


def _scrubbed(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: redact_url(v) if isinstance(v, str) else v for k, v in settings.items()}


def feedback_record(rating: str, turn: Turn, settings: dict[str, Any] | None = None, max_bytes: int = MAX_RECORD_BYTES) -> dict[str, Any]:
    """The JSON record for `rating` (a key of RATINGS) on an answered turn. Raises RagError
    when the record is over `max_bytes` as UTF-8 JSON."""
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
    if size > max_bytes:
        raise RagError(f"this feedback record is {size:,} bytes; the limit is {max_bytes:,} bytes")
    return record


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line (creating the folder); one writer at a time, one write per line."""
    path = Path(path)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    if len(line.encode("utf-8")) > MAX_RECORD_BYTES + 16 * 1024:  # the record plus the settings the app adds
        raise RagError(f"this feedback record is {len(line.encode('utf-8')):,} bytes; the limit is {MAX_RECORD_BYTES:,} bytes")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _write_lock, open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
