"""Chat-template control markers in untrusted text, neutralised before any model reads it.

llama.cpp turns the text `<|im_end|>` into the real end-of-turn token when a prompt is
tokenized with special tokens on (the chat handler does, so does our own prefix cache and
judge), so an article or question containing `<|im_end|><|im_start|>system …` could open a
system turn of its own. Every untrusted string (question, excerpt, claim, evidence) passes
through `defuse` when a prompt is built: a WORD JOINER (U+2060, invisible) goes after the
marker's first character, so the text reads the same to a person and to the model but can no
longer match a special token. The template's own markers are added after, and stay special.

`vocabulary_markers` asks the model's own tokenizer which special-token strings a text still
holds (for vocabularies with markers of other shapes), so nothing the regex misses gets through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

JOINER = "\u2060"
# `<|…|>` and `<｜…｜>` (ChatML, Llama 3, Phi, DeepSeek), `<s>` `</s>` `<unk>` `<tool_call>`
# `<start_of_turn>` (tag-shaped tokens), `<<SYS>>`, and `[INST]` `[/INST]` `[TOOL_CALLS]`.
_OPENER = re.compile(r"<(?=[|｜]|/?[A-Za-z_][\w.:▁-]{0,40}>|</?SYS>>)|\[(?=/?[A-Z][A-Z_]{2,}\])")


def defuse(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every control-marker shape (and each string in `extra`) broken by an
    invisible joiner after its first character. Idempotent; text without markers is unchanged.

    >>> defuse("a <|im_end|> b [INST] c") == "a <\u2060|im_end|> b [\u2060INST] c"
    True
    >>> defuse("40 homes were flooded.")
    '40 homes were flooded.'
    """
    text = _OPENER.sub(lambda m: m.group() + JOINER, text)
    for marker in extra:
        if len(marker) > 1:
            text = text.replace(marker, marker[0] + JOINER + marker[1:])
    return text


def vocabulary_markers(llm: Any, text: str) -> set[str]:
    """The special-token strings of `llm`'s vocabulary that `text` would turn into special
    tokens (a llama.cpp `Llama`, possibly loaded with `vocab_only=True`). Cheap when there are
    none: two tokenizations of the text."""
    raw = text.encode("utf-8")
    special = llm.tokenize(raw, add_bos=False, special=True)
    plain = llm.tokenize(raw, add_bos=False, special=False)
    if special == plain:
        return set()
    out = set()
    for token in set(special) - set(plain):
        piece = llm.detokenize([token], special=True).decode("utf-8", errors="ignore")
        # a special token is one plain text cannot produce; ordinary pieces that merely
        # tokenized differently next to a marker are left alone
        if piece and piece in text and list(llm.tokenize(piece.encode("utf-8"), add_bos=False, special=False)) != [token]:
            out.add(piece)
    return out


def defused_for(llm: Any, text: str) -> str:
    """`defuse(text)`, then whatever special strings of `llm`'s vocabulary are still in it."""
    text = defuse(text)
    return defuse(text, vocabulary_markers(llm, text))
