"""A deterministic ~1M-sentence news archive for `make bench` (part `million`), and its vectors.

Articles: each one is a run of ~10 consecutive sentences of a real article of the repository
(`corpus/` and `evals/corpus_*/`, 833 sentences), with its facts varied: every number, month
and capitalised word inside a sentence (names, places, organisations) is replaced, consistently
within the article, by one drawn from a pool (made-up names, numbers, months). So the archive
holds many near-duplicates that differ only in their facts, the hard case for retrieval.
One sentence a line, so a file's sentences are exactly the generated ones.

    write_corpus(folder, n_sentences=1_000_000)   # ~100k files, seconds per 100k sentences

Vectors. Embedding 1M sentences with the packaged MiniLM takes ~2 h here (~140 sentences/s), so
`ComposedEmbedder` composes them. What is real: the embedding of every distinct base sentence
(833) and of every pool entry and original fact (a few thousand short texts), each computed
once by the real embedder. What is composed: a varied sentence's vector is its base sentence's
vector moved by the swapped facts, normalise(E(base) + beta * sum(E(new fact) - E(old fact))),
and a window's vector is the normalised sum of its sentences'. `fidelity` embeds a sample of
generated sentences for real and reports the mean cosine to the composed vectors, so the
bench states how close the composition is. Queries are always embedded for real.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
MONTHS = "January February March April May June July August September October November December".split()
_SLOT = re.compile(r"\d+|\b(?:" + "|".join(MONTHS) + r")\b|(?<=[a-z,] )[A-Z][a-z]+")
_SYLLABLES = "ka ri mo sa te lu na vi do pe zu ha ro mi ta ke ya shi ab ur ol en".split()
PER_ARTICLE = 10


def base_sentences(folders: list[Path] | None = None) -> list[list[str]]:
    """The real articles' sentences (one list per article), one line each."""
    from index.chunking import split
    from index.reading import read_folder

    folders = folders or [ROOT / "corpus", *sorted(p for p in (ROOT / "evals").glob("corpus_*") if p.is_dir())]
    out = []
    for f in folders:
        for a in read_folder(f)[0]:
            ss = [" ".join(s.text.split()) for s in split(a)]
            if ss:
                out.append(ss)
    return out


def pools(seed: int = 0, names: int = 1500, numbers: int = 400) -> dict[str, list[str]]:
    """The facts drawn into the articles: made-up names, numbers, months (repeatable for a seed)."""
    rng = np.random.default_rng(seed)
    made_up = sorted({"".join(rng.choice(_SYLLABLES, 3)).capitalize() for _ in range(names * 2)})[:names]
    return {"name": made_up, "number": sorted({str(x) for x in rng.integers(1, 100_000, numbers)}), "month": list(MONTHS)}


def _kind(fact: str) -> str:
    return "number" if fact.isdigit() else "month" if fact in MONTHS else "name"


def skeleton(sentence: str) -> str:
    """The sentence with its facts blanked: the key that finds its base sentence.

    >>> skeleton("On 3 May the minister, Karimo, met 12 people.")
    'On \\x00 \\x00 the minister, \\x00, met \\x00 people.'
    """
    return _SLOT.sub("\x00", sentence)


def articles(n_sentences: int, seed: int = 0, base: list[list[str]] | None = None, pool_seed: int = 0) -> list[tuple[str, list[str]]]:
    """(file name, sentences) of ceil(n_sentences / 10) articles; the same for the same arguments.
    `seed` picks the articles and facts, `pool_seed` the pools the facts come from."""
    base = base or base_sentences()
    pool = pools(pool_seed)
    rng = np.random.default_rng(seed + 1)
    out = []
    for i in range(-(-n_sentences // PER_ARTICLE)):
        src = base[int(rng.integers(len(base)))]
        start = int(rng.integers(max(len(src) - PER_ARTICLE, 0) + 1))
        subs: dict[str, str] = {}

        def swap(m: re.Match[str], subs: dict[str, str] = subs) -> str:
            fact = m.group(0)
            if fact not in subs:
                choices = pool[_kind(fact)]
                subs[fact] = choices[int(rng.integers(len(choices)))]
            return subs[fact]

        out.append((f"{i:07d}.txt", [_SLOT.sub(swap, s) for s in src[start : start + PER_ARTICLE]]))
    return out


def write_corpus(folder: Path, n_sentences: int, seed: int = 0) -> int:
    """Write the archive's articles as files in `folder`; returns the number of sentences."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for name, sentences in articles(n_sentences, seed):
        (folder / name).write_text("\n".join(sentences) + "\n", encoding="utf-8")
        n += len(sentences)
    return n


class ComposedEmbedder:
    """Vectors of the generated archive composed from real embeddings (see the module docstring).

    `real` embeds the base sentences and facts once; texts it cannot compose (not one of the
    generated sentences or windows of them) are embedded by `real` too, and counted.
    """

    def __init__(self, real: Any, beta: float = 1.0, base: list[list[str]] | None = None, seed: int = 0, cache: Path | None = None):
        """`cache`: an .npz file keeping the real embeddings between processes (same texts, same embedder)."""
        self.real, self.beta, self.dim = real, beta, real.dim
        self.name, self.fingerprint = real.name, real.fingerprint  # an index built with it loads with the real one
        templates = sorted({s for a in (base or base_sentences()) for s in a})
        self._row = {skeleton(t): i for i, t in enumerate(templates)}
        self._facts_of = [_SLOT.findall(t) for t in templates]
        facts = sorted({f for fs in self._facts_of for f in fs} | {f for p in pools(seed).values() for f in p})
        self._fact = {f: i for i, f in enumerate(facts)}
        if cache is not None and cache.exists():
            saved = np.load(cache)
            self.template_vectors, self.fact_vectors = saved["templates"], saved["facts"]
        else:
            self.template_vectors = real.embed(templates)
            self.fact_vectors = real.embed(facts)
            if cache is not None:
                np.savez(cache, templates=self.template_vectors, facts=self.fact_vectors)
        if self.template_vectors.shape[0] != len(templates) or self.fact_vectors.shape[0] != len(facts):
            raise ValueError(f"{cache} holds the vectors of other texts")
        self.fallbacks = 0

    def sentence(self, text: str) -> np.ndarray | None:
        """The composed vector of one generated sentence, or None when it is not one."""
        row = self._row.get(skeleton(text))
        if row is None:
            return None
        new, old = _SLOT.findall(text), self._facts_of[row]
        if len(new) != len(old) or not all(f in self._fact for f in new):
            return None
        v = self.template_vectors[row].copy()
        for a, b in zip(new, old, strict=True):
            if a != b:
                v += self.beta * (self.fact_vectors[self._fact[a]] - self.fact_vectors[self._fact[b]])
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def embed(self, texts: list[str], progress: Callable[[int], Any] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        unknown: list[int] = []
        for i, text in enumerate(texts):
            parts = [self.sentence(line) for line in text.split("\n") if line.strip()]
            if parts and all(p is not None for p in parts):
                v = np.sum(parts, axis=0)
                out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
            else:
                unknown.append(i)
            if progress and i % 10_000 == 9_999:
                progress(10_000)
        if unknown:
            self.fallbacks += len(unknown)
            out[unknown] = self.real.embed([texts[i] for i in unknown])
        if progress:
            progress(len(texts) % 10_000)
        return out


def fidelity(composed: ComposedEmbedder, sample: list[str]) -> float:
    """Mean cosine between composed and real vectors of `sample` sentences (1.0 = identical)."""
    a = composed.embed(sample)
    b = composed.real.embed(sample)
    return float(np.mean(np.sum(a * b, axis=1)))
