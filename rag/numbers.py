"""Finding and normalising numbers in text, so "three" = 3, "half a dozen" = 6,
"one hundred and twenty" = 120, "1.5 million" = 1,500,000 and "eight to 10" = 8–10 compare
equal wherever they are written.

>>> [n.label for n in find_numbers("eight to 10 attackers, half a dozen grenades, 4th floor")]
['8–10', '6', '4']

Values are computed exactly (`Fraction`: 4.1 million is 4,100,000, not 4099999.9999999995) and
handed out as floats. A figure of more than 15 significant digits is no count or measure a
report gives: it is skipped, never an error, so no text can overflow a float and two different
figures never become the same float. A vague quantity ("several
dozen", "hundreds of", "tens of thousands") has no exact value: it is found only when asked
for (`vague=True`), as the range two to ten times its scale, and never equals an exact figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
ORDINALS = {w: i + 1 for i, w in enumerate("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split())}
SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12}
# Joined to digits ("2.3bn", "3 tn"); "m" and "k" only after a currency sign ("£2m", "$50k"),
# since "a 5m wall" is five metres.
_ABBR = {"bn": 10**9, "mn": 10**6, "tn": 10**12}
_MONEY_ABBR = {"m": 10**6, "k": 1000}
_CURRENCY = "$£€¥"
_VAGUE_SCALES = {"dozen": 12, "ten": 10, **SCALES}
MAX_DIGITS = 15  # significant digits a figure may have to be read

_SMALL = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[-\s](?:one|two|three|four|five|six|seven|eight|nine)\b)?"
    r"|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
    r"|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
)
_BIG = r"(?:thousand|million|billion|trillion)"
_NO_SCALE_NEXT = r"(?![-\s]++(?:hundred|thousand|million|billion|trillion)\b)"
# "one hundred and twenty", "a hundred", "two hundred five"; the "and" joins a smaller number only
# ("five hundred and two hundred" stays two numbers).
_HUNDREDS = rf"(?:{_SMALL}|a)[-\s]++hundred(?:\s++(?:and\s++)?{_SMALL}(?![-\s]++hundred\b))?"
_GROUP = rf"(?:{_HUNDREDS}|{_SMALL})"
# Tried before plain digits and words, so "2 and a half million" is not read as 2.
_HALVES = rf"(?:\d+(?:\.\d+)?|{_SMALL})\s++and\s++a\s++half\s++{_BIG}|half\s++a\s++{_BIG}"
_WORDS = (
    r"half\s++a\s++dozen|(?:two|three|four|five|six|seven|eight|nine|ten)\s++dozens?|a\s++dozen|dozen"
    rf"|(?:{_GROUP}|a(?=\s++{_BIG}))(?:[-\s]++{_BIG}(?:\s++{_GROUP}|\s++and\s++{_GROUP}{_NO_SCALE_NEXT})?)*"
)
_VAGUE = (
    r"(?:several|a\s++few|few|many)\s++(?:dozens?|hundreds?|thousands?|millions?|billions?)(?:\s++(?:of\s++)?(?:thousands?|millions?|billions?))?"
    r"|(?:dozens|hundreds|thousands|millions|billions)(?:\s++of\s++(?:thousands|millions|billions))?"
    r"|tens\s++of\s++(?:thousands|millions|billions)"
)
_DIGIT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_DIGITS = rf"(?:{_DIGIT})(?:\s*+hundred\b)?(?:\s*+(?:{_BIG}|bn|mn|tn)\b|(?:m|k)\b)?"
_ORD = r"(?:\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth)"
_PATTERN = re.compile(
    rf"(?=\w)(?<![\w.,/@])(?:between\s++)?(?P<a>(?P<vague>{_VAGUE})|{_HALVES}|(?P<ord>{_ORD})|{_DIGITS}|{_WORDS})"
    rf"(?:\s*+(?:to|-|–|—|or|and)\s*+(?P<b>{_HALVES}|{_DIGITS}|{_WORDS}))?(?![\w/@]|\.\d)",
    re.IGNORECASE,
)
_FIGURE = re.compile(rf"({_DIGIT})\s*+(hundred)?\s*+(thousand|million|billion|trillion|bn|mn|tn|m|k)?", re.IGNORECASE)


@dataclass(frozen=True)
class Number:
    lo: float
    hi: float
    ordinal: bool
    start: int
    end: int
    text: str
    vague: bool = False  # "several dozen": a range of no stated size, equal only to another such

    @property
    def label(self) -> str:
        """Readable value: '3', '8–10', '1.5', '2000000000000000000' (from '2 million trillion')."""
        return _show(self.lo) if self.lo == self.hi else f"{_show(self.lo)}–{_show(self.hi)}"


def _show(x: float) -> str:
    """A figure's digits. Past 2**53 a float's own integer is not the figure's, but its shortest
    repr is (a figure has at most 15 significant digits)."""
    if x != int(x):
        return str(x)
    return str(int(x)) if abs(x) < 2**53 else format(Decimal(repr(x)).to_integral_value(), "f")


def _figure(digits: str) -> Fraction | None:
    """'1,500.25' → 1500.25 exactly; None past MAX_DIGITS significant digits."""
    whole, _, frac = digits.replace(",", "").partition(".")
    significant = (whole + frac).lstrip("0")
    if len(whole) > MAX_DIGITS or len(frac) > MAX_DIGITS or len(significant.rstrip("0")) > MAX_DIGITS:
        return None
    return Fraction(int(whole)) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)


def _words_value(words: list[str]) -> Fraction | None:
    """'one hundred and twenty' → 120, 'a thousand' → 1000, 'two million five hundred' → 2,000,500.
    Each of thousand/million/billion/trillion must be smaller than the one before it."""
    total, current, last_big, seen = 0, 0, None, False
    for i, w in enumerate(words):
        if w == "and" and 0 < i < len(words) - 1:
            continue
        if w == "a" and i == 0 and len(words) > 1:
            current, seen = 1, True
        elif w in UNITS:
            current, seen = current + UNITS[w], True
        elif w in TENS:
            current, seen = current + TENS[w], True
        elif w == "hundred":
            current, seen = max(current, 1) * 100, True
        elif w in SCALES:
            if last_big is not None and SCALES[w] >= last_big:
                return None
            total, current, last_big, seen = total + max(current, 1) * SCALES[w], 0, SCALES[w], True
        else:
            return None
    return Fraction(total + current) if seen else None


def _value(text: str, money: bool = False) -> Fraction | None:
    """The exact value of one number phrase, or None. `money`: a currency sign stands before it,
    so a glued "m" or "k" is a scale ("£2m")."""
    if text.isdecimal():  # the common case, "12"
        return Fraction(int(text)) if len(text) <= MAX_DIGITS else None
    t = " ".join(text.lower().replace("-", " ").split())
    if t == "half a dozen":
        return Fraction(6)
    if t in ("a dozen", "dozen"):
        return Fraction(12)
    parts = t.split()
    if len(parts) == 2 and parts[1] in ("dozen", "dozens") and parts[0] in UNITS:
        return Fraction(12 * UNITS[parts[0]])
    if len(parts) == 3 and parts[:2] == ["half", "a"] and parts[2] in SCALES:
        return Fraction(SCALES[parts[2]], 2)
    if len(parts) >= 5 and parts[-4:-1] == ["and", "a", "half"] and parts[-1] in SCALES:  # "two and a half million"
        head = _figure(parts[0]) if len(parts) == 5 and re.fullmatch(r"\d+(?:\.\d+)?", parts[0]) else _words_value(parts[:-4])
        return None if head is None else (head + Fraction(1, 2)) * SCALES[parts[-1]]
    m = re.fullmatch(r"(\d+)(st|nd|rd|th)", t)
    if m:
        return Fraction(int(m.group(1))) if len(m.group(1)) <= MAX_DIGITS else None
    if t in ORDINALS:
        return Fraction(ORDINALS[t])
    m = _FIGURE.fullmatch(t)
    if m:
        value = _figure(m.group(1))
        scale = m.group(3)
        if value is None or (scale in _MONEY_ABBR and not money):
            return None
        if m.group(2):
            value *= 100
        return value * (SCALES.get(scale) or _ABBR.get(scale) or _MONEY_ABBR.get(scale) or 1) if scale else value
    return _words_value(parts)


def word_value(text: str) -> Fraction | None:
    """'twenty-five' → 25, 'half a dozen' → 6, '1,000' → 1000, '4th' → 4, '1.5 million' →
    1500000, 'apple' → None; a vague quantity ('dozens') and an unreadable figure → None.

    >>> word_value("one hundred and twenty"), word_value("two dozen"), word_value("several")
    (Fraction(120, 1), Fraction(24, 1), None)
    """
    return _value(text)


def _vague_scale(text: str) -> int:
    """'several dozen' → 12, 'hundreds of thousands' → 100,000, 'tens of millions' → 10,000,000."""
    scale = 1
    for w in text.lower().split():
        w = w[:-1] if w.endswith("s") else w
        scale *= _VAGUE_SCALES.get(w, 1)
    return scale


def _scale_of(text: str) -> int:
    """The scale word a number phrase ends with ("12 million" → 10**6, "3bn" → 10**9), or 1."""
    m = re.search(r"(hundred|thousand|million|billion|trillion|bn|mn|tn)$", text.lower())
    return (SCALES.get(m.group(1)) or _ABBR[m.group(1)]) if m else 1


def _money(text: str, start: int) -> bool:
    return start > 0 and text[start - 1] in _CURRENCY


_FROM = re.compile(r"(?<!rang(?:ed|es) )(?<!ranging )(?<!var(?:ied|ies) )(?<!varying )\bfrom\s++$", re.IGNORECASE)


def _change(text: str, m: re.Match[str]) -> bool:
    """Whether "X to Y" is a change ("rose from 275 to 288": two figures), not a range
    ("eight to 10", "ranging from 8 to 10": one)."""
    sep = text[m.end("a") : m.start("b")].strip().lower()
    return sep == "to" and bool(_FROM.search(text[max(0, m.start() - 20) : m.start()]))


def find_numbers(text: str, vague: bool = False) -> list[Number]:
    """Every number or numeric range in `text`, normalised, with its span (a scale word that
    follows digits counts: "1.5 million" = 1,500,000, never equal to "1.5 billion"). With
    `vague`, vague quantities too ("several dozen", "thousands of")."""
    out = []
    for m in _PATTERN.finditer(text):
        a_text, b_text = m.group("a"), m.group("b")
        if m.group("vague"):
            if vague:
                s = _vague_scale(a_text)
                out.append(Number(float(2 * s), float(10 * s - 1), False, m.start("a"), m.end("a"), a_text, vague=True))
            b = _value(b_text, _money(text, m.start("b"))) if b_text else None
            if b is not None:
                out.append(Number(float(b), float(b), False, m.start("b"), m.end("b"), b_text))
            continue
        a = _value(a_text, _money(text, m.start("a")))
        if a is None:
            continue
        ordinal = m.group("ord") is not None
        b = _value(b_text, _money(text, m.start("b"))) if b_text else None
        if b is not None and not ordinal:
            scale = 1 if b_text.isdecimal() else _scale_of(b_text)
            if scale > 1 and _scale_of(a_text) == 1 and a * scale <= b:  # "10 to 12 million", "between 1 and 2 billion"
                a *= scale
        if b is not None and not ordinal and b > a and not _change(text, m):
            out.append(Number(float(a), float(b), False, m.start(), m.end(), m.group(0)))
        else:
            out.append(Number(float(a), float(a), ordinal, m.start("a"), m.end("a"), a_text))
            if b is not None:  # "two and 3" or a descending pair: two separate numbers
                out.append(Number(float(b), float(b), False, m.start("b"), m.end("b"), b_text))
    return out


def same_number(x: Number, y: Number) -> bool:
    return x.lo == y.lo and x.hi == y.hi and x.vague == y.vague


_LONG_FIGURE = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


def numbers_covered(claim: str, evidence: str) -> tuple[bool, list[str]]:
    """Does every number in `claim` appear (normalised) in `evidence`? Returns the missing ones.
    A vague quantity needs the same vague quantity ("several dozen" is not "12"), and a figure
    too long to read needs the same digits."""
    have = find_numbers(evidence, vague=True)
    missing = [n.text for n in find_numbers(claim, vague=True) if not any(same_number(n, h) for h in have)]
    long_have = set(_LONG_FIGURE.findall(evidence))
    missing += [f"{d[:8]}…({len(d)} digits)" for d in dict.fromkeys(_LONG_FIGURE.findall(claim)) if d not in long_have]
    return not missing, missing
