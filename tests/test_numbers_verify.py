import pytest

from rag.numbers import find_numbers, numbers_covered, word_value
from rag.verify import HeuristicVerifier, hard_checks, names_in


@pytest.mark.parametrize(
    "text,labels",
    [
        ("eight to 10 attackers", ["8–10"]),
        ("half a dozen hand grenades", ["6"]),
        ("Around 60-70 staff", ["60–70"]),
        ("over one hundred people", ["100"]),
        ("the 4th floor and the fourth floor", ["4", "4"]),
        ("1,000 people and 4.5 km", ["1000", "4.5"]),
        ("twenty-five men", ["25"]),
        ("pic.twitter.com/2FFmGMAAYw", []),
    ],
)
def test_find_numbers(text, labels):
    assert [n.label for n in find_numbers(text)] == labels


def test_word_value():
    assert word_value("three") == 3 and word_value("a dozen") == 12 and word_value("apple") is None


def test_numbers_covered_normalises():
    assert numbers_covered("There were three attackers.", "3 attackers came")[0]
    assert numbers_covered("eight to ten attackers", "there could be eight to 10 attackers")[0]
    assert not numbers_covered("eight attackers", "there could be eight to 10 attackers")[0]
    assert numbers_covered("six grenades", "half a dozen grenades")[0]


def test_names_skip_sentence_start_and_common_words():
    assert names_in("The DIG Muqadas Haider said Rangers helped.") == ["DIG", "Muqadas", "Haider", "Rangers"]
    assert names_in("Tauqeer led. Three men fled.") == ["Tauqeer"]


EVIDENCE = "Three attackers parked a silver Indus Corolla car at the KPO entrance shortly after dusk."


@pytest.fixture(scope="module")
def verifier():
    from index.embedding import MiniLMEmbedder

    return HeuristicVerifier(MiniLMEmbedder())


@pytest.mark.parametrize(
    "claim,supported",
    [
        ("Three attackers parked a car at the KPO entrance.", True),  # supported
        ("There were 3 attackers.", True),  # number written differently
        ("The attackers came in a silver car.", True),
        ("Four attackers parked a car at the KPO entrance.", False),  # number mismatch
        ("Three attackers parked a car at the Rangers headquarters.", False),  # wrong name
        ("The attackers came in a white car.", False),  # wrong colour
        ("Three attackers did not park a car at the KPO entrance.", False),  # negation
        ("The weather in Lahore was sunny.", False),  # unrelated
    ],
)
def test_verifier_pairs(verifier, claim, supported):
    s = verifier.support(claim, [EVIDENCE])
    assert s.supported is supported, s


def test_two_sentences_can_support_together(verifier):
    ev = ["The fire started at the Linden mill on Monday.", "Three workers were injured at the mill."]
    claim = "The fire started at the Linden mill on Monday and three workers were injured."
    assert not verifier.support(claim, ev[:1]).supported
    assert verifier.support(claim, ev).supported


def test_hard_checks_reasons():
    assert hard_checks("Seven were hurt.", "Three were hurt.")[1].startswith("number")
    assert hard_checks("Tauqeer led.", "Haider led.")[1].startswith("name")
    assert hard_checks("It was not white.", "It was white.")[1] == "negation differs"


def test_claim_must_support_what_it_adds_to_the_question(verifier):
    from rag.verify import AnswersQuestion

    ev = ["The Karachi Police chief's office is located near the main arterial road of Karachi which goes from downtown to the airport."]
    v = AnswersQuestion(verifier, "Where is the Karachi Police Office located?")
    assert not v.support("The Karachi Police Office is located in the Karachi Police Office building.", ev).supported
    assert v.support("The Karachi Police Office is located near the main arterial road of Karachi.", ev).supported
    # Without the question, the repeated words alone would have carried it.
    assert verifier.support("The Karachi Police Office is located in the Karachi Police Office building.", ev).supported


def test_a_figure_of_hundreds_of_digits_is_not_a_count_and_breaks_nothing():
    from rag.numbers import find_numbers
    from rag.verify import numbers_covered

    text = "The crowd numbered " + "9" * 400 + " people and 12 were hurt on the " + "7" * 500 + "th day."
    assert [n.label for n in find_numbers(text)] == ["12"]
    assert numbers_covered("12 were hurt.", text)[0]
