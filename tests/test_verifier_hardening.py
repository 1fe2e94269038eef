"""The verifier is not fooled by stitched claims, swapped roles, numbers that count something
else, scale words, hedges or denials (issue 11). The sentences are our own, not the eval pairs."""

import pytest

from rag.claims import attribute
from rag.numbers import find_numbers, numbers_covered
from rag.roles import misplaced, role_swap
from rag.types import Sentence
from rag.verify import HeuristicVerifier, hard_checks


def sent(article: str, n: int, text: str) -> Sentence:
    return Sentence(id=f"{article}#{n}", article_id=article, n=n, start=0, end=len(text), text=text)


@pytest.mark.parametrize(
    "text,value",
    [
        ("1.5 million people", 1_500_000),
        ("a $2.3bn deal", 2_300_000_000),
        ("two dozen arrests", 24),
        ("310 billion pounds", 310e9),
        ("a 5 m wall", 5),
    ],
)
def test_scale_words_belong_to_their_number(text, value):
    assert find_numbers(text)[0].lo == value


def test_million_is_not_billion():
    assert not numbers_covered("The bill was 1.5 billion dollars.", "The bill came to 1.5 million dollars.")[0]


def test_a_number_that_counts_something_else_is_not_support():
    evidence = "The blast injured 14 people and killed 3 others, the governor said."
    assert not hard_checks("The blast killed 14 people.", evidence)[0]
    assert hard_checks("The blast injured 14 people.", evidence)[0]


def test_hedged_evidence_does_not_support_a_flat_claim():
    evidence = "Investigators said the fire may have been started by a faulty heater in the kitchen."
    assert not hard_checks("The fire was started by a faulty heater in the kitchen.", evidence)[0]
    assert hard_checks("Investigators said the fire may have been started by a faulty heater.", evidence)[0]


def test_roles_must_hold():
    evidence = "Lakeside Rovers beat Harbour City 3-1 in the cup final on Sunday."
    assert role_swap("Harbour City beat Lakeside Rovers 3-1 in the cup final.", evidence)
    assert not role_swap("Lakeside Rovers beat Harbour City in the final.", evidence)
    passive = "Harbour City were beaten by Lakeside Rovers in the cup final."
    assert not role_swap(passive, evidence), "the same roles in the passive voice"
    assert role_swap("Omar Said shot the guard.", "The guard shot Omar Said at the gate, police said.")


def test_a_denial_is_not_a_confirmation_but_a_derived_word_is_the_same_verb():
    assert misplaced("The club confirmed that the coach had resigned.", "The club denied that the coach had resigned.")
    assert not misplaced("Ana Ruiz owns the bakery.", "The owner of the bakery, Ana Ruiz, said it would reopen.")


def test_support_comes_from_one_sentence_or_its_neighbour_never_a_stitch():
    v = HeuristicVerifier()
    far = [
        sent("a", 2, "A 30-year-old cook was treated for burns at the scene."),
        sent("a", 9, "A waiter was arrested on Friday over the theft."),
    ]
    stitched = attribute("A 30-year-old waiter was arrested on Friday over the theft.", far, v)
    assert not stitched.support.supported
    near = [
        sent("b", 4, "A fire destroyed the Old Mill bakery on Tuesday."),
        sent("b", 5, "It had been owned by the Ruiz family since 1961."),
    ]
    joined = attribute("The Old Mill bakery, owned by the Ruiz family since 1961, was destroyed by a fire on Tuesday.", near, v)
    assert joined.support.supported and len(joined.sentences) == 2


def test_every_corpus_sentence_supports_itself():
    """Oracle: a claim that is a sentence of the evidence, word for word, always passes the hard
    checks (a sentence using one verb twice once failed its own role check)."""
    from pathlib import Path

    from index.sentences import split_sentences

    root = Path(__file__).resolve().parent.parent
    failures = []
    for path in sorted([*(root / "corpus").glob("*.txt"), *(root / "evals").glob("corpus_*/*.txt")]):
        text = path.read_text(encoding="utf-8")
        for start, end in split_sentences(text):
            s = " ".join(text[start:end].split())
            if len(s.split()) >= 4:
                ok, reason = hard_checks(s, s)
                if not ok:
                    failures.append(f"{path.name}: {reason}: {s[:80]}")
    assert not failures, "\n".join(failures[:10])
