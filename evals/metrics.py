"""Pure metric functions for the eval suite: no models, no files, no globals.

Every aggregate is an `Estimate` with its sample size and a percentile-bootstrap 95% CI.
A metric with nothing to measure (n = 0, or a zero denominator) raises `UndefinedMetric`
instead of turning into NaN or 0 (ragas #1221 shows how NaN hides failures).

>>> round(reciprocal_rank([False, True, False]), 2)
0.5
>>> contains_fact("It happened on Shahrah-e-Faisal [2].", "Shahrae Faisal|Shahrah-e-Faisal")
True
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

N_BOOT = 1000
SEED = 0


class UndefinedMetric(ValueError):
    """The metric has no items to be computed on (n = 0 or a zero denominator)."""


@dataclass(frozen=True)
class Estimate:
    """A metric value with its 95% bootstrap interval and the number of items it rests on."""

    value: float
    lo: float
    hi: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2

    def to_dict(self) -> dict[str, float | int]:
        return {"value": round(self.value, 4), "lo": round(self.lo, 4), "hi": round(self.hi, 4), "n": self.n}


# ---------------------------------------------------------------- text matching

_MARKERS = re.compile(r"\s*\[\s*\d+(?:\s*[,-]\s*\d+)*\s*\]")


def strip_markers(text: str) -> str:
    """`"It was white [1][2]."` → `"It was white."`"""
    return _MARKERS.sub("", text)


def normalize(text: str) -> str:
    """Lowercase, straight quotes, dashes and hyphens as spaces, no citation markers, single spaces.

    >>> normalize("Shahrah-e-Faisal’s  road [3]")
    "shahrah e faisal's road"
    >>> normalize("60-70 staff")
    '60 to 70 staff'
    """
    t = strip_markers(text).lower()
    t = t.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    t = re.sub(r"(\d)\s*[-–—]\s*(\d)", r"\1 to \2", t)  # number ranges: "8–10" = "8 to 10"
    t = re.sub(r"[-–—]", " ", t)
    return " ".join(t.split())


def contains_fact(text: str, alternatives: str) -> bool:
    """True when any `|`-separated alternative occurs in `text` as whole words (normalised)."""
    t = normalize(text)
    for alt in alternatives.split("|"):
        a = normalize(alt)
        if a and re.search(rf"(?<!\w){re.escape(a)}(?!\w)", t):
            return True
    return False


def key_fact_recall(text: str, key_facts: Sequence[str]) -> float:
    """Share of key facts (each a `|` list of alternatives) found in the answer text."""
    if not key_facts:
        raise UndefinedMetric("key-fact recall needs at least one key fact")
    return sum(contains_fact(text, k) for k in key_facts) / len(key_facts)


def exact_match(text: str, alternatives: str) -> bool:
    """ALCE-style STR-EM: the gold short answer appears verbatim (after normalisation) in the answer."""
    return contains_fact(text, alternatives)


def conflict_surfaced(text: str, groups: Sequence[str], structured_values: Sequence[str] = ()) -> bool:
    """At least two of the expected competing values are shown, in the text or in structured versions."""
    if len(groups) < 2:
        raise UndefinedMetric("a conflict needs at least two expected values")
    shown = " ; ".join([text, *structured_values])
    return sum(contains_fact(shown, g) for g in groups) >= 2


def unexpected_versions(versions: Sequence[Sequence[str]], groups: Sequence[str]) -> int:
    """How many of the structured versions shown match none of the expected competing values
    (a figure of another event or another count listed as a version). Each version is its
    forms: the normalised value ("50", "1", "no") and the words shown ("around 50", "a hand
    grenade", "no group has claimed it"); one form that holds an expected value is enough."""
    return sum(not any(contains_fact(form, g) for form in forms for g in groups) for forms in versions)


def contains_forbidden(text: str, phrases: Sequence[str]) -> bool:
    """True when any forbidden phrase (case-insensitive) occurs in the text."""
    low = text.lower()
    return any(p.lower() in low for p in phrases)


_ABSTAIN = re.compile(
    r"\b(i don'?t know|i do not know|(?:do|does) not (?:say|mention|specify|provide|contain|state)|no information|"
    r"not (?:mentioned|specified|stated|provided|available)|cannot (?:be )?(?:answer|determine|find)|can'?t (?:answer|determine|say)|"
    r"unable to|none of the (?:provided )?sources|(?:is|are) not (?:helpful|relevant)|(?:can'?t|cannot) (?:assist|help) with)\b",
    re.IGNORECASE,
)


def looks_abstained(text: str) -> bool:
    """A free-text answer that declines (used for systems without a structured abstain flag)."""
    return not text.strip() or bool(_ABSTAIN.search(text))


# ---------------------------------------------------------------- retrieval


def dedupe(items: Sequence[Any]) -> list[Any]:
    """Items in first-seen order without repeats."""
    return list(dict.fromkeys(items))


def hit_at_k(relevant: Sequence[bool], k: int) -> float:
    """1.0 when any of the first k ranked items is relevant."""
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool]) -> float:
    """1 / rank of the first relevant item (0.0 when none is)."""
    for i, r in enumerate(relevant):
        if r:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at_k(gains: Sequence[float], n_relevant: int, k: int = 10) -> float:
    """Binary-gain nDCG@k; the ideal ranking puts all `n_relevant` items first.

    >>> round(ndcg_at_k([0, 1], n_relevant=1), 4)
    0.6309
    """
    if n_relevant <= 0:
        raise UndefinedMetric("nDCG needs at least one relevant item")
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(n_relevant, k)))
    return dcg / ideal


def span_gains(ranked: Sequence[tuple[str, int | None, int | None]], gold: Sequence[tuple[str, int, int]]) -> list[float]:
    """Gain 1 for a ranked unit (source, start, end) that overlaps a gold span not yet credited.

    Each gold span is credited once, to the first unit that overlaps it; a unit that
    overlaps two new gold spans still gains 1 (its rank can hold one item).
    """
    credited: set[int] = set()
    gains = []
    for source, start, end in ranked:
        hit = None
        if start is not None and end is not None:
            for j, (gs, a, b) in enumerate(gold):
                if j not in credited and gs == source and start < b and a < end:
                    hit = j
                    break
        if hit is None:
            gains.append(0.0)
        else:
            credited.add(hit)
            gains.append(1.0)
    return gains


# ---------------------------------------------------------------- abstention


def abstention_precision(pairs: Sequence[tuple[bool, bool]]) -> float:
    """Of the abstentions, the share that were right, from (abstained, should_abstain) pairs."""
    tp = sum(1 for a, s in pairs if a and s)
    fp = sum(1 for a, s in pairs if a and not s)
    if tp + fp == 0:
        raise UndefinedMetric("abstention precision: the system never abstained")
    return tp / (tp + fp)


def abstention_recall(pairs: Sequence[tuple[bool, bool]]) -> float:
    """Of the questions that should be declined, the share that were."""
    tp = sum(1 for a, s in pairs if a and s)
    fn = sum(1 for a, s in pairs if not a and s)
    if tp + fn == 0:
        raise UndefinedMetric("abstention recall: no case should be declined")
    return tp / (tp + fn)


def abstention_prf(pairs: Sequence[tuple[bool, bool]]) -> tuple[float, float, float]:
    """(precision, recall, F1) of abstaining; F1 is undefined when either part is."""
    p, r = abstention_precision(pairs), abstention_recall(pairs)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


# ---------------------------------------------------------------- citations


def span_valid(file_text: str, start: int | None, end: int | None, quote: str) -> bool:
    """The quote is exactly the file's text at its offsets; without offsets, verbatim in the file."""
    if not quote:
        return False
    if start is None or end is None:
        return quote in file_text
    return 0 <= start <= end <= len(file_text) and file_text[start:end] == quote


_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[\"“'‘(\[]?[A-Z0-9])")
_LEADING_MARKERS = re.compile(r"^((?:\[\s*\d+(?:\s*[,-]\s*\d+)*\s*\]\s*)+)")


def _marker_numbers(text: str) -> list[int]:
    out: list[int] = []
    for m in re.finditer(r"\[\s*(\d+(?:\s*[,-]\s*\d+)*)\s*\]", text):
        for part in re.split(r"\s*,\s*", m.group(1)):
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                out.extend(range(a, b + 1) if b >= a and b - a < 50 else [a, b])
            else:
                out.append(int(part))
    return dedupe(out)


def answer_claims(answer: str) -> list[tuple[str, list[int]]]:
    """The answer's sentences (markers removed) with the citation numbers each carries.

    Markers written after a sentence's full stop ("… red. [2]") belong to that sentence.

    >>> answer_claims("It was white [1]. Three came [2][3].")
    [('It was white.', [1]), ('Three came.', [2, 3])]
    >>> answer_claims("Reports differ on the colour: white [1]; silver [2]. It came at 7pm [3].")
    [('It came at 7pm.', [3])]
    """
    pieces = [p for p in _SENT_END.split(answer.strip()) if p.strip()]
    merged: list[str] = []
    for p in pieces:
        m = _LEADING_MARKERS.match(p)
        if m and merged:
            merged[-1] += " " + m.group(1).strip()
            p = p[m.end() :]
        if p.strip():
            merged.append(p.strip())
    out = []
    for s in merged:
        text = " ".join(strip_markers(s).split())
        if text.startswith("Reports differ on "):
            continue  # a list of versions, each taken from its cited sentence; scored by the conflict metrics
        if len(re.findall(r"\w+", text)) >= 2:
            out.append((text, _marker_numbers(s)))
    return out


@dataclass(frozen=True)
class CitationCounts:
    """ALCE counts for one answer: recall = supported / claims, precision = precise / citations."""

    claims: int
    supported: int
    citations: int
    precise: int


def alce_citation_counts(
    claims: Sequence[tuple[str, list[int]]], passages: dict[int, str], supports: Callable[[str, list[str]], bool]
) -> CitationCounts:
    """ALCE citation recall and precision (Gao et al. 2023), with any support judge.

    A claim is recalled when the concatenation of its cited passages supports it (no
    citation, or a number out of range, counts as not recalled). A citation of a recalled
    claim is imprecise when it does not support the claim on its own and the claim is
    still supported without it; citations of unrecalled claims are all imprecise.
    """
    supported = cites = precise = 0
    for claim, ns in claims:
        cites += len(ns)
        if not ns or any(n not in passages for n in ns):
            continue
        joint = supports(claim, [passages[n] for n in ns])
        supported += joint
        if not joint:
            continue
        if len(ns) == 1:
            precise += 1
            continue
        for n in ns:
            if supports(claim, [passages[n]]):
                precise += 1
                continue
            rest = [passages[m] for m in ns if m != n]
            if not supports(claim, rest):
                precise += 1
    return CitationCounts(len(claims), supported, cites, precise)


# ---------------------------------------------------------------- aggregation


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    /proc/self/status VmHWM when present: `ru_maxrss` survives exec, so a spawned worker
    would report the size of the parent it was forked from.
    """
    import resource

    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), as numpy's default.

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    """
    if not values:
        raise UndefinedMetric("percentile of no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def bootstrap(
    items: Sequence[Any], statistic: Callable[[Sequence[Any]], float], n_boot: int = N_BOOT, seed: int = SEED, what: str = "metric"
) -> Estimate:
    """Percentile bootstrap (95%) of `statistic` over `items`, resampled with replacement.

    Resamples on which the statistic is undefined are skipped; if most are, the interval
    is unreliable and this raises.
    """
    if not items:
        raise UndefinedMetric(f"{what}: no items (n = 0)")
    value = statistic(items)
    rng = random.Random(seed)
    stats = []
    for _ in range(n_boot):
        sample = [items[rng.randrange(len(items))] for _ in items]
        try:
            stats.append(statistic(sample))
        except UndefinedMetric:
            continue
    if len(stats) < n_boot // 2:
        raise UndefinedMetric(f"{what}: undefined on most bootstrap resamples (n = {len(items)} is too small)")
    return Estimate(value, percentile(stats, 2.5), percentile(stats, 97.5), len(items))


def mean(values: Sequence[float]) -> float:
    if not values:
        raise UndefinedMetric("mean of no values")
    return sum(values) / len(values)


def mean_estimate(values: Sequence[float], what: str = "metric") -> Estimate:
    return bootstrap(list(values), mean, what=what)


def ratio(pairs: Sequence[tuple[float, float]]) -> float:
    """sum(numerators) / sum(denominators): a micro average over items."""
    den = sum(d for _, d in pairs)
    if den == 0:
        raise UndefinedMetric("ratio with a zero denominator")
    return sum(n for n, _ in pairs) / den


def ratio_estimate(pairs: Sequence[tuple[float, float]], what: str = "metric") -> Estimate:
    """Micro-averaged ratio with an item-level (cluster) bootstrap."""
    pairs = [p for p in pairs if p[1] > 0]
    return bootstrap(pairs, ratio, what=what)


def percentile_estimate(values: Sequence[float], q: float, what: str = "metric") -> Estimate:
    return bootstrap(list(values), lambda xs: percentile(xs, q), what=what)
