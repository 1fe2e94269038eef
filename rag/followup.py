"""Turning a follow-up into a standalone question for retrieval.

"And how many were injured?" after "How many attackers stormed the Karachi Police
Office?" carries no subject of its own. A question leans on the conversation when it opens
with "and"/"what about", uses a pronoun, or is very short (`leans`); one that stands on its
own is searched as it is, and costs no model call.

Two ways to rewrite a leaning question (the `followup` setting):

- "model": the reader rewrites it (`prompts/rewrite_system.txt`, `prompts/rewrite.txt`),
  greedy, a few dozen tokens. The reply must pass guard rails (`check_rewrite`): one
  question on one line, not much longer than the conversation, every content word of the
  follow-up kept, no number or name the conversation does not hold (an answer slipped in).
  A reply that fails falls back to the heuristic.
- "heuristic": the previous question's subject (its names and content words) is appended:

>>> heuristic_question("And how many were injured?", ["How many attackers stormed the Karachi Police Office?"])
'And how many were injured? (about: attackers stormed Karachi Police Office)'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

from rag.prompt import PROMPTS_DIR, render

log = logging.getLogger(__name__)

METHODS = ("model", "heuristic", "none")
REWRITE_TOKENS = 48  # the longest sensible standalone question, with room to spare

_LEANS = re.compile(
    r"^(and|but|also|so|what about|how about|and what about|then)\b|\b(it|its|they|them|their|he|him|his|she|her|that|those|this|these|there)\b",
    re.IGNORECASE,
)


_NOT_SUBJECT = frozenset(
    "what when where which there were many much does about have with from that this they them their into after before"
    " said says tell told know".split()
)
# Words a rewrite may add or drop freely: question words, pronouns, connectives, auxiliaries.
_FUNCTION = _NOT_SUBJECT | frozenset(
    "and but also then how who whom whose why the was is are did do has had been being be of in on at to for by an a"
    " it its he him his she her they them their those these there then than so what about any some all more most"
    " other others people person were will would could should can may might not no".split()
)


def leans(question: str, history: Sequence[str]) -> bool:
    """Whether `question` needs the earlier questions to be understood (and there are some)."""
    if not history:
        return False
    content = [w for w in re.findall(r"[A-Za-z]+", question) if len(w) > 3]
    return bool(_LEANS.search(question)) or len(content) <= 3


def _subject(question: str) -> str:
    """The names of a question (after its first word) and its other content words, in order:
    "How many gunmen stormed the Karachi Police Office?" → "gunmen stormed Karachi Police Office"."""
    body = question.split(" ", 1)[1] if " " in question else ""
    names = re.findall(r"\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*", body)
    in_names = {w.lower() for n in names for w in n.split()}
    words = [w for w in re.findall(r"[A-Za-z][\w’'-]*", body) if len(w) > 3 and w.lower() not in _NOT_SUBJECT]
    out: list[str] = []
    for w in words:
        name = next((n for n in names if n.split()[0] == w), None)
        if name:
            out.append(name)
        elif w.lower() not in in_names:
            out.append(w)
    return " ".join(dict.fromkeys(out))


def heuristic_question(question: str, history: Sequence[str]) -> str:
    """`question` with the latest earlier question's subject appended, when it leans on them."""
    if not leans(question, history):
        return question
    for prev in reversed(history):
        subject = _subject(prev)
        if subject and subject.lower() not in question.lower():
            return f"{question} (about: {subject})"
    return question


def rewrite_messages(question: str, history: Sequence[str], folder: Path = PROMPTS_DIR) -> list[dict[str, str]]:
    """The chat messages asking the model for a standalone version of `question`."""
    system = (folder / "rewrite_system.txt").read_text(encoding="utf-8").strip()
    user = render("rewrite.txt", folder, history=list(history), question=question)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("rewrite prompt sent to the model:\n<system>\n%s\n<user>\n%s", system, user)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _stem(word: str) -> str:
    """A crude stem, enough to see "injured" in "injuries" and "attacker" in "attackers"."""
    w = word.lower().replace("’", "'").removesuffix("'s")
    return w[:5] if len(w) > 5 else w


def _content(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][\w’'-]*", text) if len(w) > 2 and w.lower() not in _FUNCTION]


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:[.,]\d+)?", text))


def _names(text: str) -> set[str]:
    """Capitalised words not at a sentence start, lower-cased: "Who is Kamran Tessori?" → {"kamran", "tessori"}."""
    return {m.group(1).lower() for m in re.finditer(r"(?<![.?!]\s)(?<!^)\b([A-Z][\w’'-]+)", text.strip())}


def check_rewrite(reply: str, question: str, history: Sequence[str]) -> tuple[str | None, str]:
    """(the cleaned standalone question, "") when the model's reply passes every guard rail,
    else (None, why). The rails keep a bad reply from steering retrieval anywhere the user did
    not ask: one question only, not absurdly long, the follow-up's own content words kept, no
    number or name that the conversation does not hold (that would be answer text)."""
    text = reply.strip().strip("\"'“”`").strip()
    text = re.sub(r"^(rewritten|standalone question|question)\s*:\s*", "", text, flags=re.I).strip("\"'“”` ")
    if not text:
        return None, "empty reply"
    if "\n" in text:
        return None, "more than one line"
    if not text.endswith("?") or text.count("?") != 1:
        return None, "not one question"
    said = " ".join([*history, question])
    limit = min(60, len(question.split()) + max((len(h.split()) for h in history), default=0) + 6)
    if len(text.split()) > limit:
        return None, f"too long ({len(text.split())} words, at most {limit})"
    kept = {_stem(w) for w in _content(text)}
    lost = [w for w in _content(question) if _stem(w) not in kept]
    if lost:
        return None, f"drops the follow-up's own words: {', '.join(lost)}"
    new_numbers = _numbers(text) - _numbers(said)
    said_words = {_stem(w) for w in re.findall(r"[A-Za-z][\w’'-]*", said)}
    new_names = sorted(n for n in _names(text) if _stem(n) not in said_words)
    if new_numbers or new_names:
        return None, f"adds what the conversation does not hold: {', '.join(sorted(new_numbers) + new_names)}"
    return text, ""


def model_question(question: str, history: Sequence[str], generator, max_tokens: int = REWRITE_TOKENS) -> tuple[str, str]:
    """(standalone question, how): the model's rewrite when it passes `check_rewrite`
    ("model"), else the heuristic's ("heuristic: <why the rewrite was rejected>")."""
    reply = "".join(generator.stream(rewrite_messages(question, history), max_tokens))
    text, why = check_rewrite(reply, question, history)
    if text is None:
        log.info("model rewrite rejected (%s): %r; using the heuristic", why, reply)
        return heuristic_question(question, history), f"heuristic: {why} (reply: {' '.join(reply.split())[:200]})"
    return text, "model"


def standalone_question(question: str, history: Sequence[str], generator=None, method: str = "heuristic") -> str:
    """`question` made self-contained using the previous user questions (most recent last).
    A question that does not lean on them is returned as it is, with no model call; `method`
    "model" needs `generator` (without one it falls back to the heuristic)."""
    if method == "none" or not leans(question, history):
        return question
    if method == "model" and generator is not None:
        return model_question(question, history, generator)[0]
    return heuristic_question(question, history)
