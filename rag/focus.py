"""The part of a question that tells its answer apart from the rest of the corpus.

A corpus about one event repeats the event's words in nearly every sentence: in five reports of
an attack on a police office, "Karachi", "police" and "office" are everywhere. A question like
"What was the Karachi police office's old name?" is then closest, as a whole, to sentences that
only say where the office is; what picks out the answer is "old name". The focus of a question
is its words without stop words and without the corpus's topic words (those in more than
`TOPIC_SHARE` of all sentences, from the saved BM25 index's document counts). Retrieval adds a
dense search for the focus as one more ranked list in its fusion (rag/retrieve.py).

No list of words and no threshold fitted to any question: a word is a topic word by how often
the corpus itself uses it. In an archive of many events few words pass the share, so the focus
is then seldom different from the question, and retrieval is as before.

>>> shares = {"karachi": 0.3, "polic": 0.4, "offic": 0.2, "old": 0.01, "name": 0.02}
>>> focus_query("What was the Karachi police office's old name?", shares.get)
'old name'
>>> focus_query("Who stormed the building?", shares.get) is None  # no topic word: the question is its own focus
True
"""

from __future__ import annotations

from collections.abc import Callable

from index.lexical import words

TOPIC_SHARE = 0.05  # a word in more than 1 sentence in 20 is what the corpus is about


def focus_query(question: str, share: Callable[[str], float | None], topic_share: float = TOPIC_SHARE) -> str | None:
    """The question's words that are neither stop words nor topic words (`share(token)` above
    `topic_share`), or None when no topic word was dropped or no word is left."""
    kept: list[str] = []
    dropped = False
    for word, token in words(question):
        if token is None:
            continue
        if (share(token) or 0.0) > topic_share:
            dropped = True
        else:
            kept.append(word)
    return " ".join(kept) if dropped and kept else None
