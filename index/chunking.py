"""Turning articles into sentences and sentence windows (chunks).

>>> from rag.types import Article
>>> a = Article("a.txt", "t", None, "a.txt", "One. Two. Three.")
>>> [c.text for c in make_chunks(a, split(a), size=2, overlap=1)]
['One. Two.', 'Two. Three.']
"""

from __future__ import annotations

from index.sentences import split_sentences
from rag.types import Article, Chunk, Sentence

# Bumped whenever any text can split differently: the store reuses a file's vectors by sentence
# id, so an index made by another split must be rebuilt, not patched. 2: runs over the length cap
# are cut at any whitespace, else after punctuation (1 cut at ASCII spaces only), and a period
# after a run of more than 64 letters and periods is judged on the whole run again. 3: the text
# read from files changed (index/reading.py): HTML main text by trafilatura with entities decoded,
# PDF/DOCX/EPUB/RTF read, any text encoding, metadata lines at the top out of the text.
SPLITTER_VERSION = 3


def split(article: Article) -> list[Sentence]:
    """The sentences of an article with offsets into `article.text`."""
    return [
        Sentence(id=f"{article.id}#{n}", article_id=article.id, n=n, start=s, end=e, text=article.text[s:e])
        for n, (s, e) in enumerate(split_sentences(article.text))
    ]


def make_chunks(article: Article, sentences: list[Sentence], size: int = 3, overlap: int = 1) -> list[Chunk]:
    """Windows of `size` whole consecutive sentences, consecutive windows sharing `overlap`."""
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(f"need size >= 1 and 0 <= overlap < size (got size={size}, overlap={overlap})")
    step = size - overlap
    chunks = []
    for i in range(0, max(len(sentences) - overlap, 1), step):
        window = sentences[i : i + size]
        if not window:
            break
        start, end = window[0].start, window[-1].end
        chunks.append(
            Chunk(
                id=f"{article.id}@{window[0].n}",
                article_id=article.id,
                sentence_ids=tuple(s.id for s in window),
                start=start,
                end=end,
                text=article.text[start:end],
            )
        )
    return chunks
