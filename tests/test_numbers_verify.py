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


# --- issue 12: scales, spelled-out numbers, vague quantities -------------------------------------


@pytest.mark.parametrize(
    "text,label",
    [
        ("one hundred and twenty people", "120"),
        ("one hundred twenty people", "120"),
        ("a hundred people", "100"),
        ("A thousand people", "1000"),
        ("a million homes", "1000000"),
        ("two dozen arrests", "24"),
        ("two hundred thousand people", "200000"),
        ("one thousand one hundred people", "1100"),
        ("half a million people", "500000"),
        ("three and a half million people", "3500000"),
        ("five or six hundred people", "500–600"),
        ("12 million to 15 million people", "12000000–15000000"),
        ("4.1 million people", "4100000"),  # exact: 4.1 * 10**6 in floats is 4099999.9999999995
        ("8.2 billion dollars", "8200000000"),
        ("a £2m grant and a $50k prize", "2000000"),
        ("a 2tn budget", "2000000000000"),
        ("999,999,999,999,999 trillion", "999999999999999000000000000"),  # past 2**53: the label keeps the digits
    ],
)
def test_spelled_and_scaled_numbers_have_their_exact_value(text, label):
    assert find_numbers(text)[0].label == label


@pytest.mark.parametrize(
    "text",
    ["a 2m wall", "a 2.5m wall", "a 2.5km walk", "version 2.0.1", "192.168.1.1"],
)
def test_no_number_is_read_from_part_of_a_figure(text):
    """A glued unit or a dotted chain is not a figure: '2.5m' must not be read as 2 ('m' is metres
    without a currency sign)."""
    assert find_numbers(text) == []


def test_million_billion_and_spelled_forms_compare_by_value():
    assert not numbers_covered("It cost 1.5 billion dollars.", "It cost 1.5 million dollars.")[0]
    assert not numbers_covered("It cost 3bn dollars.", "It cost 3 million dollars.")[0]
    assert numbers_covered("It cost 1.5 billion dollars.", "It cost $1,500,000,000.")[0]
    assert numbers_covered("It cost 4.1 million dollars.", "It cost 4,100,000 dollars.")[0]
    assert numbers_covered("120 people came.", "One hundred and twenty people came.")[0]
    assert numbers_covered("One hundred and twenty people came.", "120 people came.")[0]
    assert numbers_covered("two dozen people came", "24 people came")[0]
    assert numbers_covered("24 people came", "two dozen people came")[0]
    assert numbers_covered("a hundred people came", "100 people came")[0]
    assert word_value("one hundred and twenty") == 120 and word_value("a hundred") == 100


def test_several_dozen_is_vague_never_twelve():
    """A vague quantity has no exact value: it is no count of 12 (or of anything), and only the
    same vague quantity covers it."""
    assert find_numbers("several dozen people were hurt") == []
    (n,) = find_numbers("several dozen people were hurt", vague=True)
    assert n.vague and n.text == "several dozen" and not n.lo <= 12 <= n.hi
    assert word_value("several dozen") is None
    assert not numbers_covered("Several dozen people were hurt.", "12 people were hurt.")[0]
    assert not numbers_covered("12 people were hurt.", "Several dozen people were hurt.")[0]
    assert not numbers_covered("36 people were hurt.", "Several dozen people were hurt.")[0]
    assert numbers_covered("Several dozen people were hurt.", "Dozens of people were hurt.")[0]
    assert not numbers_covered("Several thousand people marched.", "Several hundred people marched.")[0]
    assert not numbers_covered("Tens of thousands marched.", "Thousands marched.")[0]


def test_a_figure_too_long_to_read_still_needs_its_digits_in_the_evidence():
    huge = "9" * 400
    assert not numbers_covered(f"The crowd numbered {huge}.", "The crowd numbered 12.")[0]
    assert numbers_covered(f"The crowd numbered {huge}.", f"Officials said the crowd numbered {huge}.")[0]


@pytest.mark.parametrize(
    "claim,evidence,supported",
    [
        ("The merger was worth 1.5 billion dollars.", "The merger was worth 1.5 million dollars, the company said.", False),
        ("The merger was worth 1.5 million dollars.", "The merger was worth 1.5 million dollars, the company said.", True),
        ("The merger was worth $1.5 billion.", "The merger was worth $1.5bn, the company said.", True),
        ("The merger was worth 4.1 million dollars.", "The merger was worth 4,100,000 dollars, the company said.", True),
        ("120 people were rescued from the ferry.", "One hundred and twenty people were rescued from the ferry.", True),
        ("Two dozen people were rescued from the ferry.", "24 people were rescued from the ferry on Monday.", True),
        ("A hundred people were rescued from the ferry.", "100 people were rescued from the ferry on Monday.", True),
        ("Several dozen people were rescued from the ferry.", "12 people were rescued from the ferry on Monday.", False),
        ("12 people were rescued from the ferry.", "Several dozen people were rescued from the ferry on Monday.", False),
    ],
)
def test_verifier_judges_scales_and_spelled_numbers(claim, evidence, supported):
    s = HeuristicVerifier(None).support(claim, [evidence])
    assert s.supported is supported, s
    if not supported:
        assert s.reason.startswith("number not in evidence"), s


def test_from_x_to_y_is_a_change_of_two_figures_not_a_range():
    from rag.numbers import find_numbers, numbers_covered

    assert [n.label for n in find_numbers("The toll rose from 275 to 288.")] == ["275", "288"]
    assert [n.label for n in find_numbers("Estimates ranged from 8 to 10 attackers.")] == ["8–10"]
    assert [n.label for n in find_numbers("eight to 10 attackers")] == ["8–10"]
    evidence = "Officials said the toll had risen to 288 from 275 once hospital deaths were added."
    assert numbers_covered("The toll rose from 275 to 288.", evidence)[0]
    assert not numbers_covered("The toll rose from 238 to 288.", evidence)[0]
