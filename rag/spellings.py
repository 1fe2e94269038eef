"""Names the articles spell differently: a disagreement of its own kind.

Reports transliterate and misspell names ("Mohanta" / "Mahanta", "Namaraj" / "Namraj"); a
reader who sees only one spelling cannot search for the other or know the reports differ.
For each name in the answer's verified claims, the other articles are read for a word that
is nearly the same name (same first letter, string similarity >= 0.75, not a plural or a
possessive) in a sentence that shares another word with the claim's own sentence, while
that article never uses the answer's spelling. Each spelling is a version with its sources.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from index.lexical import tokens
from rag.conflicts import Mention, Slot
from rag.types import Sentence
from rag.verify import COMMON_CAPS, names_in

_CAPS = re.compile(r"\b[A-Z][a-zA-Z'’-]{3,}")


def _unpossessed(word: str) -> str:
    """ "Kamerhe's" → "Kamerhe"."""
    return word[:-2] if word.endswith(("'s", "’s")) else word


def _bare(word: str) -> str:
    return _unpossessed(word).lower()


def _variant(name: str, word: str) -> bool:
    """Nearly the same name, not the same word in another form: "Mohanta"/"Mahanta" yes;
    "India"/"Indian", "Bengal"/"Bengaluru", "Banerjee"/"Banerjee's" no."""
    a, b = _bare(name), _bare(word)
    if a == b or a[0] != b[0] or abs(len(a) - len(b)) > 2 or a.startswith(b) or b.startswith(a):
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.75


def spelling_versions(
    verified: Sequence[tuple[str, Sequence[Sentence]]], pool: Sequence[Sentence], texts: dict[str, str]
) -> tuple[Slot | None, list[Mention]]:
    """(slot, one mention per spelling and article) for the first name of the answer that other
    articles spell differently, or (None, []). `texts` maps article ids to their full text."""
    for claim, cited in verified:
        if not cited:
            continue
        own = {s.article_id for s in cited}
        context = set(tokens(" ".join(s.text for s in cited))) | set(tokens(claim))
        for name in dict.fromkeys(n for n in names_in(claim) if len(n) >= 4 and n not in COMMON_CAPS):
            found: list[Mention] = []
            for s in pool:
                if s.article_id in own or re.search(rf"\b{re.escape(name)}\b", texts.get(s.article_id, ""), re.IGNORECASE):
                    continue  # the same article, or one that also uses the answer's spelling
                for m in _CAPS.finditer(s.text):
                    word = _unpossessed(m.group(0))
                    shared = context & (set(tokens(s.text)) - set(tokens(word)))
                    if _variant(name, word) and len(shared) >= 2:
                        found.append(Mention(word.lower(), word, s, False))
            if found:
                first = next(s for s in cited if re.search(rf"\b{re.escape(name)}\b", s.text, re.IGNORECASE))
                name = _unpossessed(name)
                mentions = [Mention(name.lower(), name, first, False), *found]
                return Slot("spelling", "", "", f"the spelling of the name {name}"), mentions
    return None, []
