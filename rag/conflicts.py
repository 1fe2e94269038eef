"""Where the reports disagree on what the question asks.

No list of known disagreements: the question says what kind of value it wants (a count,
a colour, a clock time) and which thing it is about; values of that kind are read from the
evidence sentences of every article, next to words that mean the same thing as the
question's (the embedder decides that "terrorists" and "militants" are "attackers"). Two
or more different values from different articles make a conflict, reported with each
value's own sentences.

Linguistic rules, not topic rules: a number inside "35-year-old" or "4-hour" is an
attribute, "two of the militants" is a part of a group, and when the question asks how
many X there were (no verb), "five X were killed" counts the killed, not the X.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from index.lexical import tokens
from rag.focus import TOPIC_SHARE
from rag.frame import question_frame
from rag.numbers import find_numbers
from rag.types import Sentence
from rag.verify import COLOURS, COMMON_CAPS, names_in

_AUX = r"(?:were|was|are|is|did|do|does|have|has|had|got|been|be)"
# "the number of X" counts; "the registration number of X", "the phone number" name an identifier.
_COUNT_Q = re.compile(
    r"(?:\bhow many|\bhow much|(?:^|\b(?:the|a|total|exact|overall|final|official|what|which)\s+)number of)\s+(?P<rest>.*)", re.IGNORECASE
)
_AUX_WORDS = {"were", "was", "are", "is", "did", "do", "does", "have", "has", "had", "got", "been", "be", "will", "would"}
_FILLER = {"been", "there", "reportedly", "actually", "also", "all", "in", "the", "total", "eventually", "finally"}
_COLOUR_Q = re.compile(r"\b(?:colou?r)\b", re.IGNORECASE)
# "When did the assault begin?" asks its time too (a "when" that opens the question, not "… when it was attacked").
_TIME_Q = re.compile(r"\b(?:what time|at what hour|which time)\b|^\s*(?:and\s+|so\s+)?when\b(?!\s+(?:and|where)\b)", re.IGNORECASE)
_PASSIVE = re.compile(rf"\b{_AUX}\s+(?:been\s+|also\s+|reportedly\s+)*[a-z]+(?:ed|en|wn)\b", re.IGNORECASE)
_BOUNDARY = re.compile(r"[,;:.!?()—–]|\b(?:while|whereas|but|besides)\b", re.IGNORECASE)
_QUALIFIER = re.compile(r"(at least|up to|over|more than|around|about|nearly|almost|some|approximately)\s+$", re.IGNORECASE)
_HEDGE = re.compile(
    r"\b(could be|may have|might|allegedly|unconfirmed|early reports?|initial reports?|sources said|it is possible)\b", re.IGNORECASE
)
# What happened to the people a figure counts. Sentence embeddings put "killed" and "injured"
# side by side; news copy never does, so a figure of one outcome is not a version of another.
OUTCOMES = {
    "dead": re.compile(r"\b(kill|dead|die|died|death|toll|fatalit|lives|bodies|body|martyr)", re.IGNORECASE),
    "hurt": re.compile(r"\b(injur|wound|hurt|hospitali[sz]|treated)", re.IGNORECASE),
    "missing": re.compile(r"\b(missing|unaccounted)", re.IGNORECASE),
    "held": re.compile(r"\b(arrest|detain|custody|charged|apprehend|rounded)", re.IGNORECASE),
    "saved": re.compile(r"\b(rescu|surviv|evacuat|saved)", re.IGNORECASE),
}
_OUTCOME_WORD = {"dead": "killed", "hurt": "injured", "missing": "missing", "held": "arrested", "saved": "rescued"}
# The toll is what is asked ("what is the death toll", "how high was the toll"), not a detail
# of another question ("which minister cut the toll").
_TOLL_Q = re.compile(
    r"\b(?:what(?:\s+is|\s+was|'s)|how\s+(?:high|large|big)\s+(?:is|was|did|has|had))\s+the\s+(?:[a-z]+\s+){0,2}toll\b"
    r"|(?:\bwhat(?:\s+is|\s+was|'s)\s+the\s+(?:[a-z]+\s+){0,2}|^\s*)(?:body\s+count|casualty\s+(?:figure|count|toll)|death\s+(?:count|figure)|count\s+of\s+the\s+dead)\b",
    re.IGNORECASE,
)
# A figure followed by a unit measures, it does not count people or things.
_UNIT = re.compile(
    r"\s*(?:minutes?|hours?|days?|weeks?|months?|years?|seconds?|km|kilomet\w*|metres?|meters?|miles?|feet|foot|percent|per\s+cent|%|kg|tonnes?|tons?)\b",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"\b(\d{1,2}(?:[:.][0-5]\d)?\s*(?:am|pm|a\.m\.|p\.m\.)|(?:[01]?\d|2[0-3]):[0-5]\d)(?![\w:])", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
STOP_NOUNS = {
    "the",
    "a",
    "an",
    "of",
    "in",
    "on",
    "at",
    "and",
    "to",
    "who",
    "which",
    "that",
    "were",
    "was",
    "have",
    "had",
    "has",
    "been",
    "by",
    "from",
    "with",
    "for",
    "into",
    "while",
    "as",
    "or",
    "but",
    "including",
    "besides",
    "whom",
    "around",
    "near",
    "after",
    "before",
    "during",
    "inside",
    "outside",
    "behind",
    "under",
    "over",
    "through",
    "across",
    "since",
    "until",
}
QUESTION_WORDS = {
    "how",
    "many",
    "much",
    "what",
    "which",
    "when",
    "where",
    "who",
    "why",
    "number",
    "total",
    "there",
    "colour",
    "color",
    "time",
}


@dataclass(frozen=True)
class Slot:
    kind: str  # count | measure | colour | time | polarity
    noun: str  # what is counted / coloured ("attackers", "car"); may be ""
    verb: str  # what happened to it ("injured"); may be ""
    topic: str  # readable, for the answer
    context: frozenset[str] = frozenset()  # names (or, with `strict`, other content words) a mention's sentence is checked against
    strict: bool = False  # True: the sentence needs one of the context words; False: it must not name another place


@dataclass(frozen=True)
class Mention:
    value: str  # normalised key ("8–10", "white", "7pm")
    shown: str  # as written, with its qualifier ("at least six")
    sentence: Sentence
    hedged: bool


_ELSEWHERE = re.compile(r"\b(?i:in|at|from|of|near)\s+(?:the\s+)?([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)*)")


def in_context(text: str, names: frozenset[str], asked: frozenset[str] = frozenset()) -> bool:
    """Whether a sentence can state a figure for what the question names: it names it too, or
    it names no other place ("in Jajarkot", "at Kerman airport") that the figure could be for.
    "More than 280 people were wounded." counts for "the Kerman bombing"; "35 died in Rukum West"
    does not count for "Jajarkot". A place that shares a word with `asked` (all of the question's
    own nouns and names) is the question's place in the report's words ("the Karachi Police
    Office" for "the Karachi police headquarters"), not another one."""
    if not names or names & set(tokens(text)):
        return True
    return not any(
        set(tokens(m.group(1))) - names and not set(tokens(m.group(1))) & asked and m.group(1).split()[0] not in COMMON_CAPS
        for m in _ELSEWHERE.finditer(text)
    )


_NUMBER_WORD = r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|several|some|many|\d+)"
# A time other than the event's own: "last month", "two years ago", "earlier this year".
ANOTHER_TIME = re.compile(
    r"\b(?:(?:last|previous|past)\s+(?:week|month|year|decade|summer|winter|spring|autumn)"
    rf"|{_NUMBER_WORD}\s+(?:days?|weeks?|months?|years?|decades?)\s+(?:ago|earlier|before)"
    r"|earlier\s+(?:this|that|last)\s+(?:week|month|year)|(?:a|the)\s+(?:week|month|year)\s+before)\b",
    re.IGNORECASE,
)


def another_time(text: str, start: int, end: int, others: list[tuple[int, int]]) -> bool:
    """Whether the figure at text[start:end] is dated to another time than the event's: a
    marker such as "last month" or "two years ago" in its sentence whose nearest figure it is
    ("18 others were injured, the latest since the bombing that claimed 84 lives last month":
    84 is last month's, 18 is not). `others`: the spans of the sentence's other figures."""
    for m in ANOTHER_TIME.finditer(text):
        gaps = [max(a - m.end(), m.start() - b, 0) for a, b in [(start, end), *others]]
        if all(gaps[0] <= g for g in gaps[1:]):
            return True
    return False


def _admits(slot: Slot, text: str, context: frozenset[str]) -> bool:
    """Whether a sentence may state a value of the slot: with a `strict` slot it holds one of the
    context words (an age: all of them, the whole name); otherwise it names no other place."""
    if not slot.strict:
        return in_context(text, context)
    words = set(tokens(text))
    return context <= words if slot.noun == "age" else not context or bool(context & words)


def name_context(question: str) -> frozenset[str]:
    """The names a question is about ("in Rukum West", "the Kerman bombing"): a figure stated for
    another place or person is another count, not a version. Only names: the common words of a
    question ("the sinking", "the twin blasts") name the event itself, and a report that gives
    its figure in a sentence without them ("More than 280 people were wounded.") still counts."""
    words = question.split()
    rest = " ".join(words[1:])  # a capitalised first word is the sentence's, not a name
    return frozenset(tokens(" ".join(names_in(rest)))) - frozenset(tokens(" ".join(QUESTION_WORDS)))


# What a question measures, and the units a report measures it in (to a common base, so "500 km"
# and "310 miles" are one version). General English, no topic lists: a measure named by the
# question ("what magnitude", "how far", "the speed limit") and the units that carry it.
_UNITS: dict[str, dict[str, float]] = {
    "distance": {
        "km": 1000,
        "kms": 1000,
        "kilometre": 1000,
        "kilometres": 1000,
        "kilometer": 1000,
        "kilometers": 1000,
        "m": 1,
        "metre": 1,
        "metres": 1,
        "meter": 1,
        "meters": 1,
        "mile": 1609,
        "miles": 1609,
        "ft": 0.3048,
        "foot": 0.3048,
        "feet": 0.3048,
        "yards": 0.914,
        "yard": 0.914,
    },
    "speed": {"km/h": 1, "kmh": 1, "kph": 1, "mph": 1.609, "knots": 1.852, "knot": 1.852},
    "duration": {
        **dict.fromkeys(("second", "seconds", "secs", "sec"), 1),
        **dict.fromkeys(("minute", "minutes", "mins", "min"), 60),
        **dict.fromkeys(("hour", "hours", "hrs", "hr"), 3600),
        **dict.fromkeys(("day", "days"), 86400),
        **dict.fromkeys(("week", "weeks"), 604800),
    },
    "magnitude": {"magnitude": 1, "richter": 1},
    "share": {"percent": 1, "per cent": 1, "%": 1},
    "weight": {
        "kg": 1,
        "kilograms": 1,
        "kilogrammes": 1,
        "tonnes": 1000,
        "tonne": 1000,
        "tons": 1000,
        "ton": 1000,
        "pounds": 0.4536,
        "lb": 0.4536,
    },
}
_MEASURE_Q = (
    (
        re.compile(
            r"\bhow (?:far|close|near|deep|high|tall|long a distance)\b|\b(?:distance|depth|height|altitude|length)\b", re.IGNORECASE
        ),
        "distance",
    ),
    (re.compile(r"\bhow fast\b|\bspeed\b", re.IGNORECASE), "speed"),
    # "how long did they wait", "how much time passed": a duration ("how long is the bridge" finds none)
    (
        re.compile(r"\bhow long\b|\bhow much time\b|\bduration\b|\bhow many (?:seconds|minutes|hours|days|weeks)\b", re.IGNORECASE),
        "duration",
    ),
    (re.compile(r"\bmagnitude\b|\bhow (?:strong|powerful)\b.*\b(?:quake|earthquake|tremor)", re.IGNORECASE), "magnitude"),
    (re.compile(r"\b(?:percent|percentage|per cent|share|proportion)\b", re.IGNORECASE), "share"),
    (re.compile(r"\bhow heavy\b|\bweigh", re.IGNORECASE), "weight"),
)
# Which distance: a depth is not how far away something is. The words a report uses near a
# figure of each (general English), and the question words that ask for it.
_CUES = {
    "depth": (
        re.compile(r"\b(?:deep|depth)\b", re.I),
        re.compile(r"\b(?:depth|deep|below|beneath|down|bottom|surface|underwater|seabed|lakebed)\b", re.I),
    ),
    "height": (
        re.compile(r"\b(?:high|tall|height|altitude)\b", re.I),
        re.compile(r"\b(?:height|high|tall|altitude|above|elevation)\b", re.I),
    ),
    "length": (re.compile(r"\b(?:long|length)\b", re.I), re.compile(r"\b(?:long|length)\b", re.I)),
    "distance": (
        re.compile(r"\b(?:far|close|near|distance)\b", re.I),
        re.compile(r"\b(?:from|away|distance|far|off|short|out|north|south|east|west|(?:north|south)-?(?:east|west))\b", re.I),
    ),
}
# "the passenger limit", "its capacity": a figure right next to the measure's own word.
_LIMIT_Q = re.compile(r"\b(limit|capacity|quota|maximum|threshold|cap)\b", re.IGNORECASE)


_AGE_Q = re.compile(r"\bhow old\b|\bwhat (?:is|was|were) (?:the |his |her |their )?ages?\b", re.IGNORECASE)
_YEAR_Q = re.compile(r"\b(?:what|which) year\b", re.IGNORECASE)
_AGE_OF = re.compile(r"(\d{1,3})[\s-]*years?[\s-]*old\b|\baged\s+(\d{1,3})\b|\b[A-Z][\w'’-]+,\s+(\d{1,3}),", re.IGNORECASE)


def _strict_context(question: str, framing: str) -> frozenset[str]:
    """The question's content words other than its question and framing words."""
    return frozenset(tokens(question)) - frozenset(tokens(framing + " " + " ".join(QUESTION_WORDS)))


def measure_slot(question: str) -> Slot | None:
    """A question that asks for a measure (distance, speed, magnitude, share, weight), a limit,
    an age (of the person the question names) or a year (of the event its other words name)."""
    if _AGE_Q.search(question):
        names = name_context(question)
        # "how old is the captain": with no name to look for, the age must be told of the asked noun
        frame = None if names else question_frame(question)
        whose = " ".join(sorted(n for n in frame.nouns if n not in _AGE_WORDS)) if frame is not None else ""
        return Slot("measure", "age", whose, "the age", names, strict=True)
    if _YEAR_Q.search(question):
        return Slot("measure", "year", "", "the year", _strict_context(question, "year in"), strict=True)
    for pattern, family in _MEASURE_Q:
        if pattern.search(question):
            cue = next((name for name, (asks, _) in _CUES.items() if asks.search(question)), "") if family == "distance" else ""
            topic = {"distance": f"the {cue or 'distance'}", "share": "the share"}.get(family, "the " + family)
            return Slot("measure", family, cue, topic, name_context(question))
    m = _LIMIT_Q.search(question)
    if m:
        before = [w for w in _WORD.findall(question[: m.start()]) if w.lower() not in STOP_NOUNS | _AUX_WORDS | QUESTION_WORDS]
        noun = (before[-1].lower().removesuffix("'s") + " " if before else "") + m.group(1).lower()
        return Slot("measure", "limit", noun, f"the {noun}", name_context(question))
    return None


_AGE_WORDS = {"age", "ages", "year", "years", "old"}


def _told_of(whose: str, text: str, m: re.Match) -> bool:
    """Whether an age is told of one of the asked nouns (`whose`, space-separated; "" = anyone the
    question's names allow): the noun within four words of it ("the captain, 47,", "a 47-year-old
    captain"), not "the 20-year-old son" of a witness."""
    if not whose:
        return True
    near = _WORD.findall(text[: m.start()])[-4:] + _WORD.findall(text[m.end() :])[:2]
    stems = {w[:5] for w in whose.split()}
    return any(w.lower()[:5] in stems for w in near)


def _measure_mentions(slot: Slot, s: Sentence) -> list[Mention]:
    """Figures of the slot's measure: followed by one of its units ("450 metres", "6.4 magnitude"),
    or after "magnitude"; for a limit, a figure within four words of the limit's word ("licensed
    to carry 60", "allowed to carry only 43 passengers", "a limit of 40")."""
    out: list[Mention] = []
    text = s.text
    hedged = bool(_HEDGE.search(text))
    if slot.noun == "age":  # "Marcel Malanga, 21,", "a 22-year-old", "aged 21"
        return [Mention(v, v, s, hedged) for m in _AGE_OF.finditer(text) for v in m.groups() if v and _told_of(slot.verb, text, m)]
    if slot.noun == "year":
        return [Mention(m.group(0), m.group(0), s, hedged) for m in re.finditer(r"\b(?:19|20)\d\d\b", text)]
    for n in find_numbers(text):
        if n.ordinal or (n.lo == n.hi and 1900 <= n.lo <= 2100):
            continue
        before, after = text[: n.start], text[n.end :]
        if (
            re.search(r"\(\s*(?:about\s+|some\s+)?$", before)
            and re.search(r"\([^()]*\d[^()]*$", before) is None
            and re.search(r"\d", before[-25:])
        ):
            continue  # "500 km (310 miles)": the conversion in brackets is the same version
        qual = _QUALIFIER.search(before[-20:])
        shown = (qual.group(1).lower() + " " if qual else "") + n.text
        if slot.noun == "limit":
            near = " ".join(before.split()[-4:] + after.split()[:4]).lower()
            thing = slot.verb.split()[0] if " " in slot.verb else ""
            counted = _WORD.findall(after)[:1]
            if thing and counted and counted[0].lower() not in STOP_NOUNS and not counted[0].lower().startswith(thing[:5]):
                continue  # "allowed to carry only 20 motorcycles" is not the passenger limit
            if re.search(
                r"\b(?:limit|capacity|licensed|licenced|allowed|permitted|designed|built|room|only carry|could carry|can carry|quota|maximum|cap)\b",
                near,
            ):
                out.append(Mention(n.label, shown, s, hedged))
            continue
        unit = _unit_after(after, slot.noun)
        if (
            unit is None
            and slot.noun == "magnitude"
            and re.search(r"\b(?:magnitude|magnitude-|richter)\W*(?:of\s+)?$", before, re.IGNORECASE)
        ):
            unit = 1.0
        if unit is None:
            continue
        if slot.verb in _CUES:  # a depth is not how far away something is; the cue is in the figure's own clause
            window = " ".join(_BOUNDARY.split(before)[-1].split()[-6:] + _BOUNDARY.split(after, maxsplit=1)[0].split()[:7])
            if not _CUES[slot.verb][1].search(window):
                continue
        value = (n.lo + n.hi) / 2 * unit
        out.append(Mention(_figures(value), shown + _unit_text(after, slot.noun), s, hedged))
    return out


DURATION_MIN = (
    0.4  # cosine between the question and a duration's sentence (MiniLM): "20 minutes apart" 0.44-0.58, "one day after…" 0.21-0.39
)
_AN_HOUR = re.compile(r"\b(?:(?:about|around|nearly|almost|more than|over|roughly)\s+)?(half\s+an|an|one)\s+hour\b", re.IGNORECASE)


def _duration_mentions(s: Sentence) -> list[Mention]:
    """Durations in seconds: "77 minutes", "about an hour", "half an hour"; "1 hour, 14 minutes
    and 8 seconds" is one duration, not three (figures joined only by commas and "and" add up)."""
    text, hedged = s.text, bool(_HEDGE.search(s.text))
    spans: list[tuple[int, int, float, float]] = []  # (start, end, seconds, unit)
    for n in find_numbers(text):
        if n.ordinal:
            continue
        m = _UNIT_AFTER.match(text, n.end)
        unit = _UNITS["duration"].get(m.group(1).lower()) if m else None
        if unit is not None and m is not None:
            qual = _QUALIFIER.search(text[: n.start][-20:])
            spans.append((n.start - (len(qual.group(0)) if qual else 0), m.end(), (n.lo + n.hi) / 2 * unit, unit))
    for a in _AN_HOUR.finditer(text):
        if not any(st <= a.start() < en for st, en, _, _ in spans):
            spans.append((a.start(), a.end(), 1800.0 if a.group(1).lower().startswith("half") else 3600.0, 3600.0))
    spans.sort()
    merged: list[list] = []  # [start, end, seconds, smallest unit so far]
    for st, en, v, unit in spans:
        if merged and unit < merged[-1][3] and re.fullmatch(r"[\s,]*(?:and\s+)?", text[merged[-1][1] : st]):
            merged[-1][1:] = [en, merged[-1][2] + v, unit]  # hours, then minutes, then seconds: one duration
        else:
            merged.append([st, en, v, unit])
    return [Mention(_figures(v), text[st:en].strip(), s, hedged) for st, en, v, _ in merged]


def _same_measures(mentions: list[Mention]) -> list[Mention]:
    """Measures within 1% of one another are one version ("500 km" and "310 miles" = 499 km);
    each takes the key of the first one found."""
    keys: list[float] = []
    out = []
    for m in mentions:
        v = float(m.value)
        same = next((k for k in keys if abs(k - v) <= 0.01 * max(abs(k), abs(v))), None)
        if same is None:
            keys.append(v)
            same = v
        out.append(Mention(_figures(same), m.shown, m.sentence, m.hedged))
    return out


_UNIT_AFTER = re.compile(r"[\s-]*((?:km|kilomet(?:re|er)s?|miles?)\s+(?:per|an|a)\s+hour|km/h|per cent|%|[A-Za-z]+)", re.IGNORECASE)
_PER_HOUR = re.compile(r"(km|kilomet(?:re|er)s?|miles?)\s+(?:per|an|a)\s+hour", re.IGNORECASE)


def _unit_after(after: str, family: str) -> float | None:
    m = _UNIT_AFTER.match(after)
    if not m:
        return None
    unit = m.group(1).lower()
    per_hour = _PER_HOUR.fullmatch(unit)
    if per_hour:  # "130 kilometres per hour" is a speed, not a distance
        return (1.609 if per_hour.group(1).startswith("mile") else 1.0) if family == "speed" else None
    return _UNITS.get(family, {}).get(unit)


def _unit_text(after: str, family: str) -> str:
    m = _UNIT_AFTER.match(after)
    if not m or family == "magnitude":
        return ""
    return ("" if m.group(1) == "%" else " ") + m.group(1)


def _figures(value: float) -> str:
    """A measure in its base unit to three significant figures, as a key."""
    if value == 0:
        return "0"
    from math import floor, log10

    digits = 2 - int(floor(log10(abs(value))))
    r = round(value, digits)
    return f"{r:g}"


_WHY_Q = re.compile(r"\s*(?:why|how come|for what reason)\b", re.IGNORECASE)


def question_slot(question: str) -> Slot | None:
    """What kind of value the question asks for. None when it is not a count, colour or time."""
    q = " ".join(question.replace("?", " ").split())
    if re.search(r"\bhow much time\b|\bhow many (?:seconds|minutes|hours|days|weeks)\b", q, re.IGNORECASE):
        return measure_slot(q)  # a duration, not a count of "time" or of hours
    m = _COUNT_Q.search(q)
    if m:
        words = _WORD.findall(m.group("rest"))
        noun_words: list[str] = []
        verb = ""
        for i, w in enumerate(words):
            if w.lower() in _AUX_WORDS:
                rest = [x for x in words[i + 1 :] if x.lower() not in _FILLER]
                cand = rest[0].lower() if rest else ""
                # "were injured" / "were killed": a participle names what happened to them.
                verb = cand if re.fullmatch(r"[a-z]+(?:ed|en|wn|t)", cand) and cand not in ("involved", "present") else ""
                break
            if len(noun_words) >= 3 or (noun_words and re.fullmatch(r"[a-z]+ed", w.lower())):
                if re.fullmatch(r"[a-z]+ed", w.lower()) and _outcomes_of(w):
                    verb = w.lower()  # "how many people injured": an outcome right after the noun is what happened to them
                break
            noun_words.append(w)
        noun = " ".join(w for w in noun_words if w.lower() not in STOP_NOUNS)
        frame = question_frame(q)  # the parse, when there is one, says which noun is counted and which words are verbs
        if frame is not None:
            if verb and verb in frame.nouns:
                verb = ""  # "how many grenades did the gunmen hurl": after "did" comes the subject, not a participle
            if frame.thing and frame.thing.lower() in noun.lower().split():
                head = noun.lower().split()
                noun = " ".join(head[: head.index(frame.thing.lower()) + 1])  # "gunmen took part" → "gunmen"
            elif frame.thing and not _outcomes_of(noun):
                noun = frame.thing.lower()
        if not verb and " " not in noun and _outcomes_of(noun):  # "how many died", "the number of injured"
            # "how many of the dead were foreigners": the foreigners among the dead
            part = frame.thing.lower() if frame is not None and frame.thing and frame.thing.lower() != noun.lower() else "people"
            noun, verb = part, noun.lower()
        if not verb:  # "how many people lost their lives": what happened to them, in other words
            for i, w in enumerate(words[: len(noun_words) + 4]):
                kinds = _outcomes_of(w)
                # after the counted noun ("people lost their lives"), not the noun itself ("of the bodies")
                if len(kinds) == 1 and any(x.lower() not in STOP_NOUNS | _AUX_WORDS for x in words[:i]):
                    verb = _OUTCOME_WORD[kinds.pop()]
                    noun = " ".join(x for x in words[:i] if x.lower() not in STOP_NOUNS | _AUX_WORDS and not _outcomes_of(x))
                    noun = frame.thing.lower() if frame is not None and frame.thing else noun.split()[0] if noun else "people"
                    break
        what = f"{noun} {verb}".strip() if noun else (f"people {verb}" if verb else "them")
        topic = f"how much {what}" if re.match(r"how much\b", m.group(0), re.IGNORECASE) else f"the number of {what}"
        # Context is what the count is about ("in the building"), not how the question says it
        # happened: its verbs ("stormed", "involved") are left out.
        if _outcomes_of(verb):  # what happened to those counted is said: the question's names are enough context
            return Slot("count", noun.lower(), verb, topic, name_context(q) - frozenset(tokens(f"{noun} {verb}")))
        # Otherwise its other words say which figure ("from West Bengal … still unaccounted for");
        # its verbs ("stormed", "involved") and the words before "how many" are framing.
        verbs = " ".join(w for w in words if re.fullmatch(r"[a-z]+(?:ed|en|wn)", w.lower()))
        context = _strict_context(q, f"{noun} {verb} {verbs}") - frozenset(tokens(m.string[: m.start()]))
        if frame is not None:  # only its nouns and names: "hurl", "stormed", "took part" are how the question says it
            context = (frame.context & context) | (frame.context - frozenset(tokens(f"{noun} {m.string[: m.start()]}")))
        return Slot("count", noun.lower(), verb, topic, context, strict=True)
    if _TOLL_Q.search(q):  # "what is the death toll": a count of the dead, whatever the wording
        return Slot("count", "people", "killed", "the death toll", name_context(q))
    # "Why did the magnitude 7.8 quake kill so few?" asks for a reason: the measure it names is given, not asked.
    measure = None if _WHY_Q.match(q) else measure_slot(q)
    if measure is not None:
        return measure
    m = _COLOUR_Q.search(q)
    if m:
        # The thing coloured: the first content word after "colour" ("what colour was the car the
        # attackers used" → car), else the last one before it ("the car was what colour").
        content = lambda ws: [w for w in ws if w.lower() not in STOP_NOUNS | _AUX_WORDS | {"what", "which"}]  # noqa: E731
        after, before = content(_WORD.findall(q[m.end() :])), content(_WORD.findall(q[: m.start()]))
        noun = (after[0] if after else before[-1] if before else "").lower()
        frame = question_frame(q)
        if frame is not None and frame.thing:  # "the gunmen's car" colours the car; "… what colour was it" what "it" stands for
            noun = frame.thing.lower()
        return Slot("colour", noun, "", f"the colour of the {noun}" if noun else "the colour")
    m = _TIME_Q.search(q)
    if m:  # its other words ("the earthquake strike") say which event's time: a time of another event is not a version
        context = frozenset(tokens(q)) - frozenset(tokens(m.group(0) + " " + " ".join(QUESTION_WORDS)))
        return Slot("time", "", "", "the time", context, strict=True)
    return None


class _Similar:
    """Word/phrase similarity with the embedder, cached per call."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.cache: dict[str, np.ndarray] = {}
        self.recording = False  # True: note the phrases asked about and call everything similar
        self.pending: set[str] = set()

    def embed_pending(self) -> None:
        todo = sorted(p for p in self.pending if p not in self.cache)
        if todo:
            self.cache.update(zip(todo, self.embedder.embed(todo), strict=True))
        self.pending.clear()

    def vec(self, text: str) -> np.ndarray:
        key = text.lower()
        if key not in self.cache:
            self.cache[key] = self.embedder.embed([key])[0]
        return self.cache[key]

    def best(self, target: str, phrases: list[str]) -> float:
        if not phrases:
            return 0.0
        if self.recording:
            self.pending.update([target.lower(), *(p.lower() for p in phrases)])
            return 1.0
        missing = [p.lower() for p in phrases if p.lower() not in self.cache]
        if missing:
            for p, v in zip(missing, self.embedder.embed(missing), strict=True):
                self.cache[p] = v
        t = self.vec(target)
        return max(float(self.cache[p.lower()] @ t) for p in phrases)


def _phrases(words: list[str]) -> list[str]:
    """The noun phrase right after a number or colour: the words up to the first function
    word (at most three), and its last word, its likely head ("security checkpoints",
    "checkpoints")."""
    run = []
    for w in words[:3]:
        if w.lower() in STOP_NOUNS or w.lower() in _AUX_WORDS:
            break
        run.append(w)
    if not run:
        return []
    # A shorter prefix is a head only when a participle follows it ("terrorists firing").
    heads = [" ".join(run[: i + 1]) for i in range(len(run) - 1) if re.search(r"(?:ing|ed)$", run[i + 1].lower())]
    return list(dict.fromkeys([" ".join(run), run[-1], *heads]))


def _names_noun(after: str, noun: str) -> bool:
    """Whether the words right after a figure name the asked noun itself (its stem, not a synonym)."""
    first = _WORD.findall(after)[:2]
    stem = noun.split()[-1].lower()[:5] if noun.strip() else ""
    return bool(stem) and any(w.lower().startswith(stem) for w in first)


def _heads(words: list[str], noun: str) -> list[str]:
    """The phrases a one-word noun is compared with: the head of a compound, not the compound
    ("two passenger trains" counts trains, not passengers; "a silver Corolla car" is a car)."""
    phrases = _phrases(words)
    if " " in noun.strip() or not phrases:
        return phrases
    run = phrases[0].split()
    cut = next((i for i in range(1, len(run)) if re.search(r"(?:ing|ed)$", run[i].lower()) or run[i].lower() in _PAST), len(run))
    return [run[:cut][-1]]  # "terrorists firing" → terrorists; "passenger trains collided" → trains; "attackers came" → attackers


# Common irregular past forms: a word of these ends a noun phrase as "-ed" does ("ten attackers came in").
_PAST = frozenset(
    "came went took made left fled ran got held said told began broke drove fought hid hit kept lost met put rode saw sent "
    "shot stood struck threw tore wore won bore brought bought caught dug fell felt found gave heard led lay paid rose sat "
    "slept spoke spent stole stuck swept swam taught thought understood woke wrote".split()
)


def _count_mentions(
    slot: Slot,
    s: Sentence,
    sim: _Similar,
    noun_min: float,
    verb_min: float,
    context: frozenset[str],
    by_article: Callable[[Sentence], bool] | None = None,
    dated: bool = False,
) -> list[Mention]:
    """The figures of a sentence that count what the slot asks. `dated`: the question names
    another time itself ("how many died in last year's floods"), so figures dated so are kept."""
    out: list[Mention] = []
    text = s.text
    if not _admits(slot, text, context) and not (by_article is not None and by_article(s) and in_context(text, context, slot.context)):
        return out  # the figure is for another place, person or thing than the question asks about
    numbers = [n for n in find_numbers(text) if not n.ordinal]
    for n in numbers:
        if 1900 <= n.lo <= 2100 and n.lo == n.hi:
            continue
        if not dated and another_time(text, n.start, n.end, [(x.start, x.end) for x in numbers if x is not n]):
            continue  # "a bombing that claimed 84 lives last month": another event's figure
        after = text[n.end :]
        if re.match(r"-\w", after) or re.match(r"\s+of\s+(?:the|them|those|whom|which|these)\b", after, re.IGNORECASE):
            continue  # "35-year-old", "two of the militants"
        if _UNIT.match(after) and (_outcomes_of(slot.verb) or slot.noun in _GENERIC):
            continue  # "20 minutes", "700 metres" measure: never a count of the dead or the hurt
        including = _INCLUDING.search(text[: n.start])
        if (
            including
            and not _names_noun(after, slot.noun)
            and not (slot.noun not in _GENERIC and sim.best(slot.noun, _heads(_WORD.findall(after)[:2], slot.noun)) >= SYNONYM_MIN)
        ):
            # "four people dead, including two policemen": a part of the group, not a count of the
            # gunmen; it is the count asked when it names the asked noun in other words ("two cops")
            continue
        if n.lo == 1 and re.search(r"\b(?:the|this|that)\s+$", text[: n.start]):
            continue  # "the one killed by the Rangers" is a reference, not a count
        clause = _BOUNDARY.split(after, maxsplit=1)[0]
        nxt = next((m.start for m in find_numbers(clause)), None)
        clause = clause[:nxt] if nxt is not None else clause  # the next number starts another phrase
        words = _WORD.findall(clause)[:12]
        before_clause = _BOUNDARY.split(text[: n.start])[-1]
        if including:  # "four people dead, including two policemen": the part shares its group's outcome
            before_clause = _BOUNDARY.split(text[: including.start()].rstrip(" ,;—–("))[-1] + " " + text[including.start() : n.start]
        earlier = find_numbers(before_clause)
        before = _WORD.findall(before_clause[earlier[-1].end :] if earlier else before_clause)[-10:]
        wanted = _outcomes_of(slot.verb)
        near = _nearest_outcome(before, words[:4]) if wanted else None
        among = _AMONG.match(after)
        if wanted and near is None and among and (befell := _outcomes_of(among.group("who"))):
            near = (sorted(befell)[0], False)  # "six foreigners were among the 23 dead"
        if slot.verb and near is not None:
            # "the death toll rose to 103", "killed 84 people", "six were injured": the outcome word
            # nearest the figure says what it counts; one of another outcome is another count.
            if near[0] not in wanted:
                continue
            lead = _phrases(words)
            anyone = _everyone_it_befell(slot.noun, wanted)
            if lead:
                # "20 dead", "103 killed": the outcome itself follows the figure, which then counts
                # everyone it befell; that answers "how many people died", not "how many paramedics".
                bare = near[1] and _outcomes_of(lead[0]) == wanted
                people = lead[0].split()[0].lower() in _GENERIC  # "the arrest of 11 people" counts the suspects
                noun_ok = (
                    not slot.noun
                    or (bare and anyone)
                    # "killed 23 people" counts everyone too: no version of how many foreigners died
                    or (not bare and ((people and anyone) or (not people and sim.best(slot.noun, lead) >= noun_min - 0.05)))
                )
            else:  # "rose to 103 on Thursday": what is counted was named before the figure
                noun_ok = not slot.noun or anyone or sim.best(slot.noun, [" ".join(before)]) >= noun_min - 0.05
        elif (
            slot.verb
            and not wanted
            and slot.noun not in _GENERIC
            and _names_noun(after, slot.noun)
            and not _other_happened(clause, slot.verb)
        ):
            # "how many fire engines were sent": "eighteen fire engines attended" names the asked
            # thing itself; a verb that is no outcome ("sent", "loaded") is only how it is said.
            noun_ok = True
        elif slot.verb:
            if not words or sim.best(slot.verb, words) < verb_min:
                continue
            if wanted and not any(_outcomes_of(w) & wanted for w in words):
                continue  # an outcome was asked and the figure's own clause does not name it: another count
            # "six injured": the verb is the head; otherwise the noun must match, a little looser.
            noun_ok = not slot.noun or words[0].lower() == slot.verb or sim.best(slot.noun, _phrases(words)) >= noun_min - 0.05
        elif not words:
            continue
        else:
            noun_ok = bool(slot.noun) and sim.best(slot.noun, _heads(words, slot.noun)) >= noun_min
            if noun_ok and (_PASSIVE.search(clause) or re.search(r"\b[a-z]+ed\s+$", text[: n.start])):
                continue  # "five terrorists were killed", "killed two terrorists" answer another question
        if not noun_ok:
            continue
        qual = _QUALIFIER.search(text[: n.start][-20:])
        shown = (qual.group(1).lower() + " " if qual else "") + n.text
        out.append(Mention(n.label, shown, s, bool(_HEDGE.search(text))))
    return out + _single_mentions(slot, s)


# "six foreigners were among the (23) dead": the figure counts a part of those the outcome befell.
_AMONG = re.compile(r"\s+[\w'’-]+(?:\s+[\w'’-]+)?\s+(?:were|was|are|is)\s+among\s+(?:the\s+|those\s+)?(?:[\d,]+\s+)?(?P<who>\w+)", re.I)


_SINGLE = re.compile(r"\b(?:a single|one single|a|an)\s+", re.IGNORECASE)


def _single_mentions(slot: Slot, s: Sentence) -> list[Mention]:
    """ "lobbed a grenade" against "threw six hand grenades": a singular noun with "a" is a count
    of one when it is the asked noun itself (its stem, not a synonym: "a group of gunmen" is no
    count of gunmen). Only for questions without an outcome ("how many grenades did they
    throw"): "a policeman was killed" is one of the dead, not their number."""
    if slot.verb or not slot.noun.strip():
        return []
    plural = slot.noun.split()[-1].lower()
    singular = plural[:-1] if plural.endswith("s") else ""
    if len(singular) < 3:
        return []  # "men", "people": no regular singular to look for
    out = []
    for m in _SINGLE.finditer(s.text):
        after = s.text[m.end() :]
        words = _WORD.findall(after)[:2]
        head = next((w for w in words if w.lower() == singular), None)
        if head is None:
            continue  # "a group of gunmen", "a dozen grenades", "a few bombs": no single one of the asked noun
        clause = _BOUNDARY.split(after, maxsplit=1)[0]
        if _PASSIVE.search(clause) or _outcomes_of(" ".join(_WORD.findall(s.text[: m.start()])[-1:])):
            continue  # "a grenade was found", "killed a policeman": another question's count
        shown = s.text[m.start() : m.end()] + " ".join(words[: words.index(head) + 1])
        out.append(Mention("1", shown.strip(), s, bool(_HEDGE.search(s.text))))
    return out


_GENERIC = {"people", "persons", "person", "individuals", "victims"}
_INCLUDING = re.compile(r"\bincluding\s+(?:at least\s+|some\s+)?$", re.IGNORECASE)
# Cosine (MiniLM) at which a noun is the asked one in other words: "cops" 0.82 and "policemen" 0.86
# for "police officers"; "policemen" for "gunmen" is 0.555, a neighbour, not a synonym.
SYNONYM_MIN = 0.7
# The name an outcome gives everyone it befell: the arrested are suspects, the dead victims.
_BEFELL = {"held": ("suspect", "detainee"), "dead": ("victim", "fatalit"), "hurt": ("victim", "casualt"), "saved": ("survivor",)}


def _everyone_it_befell(noun: str, outcomes: set[str]) -> bool:
    """Whether the asked noun names no group of its own, only those the outcome befell
    ("how many people were killed", "how many suspects were arrested")."""
    noun = noun.lower()
    return noun in _GENERIC or any(noun.startswith(stem) for o in outcomes for stem in _BEFELL.get(o, ()))


def _other_happened(clause: str, verb: str) -> bool:
    """Whether the figure's own clause says something else happened to what it counts
    ("two fire engines were damaged" is no count of those sent): another participle, or an outcome."""
    m = _PASSIVE.search(clause)
    return bool(_outcomes_of(clause)) or (m is not None and not m.group(0).lower().endswith(verb.lower()))


def _outcomes_of(text: str) -> set[str]:
    return {name for name, pattern in OUTCOMES.items() if pattern.search(text)} if text else set()


def _nearest_outcome(before: list[str], after: list[str]) -> tuple[str, bool] | None:
    """The outcome (dead, hurt, …) named by the word nearest a figure, within a few words before
    it (ten) or after it (four), and whether that word comes after it; None when none is near."""
    best: tuple[int, str, bool] | None = None
    for dist, w in enumerate(reversed(before), start=1):
        kinds = _outcomes_of(w)
        if kinds:
            best = (dist, sorted(kinds)[0], False)
            break
    for dist, w in enumerate(after, start=1):
        kinds = _outcomes_of(w)
        if kinds:
            if best is None or dist <= best[0]:
                best = (dist, sorted(kinds)[0], True)
            break
    return None if best is None else (best[1], best[2])


def _colour_mentions(slot: Slot, s: Sentence, sim: _Similar, noun_min: float) -> list[Mention]:
    out = []
    for c in COLOURS:
        for m in re.finditer(rf"\b{c}\b", s.text, re.IGNORECASE):
            words = _WORD.findall(s.text[m.end() :])[:4]
            if not slot.noun or sim.best(slot.noun, _heads(words, slot.noun)) >= noun_min:
                value = "grey" if c == "gray" else c
                out.append(Mention(value, value, s, bool(_HEDGE.search(s.text))))
    return out


def clock_key(text: str) -> str:
    """A clock time on a 24-hour clock: "7.20 pm" → "19:20", "7pm" → "19:00", "18:56" → "18:56".

    >>> clock_key("7.20 p.m."), clock_key("12 am"), clock_key("6:55 pm")
    ('19:20', '00:00', '18:55')
    """
    t = text.lower().replace(" ", "").replace("a.m.", "am").replace("p.m.", "pm")
    m = re.fullmatch(r"(\d{1,2})(?:[:.](\d\d))?(am|pm)?", t)
    if not m:
        return t
    h, minutes = int(m.group(1)) % (12 if m.group(3) else 24), m.group(2) or "00"
    return f"{h + (12 if m.group(3) == 'pm' else 0):02d}:{minutes}"


def _time_mentions(s: Sentence) -> list[Mention]:
    return [Mention(clock_key(m.group(1)), m.group(1), s, bool(_HEDGE.search(s.text))) for m in _CLOCK.finditer(s.text)]


def find_conflicts(
    question: str,
    evidence: list[Sentence],
    embedder,
    noun_min: float = 0.55,
    verb_min: float = 0.6,
    share: Callable[[str], float | None] | None = None,
    article_text: Callable[[Sentence], str] | None = None,
) -> tuple[Slot | None, list[Mention], bool]:
    """(slot, mentions of its values in the evidence, whether different articles disagree).
    Questions that ask for no count, colour or time are checked for opposite statements instead.
    `share(token)`: the token's share of all the corpus's sentences (`BM25.share`), if known.
    `article_text(sentence)`: the text of the sentence's article, if known: a report's figure
    need not repeat what its article is about ("the assault on the KPO") when the article says it
    elsewhere; a sentence that names another place is still no version (`in_context`)."""
    slot = question_slot(question)
    sim = _Similar(embedder)
    if slot is None:
        named = _role_conflict(question, evidence, embedder)
        if named is not None:
            return named
        claimed = _claimant_conflict(question, evidence)
        if claimed is not None:
            return claimed
        caused = _cause_conflict(question, evidence, sim)
        if caused is not None:
            return caused
        coloured = _thing_colour_conflict(question, evidence, sim, noun_min)
        if coloured is not None:
            return coloured
        pslot, pmentions = find_polarity_conflict(question, evidence)
        if pslot is None:
            return _yesno_conflict(question, evidence, article_text)
        return pslot, pmentions, True
    mentions: list[Mention] = []
    # Context words that most sentences share ("Karachi", "police") say nothing; keep the rarer ones.
    df = {t: sum(t in set(tokens(s.text)) for s in evidence) for t in slot.context}
    context = frozenset(t for t, n in df.items() if 0 < n <= 0.4 * len(evidence))
    if share is not None and all((share(t) or 0.0) > TOPIC_SHARE for t in context):
        # Only the corpus's own topic words ("KPO" in reports of the KPO attack, rag/focus.py):
        # they name the event every report is about, and a report's figure need not repeat them.
        context = frozenset()
    if slot.noun == "age":
        context = slot.context  # the person's name: an age stated for anyone else is no version
    dated = bool(ANOTHER_TIME.search(question))
    admitted: dict[str, bool] = {}  # per article: whether it holds the context (read once per article)

    def by_article(s: Sentence) -> bool:
        if article_text is None or not slot.strict or not context:
            return False
        if s.article_id not in admitted:
            admitted[s.article_id] = _admits(slot, article_text(s), context)
        return admitted[s.article_id]

    # A first pass that accepts every phrase only lists the phrases to compare, so they are
    # embedded in one batch (about ten times faster than one call each); the second pass decides.
    for recording in (True, False) if slot.kind not in ("time", "measure") else (False,):
        sim.recording = recording
        mentions = []
        for s in evidence:
            if slot.kind == "count":
                mentions += _count_mentions(slot, s, sim, noun_min, verb_min, context, by_article, dated)
            elif slot.kind == "measure" and slot.noun == "duration":
                mentions += _duration_mentions(s) if _admits(slot, s.text, context) else []
            elif slot.kind == "measure":
                # an age's sentence names the whole person ("Marcel Malanga", not his father "Christian Malanga")
                mentions += _measure_mentions(slot, s) if _admits(slot, s.text, context) else []
            elif slot.kind == "colour":
                mentions += _colour_mentions(slot, s, sim, noun_min)
            else:
                mentions += _time_mentions(s) if _admits(slot, s.text, context) else []
        if recording:
            sim.embed_pending()
    if slot.noun == "duration" and mentions:
        # "one day after a strike in Beirut" is a duration, not the one asked: a version's sentence
        # must be about what the question is about (the embedder judges it; no topic words).
        texts = list(dict.fromkeys(m.sentence.text for m in mentions))
        vectors = np.asarray(embedder.embed([question, *texts]))
        about = {t for t, v in zip(texts, vectors[1:] @ vectors[0], strict=True) if v >= DURATION_MIN}
        mentions = [m for m in mentions if m.sentence.text in about]
    if slot.kind == "measure" and slot.noun not in ("age", "year"):
        mentions = _same_measures(mentions)
    return slot, mentions, _differ(mentions) or (slot.kind == "count" and _revised(mentions))


# A figure said to have changed: "had earlier reported the arrest of 11", "the toll rose to 103".
_REVISION = re.compile(
    r"\b(?:earlier|initially|at first|first reports?|rose|risen|climbed|raised|revised|jumped|increased|lowered|up from|down from)\b",
    re.IGNORECASE,
)


def _revised(mentions: list[Mention]) -> bool:
    """Two different figures in one article, one of them told as a change ("earlier reported
    11 … now 35"): the figure changed over time, and the timeline shows each with its source."""
    by_article: dict[str, set[str]] = {}
    for m in mentions:
        by_article.setdefault(m.sentence.article_id, set()).add(m.value)
    return any(len(by_article[m.sentence.article_id]) >= 2 and _REVISION.search(m.sentence.text) for m in mentions)


def _differ(mentions: list[Mention]) -> bool:
    """Two or more different values, from two or more articles."""
    return len({m.value for m in mentions}) >= 2 and len({m.sentence.article_id for m in mentions}) >= 2


def _role_conflict(question: str, evidence: list[Sentence], embedder) -> tuple[Slot, list[Mention], bool] | None:
    """The names each article gives the role a name question asks about, when they differ;
    None otherwise (the yes/no check may still find a disagreement)."""
    found = role_mentions(question, evidence, embedder)
    if found is None or not _differ(found[1]):
        return None
    return found[0], found[1], True


def role_mentions(question: str, evidence: list[Sentence], embedder) -> tuple[Slot, list[Mention]] | None:
    """The names each article gives the role a name question asks about (rag/rolenames.py),
    one value per person; None when the question asks no role's name."""
    from rag.rolenames import ROLE_MIN, role_of, role_versions, same_person

    asked = role_of(question)
    if asked is None:
        return None
    head, _, _, phrase = asked
    sim = _Similar(embedder)
    stem = head.removesuffix("s")

    def is_role(word: str) -> bool:
        w = word.lower().removesuffix("’s").removesuffix("'s")
        if len(w) < 3 or w in STOP_NOUNS or w in _AUX_WORDS:
            return False
        # the same word, or one of its family ("official" / "officer"), or one of like meaning
        return w.removesuffix("s") == stem or (len(w) >= 5 and w[:5] == head[:5]) or sim.best(head, [w]) >= ROLE_MIN

    sim.recording = True  # the first pass lists the words to compare, embedded in one batch
    role_versions(question, evidence, is_role)
    sim.recording = False
    sim.embed_pending()
    keys: list[str] = []
    mentions = []
    for key, shown, s in role_versions(question, evidence, is_role):
        same = next((k for k in keys if same_person(k, key)), None)
        if same is None:
            keys.append(key)
        elif len(key) > len(same):  # the fuller form of a name names its version
            keys[keys.index(same)] = key
            mentions = [Mention(key, m.shown, m.sentence, m.hedged) if m.value == same else m for m in mentions]
        mentions.append(Mention(same if same is not None and len(same) >= len(key) else key, shown, s, bool(_HEDGE.search(s.text))))
    return Slot("name", head, "", f"the name of the {phrase}"), mentions


def _claimant_conflict(question: str, evidence: list[Sentence]) -> tuple[Slot, list[Mention], bool] | None:
    """Who each article says claimed or was behind the event (rag/claimants.py), when they
    differ; None otherwise (the polarity check then reads the question as a yes/no one)."""
    from rag.claimants import asks_claimant, claims_in, same_claimant

    if not asks_claimant(question):
        return None
    keys: list[str] = []
    mentions = []
    for s in evidence:
        if ANOTHER_TIME.search(s.text):
            continue  # "the group claimed last month's bombing": another event's claim
        for key, shown in claims_in(s):
            same = next((k for k in keys if same_claimant(k, key)), None)
            if same is None:
                keys.append(key)
            mentions.append(Mention(same or key, shown, s, bool(_HEDGE.search(s.text))))
    if not _differ(mentions):
        return None
    return Slot("claim", "", "", "who claimed or was behind it"), mentions, True


_FOUR_WORDS = re.compile(r"(?:\s*\S+){0,4}")


# "What vehicle did they arrive in?", "which kind of car": the thing asked for, by its noun.
_WHICH_THING = re.compile(r"\b(?:what|which)\s+(?:(?:kind|type|sort|make)\s+of\s+)?(?P<noun>[a-z]{3,})\b", re.IGNORECASE)


def _thing_colour_conflict(
    question: str, evidence: list[Sentence], sim: _Similar, noun_min: float
) -> tuple[Slot, list[Mention], bool] | None:
    """A question for a thing ("what vehicle did the attackers use") whose articles describe it
    in different colours ("a white vehicle" / "a silver Corolla car"): the colours are the versions."""
    m = _WHICH_THING.search(question)
    if m is None or m.group("noun").lower() in STOP_NOUNS | _AUX_WORDS:
        return None
    noun = m.group("noun").lower()
    slot = Slot("colour", noun, "", f"the {noun}")
    mentions = [_described(x, noun) for s in evidence for x in _colour_mentions(slot, s, sim, noun_min)]
    return (slot, mentions, True) if _differ(mentions) else None


def _described(m: Mention, noun: str) -> Mention:
    """The colour with the words it describes, as the article writes them ("silver Indus Corolla car")."""
    at = re.search(rf"\b{re.escape(m.value)}\b", m.sentence.text, re.IGNORECASE)
    after = _WORD.findall(m.sentence.text[at.end() :])[:4] if at else []
    stem = noun[:5]
    upto = next((i for i, w in enumerate(after) if w.lower().startswith(stem)), None)  # up to the asked noun itself
    words = [" ".join(after[: upto + 1])] if upto is not None else _phrases(after)
    return dataclasses.replace(m, shown=f"{at.group(0)} {words[0]}" if at and words else m.shown)


def _cause_conflict(question: str, evidence: list[Sentence], sim: _Similar) -> tuple[Slot, list[Mention], bool] | None:
    """The causes articles give, when they differ (`rag.causes`); None otherwise."""
    from rag.causes import CAUSE_POOL, asks_cause, cause_versions, effect_words
    from rag.roles import parsed

    if not asks_cause(question):
        return None
    found = cause_versions(question, evidence[:CAUSE_POOL], sim.best, effect_words(question, parsed))
    mentions = [Mention(key, cause, s, bool(_HEDGE.search(s.text))) for key, cause, s in found]
    if not _differ(mentions):
        return None
    return Slot("cause", "", "", "the cause"), mentions, True


def _yesno_conflict(
    question: str, evidence: list[Sentence], article_text: Callable[[Sentence], str] | None = None
) -> tuple[Slot | None, list[Mention], bool]:
    """A yes/no question that some articles answer "yes" and others "no" (`rag.yesno`)."""
    from rag.roles import parsed
    from rag.yesno import core_of, yesno_versions

    core = core_of(question, parsed)
    if core is None:
        return None, [], False
    # the text just before a sentence, where the "she" of "She survived" was named
    previous = None if article_text is None else lambda s: article_text(s)[max(s.start - 400, 0) : s.start]
    found = yesno_versions(core, evidence, parsed, previous)
    said = {v: {s.article_id for a, s in found if a == v} for v in ("yes", "no")}
    if not (said["yes"] and said["no"]) or said["yes"] == said["no"]:
        return None, [], False
    words = set(tokens(f"{core.subject} {core.predicate}"))
    shown: dict[str, str] = {}  # each answer in the words of its best-ranked sentence
    for a, s in found:
        shown.setdefault(a, _excerpt(s.text, words))
    mentions = [Mention(a, shown[a], s, bool(_HEDGE.search(s.text))) for a, s in found]
    return Slot("polarity", "", "", f"“{question.strip()}”"), mentions, True


def _four_words_after(text: str, pos: int) -> str:
    """The first four words of `text[pos:]`, space-joined, read from `pos` on: splitting the
    whole rest of a sentence after every negation was quadratic on a long one.

    >>> _four_words_after("it did not  claim the attack at all", 10)
    'claim the attack at'
    """
    return " ".join(_FOUR_WORDS.match(text, pos).group(0).split())


_WH = frozenset(tokens("who whom whose what which when where why how did does do was were is are has have had any anyone anybody"))


def find_polarity_conflict(question: str, evidence: list[Sentence], min_cover: float = 0.75) -> tuple[Slot | None, list[Mention]]:
    """Sentences from different articles that state the question's predicate, some negated,
    some not: "TTP claimed responsibility" against "no group has claimed responsibility".
    Each version is shown as the words of its sentence that carry the predicate."""
    from rag.claims import LIGHT_WORDS
    from rag.verify import NEGATIONS

    words = set(tokens(question)) - _WH - LIGHT_WORDS
    if len(words) < 2:
        return None, []
    mentions = []
    for s in evidence:
        toks = tokens(s.text)
        if len(words & set(toks)) < min_cover * len(words):
            continue
        negated = any(set(tokens(_four_words_after(s.text, m.end()))) & words for m in NEGATIONS.finditer(s.text))
        mentions.append(Mention("no" if negated else "yes", _excerpt(s.text, words), s, bool(_HEDGE.search(s.text))))
    by_value: dict[str, set[str]] = {}
    for m in mentions:
        by_value.setdefault(m.value, set()).add(m.sentence.article_id)
    if len(by_value) < 2 or by_value["yes"] == by_value["no"] and len(by_value["yes"]) == 1:
        return None, []
    q = question.rstrip("?").strip()
    q = q[0].lower() + q[1:]
    topic = q if q.split()[0] in ("who", "which", "what", "whose", "when", "where", "how", "why") else "whether " + q
    return Slot("polarity", "", "", topic), mentions


def _excerpt(text: str, words: set[str]) -> str:
    """The shortest run of the sentence's words that holds its matches of `words`, with up to
    five words before it (the subject, a negation), e.g. "no terrorist group has claimed responsibility for the attack"."""
    ws = text.split()
    hits = [i for i, w in enumerate(ws) if set(tokens(w)) & words]
    if not hits:
        return text
    start, end = max(hits[0] - 5, 0), hits[-1] + 1
    return " ".join(ws[start:end]).strip(" ,;:“”\"'")
