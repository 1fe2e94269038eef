"""Plain data types at the boundaries of the system.

Everything that crosses from `index/` to `rag/` to `ui/` and `evals/` is one of these
small frozen dataclasses; no llama-index, faiss or torch object leaks out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """One source file. `id` is the file name; `text` is the article text read from it (the
    main text of a web page or document, metadata lines at the top taken out): sentence
    offsets point into it. `meta` holds what the file said about itself (author, source, ...)."""

    id: str
    title: str
    date: str | None
    path: str
    text: str
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Sentence:
    """A unit of evidence: `article.text[start:end] == text`."""

    id: str  # "<article_id>#<n>"
    article_id: str
    n: int  # position of the sentence in its article
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Chunk:
    """A window of whole consecutive sentences, used for dense retrieval of context."""

    id: str  # "<article_id>@<first sentence n>"
    article_id: str
    sentence_ids: tuple[str, ...]
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    """A retrieved sentence and its fused score."""

    sentence: Sentence
    score: float


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: one exact sentence of one article."""

    n: int
    source: str
    title: str
    start: int
    end: int
    quote: str
    score: float
    supported: bool
    date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Claim:
    """One sentence of the answer, with the citation numbers that support it."""

    text: str
    citations: tuple[int, ...]
    supported: bool
    score: float


@dataclass(frozen=True)
class Version:
    """One value that some sources give for a disputed point."""

    value: str  # normalised, for comparison ("8–10")
    citations: tuple[int, ...]
    sources: tuple[str, ...]
    note: str = ""  # e.g. "early report", "dated 2023-02-17"
    shown: str = ""  # as the articles write it ("eight to 10", "at least six")


@dataclass(frozen=True)
class Conflict:
    """Sources that give different values for what the question asks."""

    topic: str
    versions: tuple[Version, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "versions": [
                {"value": v.value, "shown": v.shown or v.value, "citations": list(v.citations), "sources": list(v.sources), "note": v.note}
                for v in self.versions
            ],
        }


@dataclass(frozen=True)
class Answer:
    """The full result of answering one question."""

    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    claims: tuple[Claim, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    retrieved: tuple[Hit, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    model: str = ""
    standalone_question: str = ""
    draft: str = ""

    @property
    def claims_verified(self) -> int:
        return sum(1 for c in self.claims if c.supported)

    @property
    def claims_total(self) -> int:
        return len(self.claims)

    def to_dict(self) -> dict[str, Any]:
        """The documented `--json` schema (see README)."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question or self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "claims": [
                {"text": c.text, "citations": list(c.citations), "supported": c.supported, "score": round(c.score, 3)} for c in self.claims
            ],
            "claims_verified": self.claims_verified,
            "claims_total": self.claims_total,
            "conflicts": [c.to_dict() for c in self.conflicts],
            "retrieved": [{"id": h.sentence.id, "source": h.sentence.article_id, "score": round(h.score, 4)} for h in self.retrieved],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "model": self.model,
            "draft": self.draft,
        }
