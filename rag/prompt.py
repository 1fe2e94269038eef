"""Prompts live as files in `prompts/`; this renders them strictly and shows them at debug level.

A missing template variable is an error (Jinja `StrictUndefined`), never a silent blank.
Template variables are untrusted text (questions, article sentences, claims): control-token
markers in them are neutralised (`rag.markers.defuse`) so `<|im_end|>` inside an article can
never end a turn; the templates' own text is trusted and left as written.
The system text and few-shot turns are identical for every question, so llama.cpp can
reuse their KV cache; only the final user turn (excerpts + question) changes.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path

from rag.markers import defuse

log = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@cache
def _env(folder: str):
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False
    )


def _defused(value: object) -> object:
    if isinstance(value, str):
        return defuse(value)
    if isinstance(value, list | tuple):
        return [_defused(v) for v in value]
    return value


def render(name: str, folder: Path = PROMPTS_DIR, **variables: object) -> str:
    """The template filled with `variables`, each string in them defused of control markers."""
    safe = {k: _defused(v) for k, v in variables.items()}
    return _env(str(folder)).get_template(name).render(**safe).strip()


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
