"""Feedback on an answer, appended as one JSON line to a local file.

A record holds what is needed to reproduce and judge the answer later: the question (and
the standalone question used for retrieval), the answer text, its citations with offsets,
the verification counts, the conflicts, the model and the settings it ran with.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ui.chat import Turn

RATINGS = {"helpful": "Helpful", "wrong": "Wrong", "evidence_wrong": "Evidence is wrong"}
_write_lock = threading.Lock()


def feedback_record(rating: str, turn: Turn, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON record for `rating` (a key of RATINGS) on an answered turn."""
    if rating not in RATINGS:
        raise ValueError(f"unknown rating {rating!r}")
    a = turn.answer
    if a is None:
        raise ValueError("the turn has no answer to rate")
    return {
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
        "settings": settings or {},
    }


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line (creating the folder); one writer at a time, one write per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _write_lock, open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
