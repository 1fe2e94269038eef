"""Finding and normalising numbers in text, so "three" = 3, "half a dozen" = 6 and
"eight to 10" = 8–10 compare equal wherever they are written.

>>> [(m.lo, m.hi) for m in find_numbers("eight to 10 attackers, half a dozen grenades, 4th floor")]
[(8.0, 10.0), (6.0, 6.0), (4.0, 4.0)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
ORDINALS = {w: i + 1 for i, w in enumerate("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split())}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000, "trillion": 1_000_000_000_000}

_WORD = r"(?:half\s+a\s+dozen|(?:two|three|four|five|six|seven|eight|nine|ten)\s+dozens?|a\s+dozen|dozen|(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[-\s](?:one|two|three|four|five|six|seven|eight|nine))?|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)(?:\s+(?:hundred|thousand|million|billion|trillion))?)"
_DIGIT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_ORD = r"(?:\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth)"
_ONE = rf"(?:{_ORD}|{_DIGIT}|{_WORD})"
_PATTERN = re.compile(
    rf"(?<![\w.,/@])(?:between\s+)?(?P<a>{_ONE})(?:\s*(?:to|-|–|—|or|and)\s*(?P<b>{_DIGIT}|{_WORD}))?(?:(?=(?:bn|mn)\b)|(?![\w/@]))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Number:
    lo: float
    hi: float
    ordinal: bool
    start: int
    end: int
    text: str

    @property
    def label(self) -> str:
        """Readable value: '3', '8–10'."""
        f = lambda x: str(int(x)) if x == int(x) else str(x)  # noqa: E731
        return f(self.lo) if self.lo == self.hi else f"{f(self.lo)}–{f(self.hi)}"


def word_value(text: str) -> float | None:
    """'twenty-five' → 25, 'half a dozen' → 6, '1,000' → 1000, '4th' → 4, 'apple' → None."""
    t = " ".join(text.lower().replace("-", " ").split())
    if t == "half a dozen":
        return 6.0
    if t in ("a dozen", "dozen"):
        return 12.0
    if re.fullmatch(r"\w+ dozens?", t) and t.split()[0] in UNITS:
        return 12.0 * UNITS[t.split()[0]]
    if re.fullmatch(r"\d{1,15}(st|nd|rd|th)", t):
        return float(t[:-2])
    if re.fullmatch(_DIGIT, t):
        digits = t.replace(",", "")
        # A figure of more than 15 digits is no count a report gives (and would overflow to inf).
        return float(digits) if len(digits.split(".")[0]) <= 15 else None
    if t in ORDINALS:
        return float(ORDINALS[t])
    total, current = 0, 0
    for w in t.split():
        if w in UNITS:
            current += UNITS[w]
        elif w in TENS:
            current += TENS[w]
        elif w in SCALES:
            current = max(current, 1) * SCALES[w]
            if SCALES[w] >= 1000:
                total, current = total + current, 0
        else:
            return None
    return float(total + current)


_SCALE_AFTER = re.compile(r"\s*(hundred|thousand|million|billion|trillion|bn|mn)\b", re.IGNORECASE)
_SCALE_ABBR = {"bn": 1_000_000_000, "mn": 1_000_000}


def _scaled(text: str, m: re.Match[str]) -> tuple[float, int]:
    """The scale a digit number carries ("1.5 million", "2.3bn"): (factor, end of the scale word)."""
    if not re.match(_DIGIT, m.group(0).split()[-1] if m.group(0).split() else ""):
        return 1.0, m.end()
    after = _SCALE_AFTER.match(text, m.end())
    if not after:
        return 1.0, m.end()
    word = after.group(1).lower()
    return float(SCALES.get(word) or _SCALE_ABBR[word]), after.end()


def find_numbers(text: str) -> list[Number]:
    """Every number or numeric range in `text`, normalised, with its span (a scale word that
    follows digits counts: "1.5 million" = 1,500,000, never equal to "1.5 billion")."""
    out = []
    for m in _PATTERN.finditer(text):
        a = word_value(m.group("a"))
        if a is None:
            continue
        factor, scaled_end = _scaled(text, m)
        if factor != 1.0:
            b = word_value(m.group("b")) if m.group("b") else None
            lo, hi = a * factor, (b if b is not None and b > a else a) * factor
            out.append(Number(lo, hi, False, m.start(), scaled_end, text[m.start() : scaled_end]))
            continue
        ordinal = bool(re.fullmatch(_ORD, m.group("a"), re.IGNORECASE))
        b = word_value(m.group("b")) if m.group("b") else None
        if b is not None and not ordinal and b > a:
            out.append(Number(a, b, False, m.start(), m.end(), m.group(0)))
        else:
            end = m.start("a") + len(m.group("a"))
            out.append(Number(a, a, ordinal, m.start("a"), end, m.group("a")))
            if b is not None:  # "two and 3" or a descending pair: two separate numbers
                out.append(Number(b, b, False, m.start("b"), m.end("b"), m.group("b")))
    return out


def same_number(x: Number, y: Number) -> bool:
    return x.lo == y.lo and x.hi == y.hi


def numbers_covered(claim: str, evidence: str) -> tuple[bool, list[str]]:
    """Does every number in `claim` appear (normalised) in `evidence`? Returns the missing ones."""
    have = find_numbers(evidence)
    missing = [n.text for n in find_numbers(claim) if not any(same_number(n, h) for h in have)]
    return not missing, missing
