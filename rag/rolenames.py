"""Who holds the role a question asks about, as each article names them.

"What is the name of the police chief?", "who was the lawyer for the teacher?": the question
names a role, and each report names the person in it in its own way, "police chief Marudut
Liberty Panjaitan", "Arun Kumar Mahanta, a senior section engineer", "the gunman, identified
by officials as Salvatore Ramos". Each article's name for the role is read from its evidence
sentences by the grammar of apposition (a role word right before or after a name, "named …
as", "identified … as"), the role word matched by meaning ("lawyer" for "attorney"). Names
that differ between articles (another person, or the same one spelled another way) are the
versions; a shorter form of a longer name ("Arredondo", "Pete Arredondo") is the same one.
An article that names several people in the role gives no single version and is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from index.lexical import tokens
from rag.types import Sentence
from rag.verify import COMMON_CAPS

# "what is the name of …", "what were the names of …", "who is/was the …", "name the …"
_NAME_Q = re.compile(
    r"^\s*(?:(?:what|which)\s+(?:is|was|are|were)\s+(?:the\s+)?(?:full\s+)?names?\s+of|who\s+(?:is|was|are|were)(?=\s+the\b)|name)\s+(?P<role>.+)$",
    re.IGNORECASE,
)
# Where a role's noun phrase ends: a preposition, a relative clause, a reporting frame.
_ROLE_END = re.compile(
    r"\b(?:for|of|at|in|on|from|with|by|who|whom|whose|that|which|when|where|according|during|after|before|behind|to)\b|[,;:]",
    re.IGNORECASE,
)
_PAST = frozenset("led took made gave sent held shot hit struck told said ran drove found".split())
_GENERIC = frozenset("man woman men women person people one individual someone boy girl child group".split())
_DETERMINERS = frozenset("the a an this that these those his her their its two three four both other".split())
# Titles before a name are part of the role, not of the name.
TITLES = frozenset(
    "Deputy Superintendent Inspector General Chief Minister President Prime Senior Officer Commissioner Police Governor "
    "Mayor Director Spokesman Spokeswoman Spokesperson Secretary Captain Capt Colonel Col Major Maj Lieutenant Lt Sergeant "
    "Sgt Commander Judge Justice Attorney Senator Sen Representative Rep Gen Dr Mr Mrs Ms Miss Sheriff Lawyer Station "
    "Additional Assistant Superintendent SSP DIG IG SP ASP DSP Chairman Vice Interior Home Foreign Federal Provincial "
    "District Regional Local State National Former Acting Brig Brigadier Admiral Marshal Constable Detective Agent".split()
)
# Words that make a role another rank of it: "deputy inspector general" is not the inspector general.
_RANKS = frozenset("deputy additional assistant vice acting former ex junior associate sub under".split())
_PARTICLES = r"(?:al|el|bin|ibn|abu|de|da|del|van|von|der|la|le|du)"
_NAME_RUN = re.compile(rf"\b[A-Z][\w’'\-]+(?:\s+(?:{_PARTICLES}[\s-]+)?[A-Z][\w’'\-]+)*")
_MONTHS_DAYS = frozenset(
    "January February March April May June July August September October November December "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
)
_BEFORE = re.compile(r"(?P<role>[\w’'-]+)(?:’s|'s)?\s*(?:,\s*|\s+(?:was|is|named|called|identified\s+as|as)\s+|\s+)$")
_AFTER = re.compile(r"^\s*,\s*(?:who\s+(?:is|was)\s+)?(?:a|an|the)?\s*(?P<words>(?:[\w’'-]+\s+){0,5}[\w’'-]+)")
_IDENTIFIED = re.compile(r"\b(?:identified|named)\b(?P<between>(?:\s+[\w’'-]+){0,4}?)\s+as\s+$", re.IGNORECASE)
ROLE_MIN = 0.6  # cosine between a sentence's word and the question's role noun (MiniLM: "lawyer"/"attorney" 0.75)


@lru_cache(maxsize=256)  # asked once per evidence sentence of a question
def role_of(question: str) -> tuple[str, frozenset[str], frozenset[str], str] | None:
    """(role noun, its modifiers, the words of its complement, the role as the question says
    it) a name question asks about ("the local police chief of Samosir who gave the numbers" →
    chief, {local, police}, {samosir}, "local police chief"); None for a generic role ("the
    young man who…") or a plural one."""
    m = _NAME_Q.match(" ".join(question.replace("?", " ").split()))
    if m is None:
        return None
    role = m.group("role")
    words = []
    for w in re.findall(r"[\w’'-]+|[,;:]", _ROLE_END.split(role, maxsplit=1)[0]):
        if words and (re.fullmatch(r"[a-z]+ed", w) or w in _PAST or w.lower() in _DETERMINERS):
            break  # "the two people named among the dead", "the engineer the CBI arrested": a clause of its own
        if w.lower() not in _DETERMINERS:
            words.append(w.lower())
    if not words or words[-1] in _GENERIC or words[-1].endswith(("'s", "’s")):
        return None
    if words[-1].endswith("s") and not words[-1].endswith("ss"):
        return None  # several people ("the officers who led…"): a list, not one name to compare
    # Which one: a complement right after the role ("of the school district's police"), up to a
    # relative clause or a participle ("who gave…", "giving out…"), which says what they did.
    after = role[len(_ROLE_END.split(role, maxsplit=1)[0]) :]
    complement = re.split(r"\b(?:who|whom|whose|that|which|when|where)\b|\b\w+ing\b|[,;:]", after, maxsplit=1)[0]
    return words[-1], frozenset(words[:-1]), frozenset(tokens(complement)), " ".join(words)


def _name(run: str, question_words: set[str]) -> str:
    """The name in a run of capitalised words: titles before it dropped; "" if nothing is left,
    or if it is only words the question itself says."""
    words = run.split()
    while words and (words[0].strip("’'") in TITLES or words[0] in COMMON_CAPS):
        words.pop(0)
    if not words or any(w in _MONTHS_DAYS or w in COMMON_CAPS or w in TITLES for w in words):
        return ""
    if set(tokens(" ".join(words))) <= question_words or all(w.isupper() for w in words):
        return ""  # the question's own names; an acronym ("ANI", "DPS") names a body, not a person
    return " ".join(w.removesuffix("’s").removesuffix("'s") for w in words)


def names_in_role(question: str, sentence: Sentence, is_role: Callable[[str], bool], question_words: set[str]) -> list[tuple[str, int]]:
    """(name, how well the role fits the question's) for each name the sentence puts in the
    asked role: the question's modifiers of the role among the role's own words ("senior section
    engineer Arun Kumar Mohanta" against "section engineer Mohammad Amir Khan"), plus the words
    of its complement anywhere in the sentence ("of the school district's police")."""
    asked = role_of(question)
    if asked is None:
        return []
    modifiers = frozenset(tokens(" ".join(asked[1])))
    asked_words = {w.lower() for w in re.findall(r"[\w’'-]+", question)}
    complement = len(asked[2] & frozenset(tokens(sentence.text)))
    text = sentence.text
    found: list[tuple[str, int]] = []
    for run in _NAME_RUN.finditer(text):
        words = run.group(0).split()
        lead = []  # a capitalised role before the name is its role ("Engineer Arun Mahanta", "Police Chief …")
        while len(words) > 1 and (words[0] in TITLES or words[0] in COMMON_CAPS or is_role(words[0])):
            lead.append(words.pop(0))
        name = _name(" ".join(words), question_words)
        if not name:
            continue
        before = text[max(0, run.start() - 60) : run.start()]
        role_words: list[str] = []
        b = _BEFORE.search(before)
        # "police chief Marudut Panjaitan", "the teacher's lawyer, Don Flanary", "Engineer Arun Mahanta"
        if any(is_role(w) for w in lead) or (b and is_role(b.group("role"))):
            role_words = re.findall(r"[\w’'-]+", before)[-4:] + lead
        a = _AFTER.match(text[run.end() : run.end() + 80])
        if not role_words and a:  # "Arun Kumar Mahanta, a senior section engineer"
            words = re.findall(r"[\w’'-]+", a.group("words"))
            if any(is_role(w) for w in words):
                role_words = words
        i = _IDENTIFIED.search(before)
        if not role_words and i:  # "named the attacker as …", "the gunman, identified by officials as …"
            window = re.findall(r"[\w’'-]+", before[: i.start()])[-3:] + re.findall(r"[\w’'-]+", i.group("between"))
            if any(is_role(w) for w in window):
                role_words = window
                rest = re.match(rf"^\s*(?:and|&)\s+({_NAME_RUN.pattern})", text[run.end() :])
                second = _name(rest.group(1), question_words) if rest else ""
                name = f"{name} and {second}" if second else name  # "identified the bombers as A and B"
        if {w.lower() for w in role_words} & _RANKS - asked_words:
            continue  # "Additional Inspector General …", "the deputy inspector general": another rank than asked
        if role_words:
            found.append((name, len(modifiers & frozenset(tokens(" ".join(role_words)))) + complement))
    return found


def same_person(a: str, b: str) -> bool:
    """One name is the other or a shorter form of it ("Arredondo" / "Pete Arredondo")."""
    ta, tb = set(tokens(a)), set(tokens(b))
    return bool(ta) and bool(tb) and (ta <= tb or tb <= ta)


def role_versions(question: str, evidence: list[Sentence], is_role: Callable[[str], bool]) -> list[tuple[str, str, Sentence]]:
    """(key, name as written, sentence) for each article's name for the asked role; an article
    that names several different people in it gives none."""
    question_words = set(tokens(question))
    by_article: dict[str, list[tuple[str, int, Sentence]]] = {}
    for s in evidence:
        for name, fit in names_in_role(question, s, is_role, question_words):
            by_article.setdefault(s.article_id, []).append((name, fit, s))
    out: list[tuple[str, str, Sentence]] = []
    # The role as the question words it ("the police spokesman" against a government one): the
    # sentences that say most of which role it is, in any article.
    best = max((f for found in by_article.values() for _, f, _ in found), default=0)
    for found in by_article.values():
        kept = [(n, s) for n, f, s in found if f == best]
        if not kept:
            continue
        longest = max((n for n, _ in kept), key=len)
        if not all(same_person(n, longest) for n, _ in kept):
            continue  # several people in the role: no single version
        out += [(longest.lower(), n, s) for n, s in kept]
    return out
