"""Prompts live as files in `prompts/`; this renders them strictly and shows them at debug level.

A missing template variable is an error (Jinja `StrictUndefined`), never a silent blank.
The system text and few-shot turns are identical for every question, so llama.cpp can
reuse their KV cache; only the final user turn (excerpts + question) changes.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@cache
def _env(folder: str):
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False
    )


def render(name: str, folder: Path = PROMPTS_DIR, **variables: object) -> str:
    return _env(str(folder)).get_template(name).render(**variables).strip()


def answer_messages(question: str, excerpts: list[str], folder: Path = PROMPTS_DIR) -> list[dict[str, str]]:
    """System rules + few-shot turns + this question's excerpts, as chat messages."""
    system = (folder / "system.txt").read_text(encoding="utf-8").strip()
    examples = json.loads((folder / "examples.json").read_text(encoding="utf-8"))
    messages = [
        {"role": "system", "content": system},
        *examples,
        {"role": "user", "content": render("question.j2", folder, question=question, excerpts=excerpts)},
    ]
    if log.isEnabledFor(logging.DEBUG):
        log.debug("prompt sent to the model:\n%s", "\n".join(f"<{m['role']}>\n{m['content']}" for m in messages))
    return messages
