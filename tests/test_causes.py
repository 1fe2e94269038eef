"""What each article says caused it (rag/causes.py)."""

import pytest
from conftest import HashEmbedder, sent

from rag.causes import asks_cause, causes_in, effect_words
from rag.conflicts import find_conflicts
from rag.roles import parsed


@pytest.mark.parametrize(
    "question, asks",
    [
        ("What caused the fire at the mill?", True),
        ("Why did the ferry capsize?", True),
        ("What was blamed for causing the crash?", True),
        ("What was the cause of the blaze?", True),
        ("Who was blamed for the attack?", False),  # a claimant, not a cause
        ("How were the bombs set off?", False),
    ],
)
def test_a_cause_question_is_told_by_its_words(question, asks):
    assert asks_cause(question) is asks


@pytest.mark.parametrize(
    "sentence, causes",
    [
        (
            "Investigators said an electrical short circuit in the dyeing unit most likely caused the fire.",
            ["electrical short circuit in the dyeing unit"],
        ),
        ("The blaze was caused by a gas leak, police said.", ["gas leak"]),
        ("The train, because of human error, was switched onto a loop line.", ["human error"]),
        ("The minister said the accident was the result of a change made to the interlocking.", ["change made to the interlocking"]),
        ("The report places the blame on lapses in maintenance.", ["lapses in maintenance"]),
        ("It is not clear what caused the crash.", []),  # no cause given
        ("A worker says a gas cylinder exploded in the boiler room.", []),  # an event, not said to be the cause
    ],
)
def test_cause_phrases_are_read_in_the_ways_english_states_them(sentence, causes):
    assert causes_in(sentence) == causes


def test_the_effect_is_what_the_question_asks_the_cause_of():
    assert effect_words("What caused the fire at the mill?", parsed) == {"fire"}
    assert "fail" in effect_words("Why did the mill fail its safety inspection?", parsed)
    # what was said is the effect, not the saying (every report "says")
    assert effect_words("Why did officials say the mill was closed?", parsed) == {"close"}


def test_different_causes_from_different_articles_are_versions_and_another_effects_cause_is_not():
    ev = [
        sent("a", 0, "An electrical short circuit in the dyeing unit caused the fire, investigators said."),
        sent("b", 2, "The fire was caused by a gas cylinder that exploded in the boiler room."),
        sent("c", 1, "The mill failed its inspection because of blocked exits."),
        *[sent(x, 4, f"Workers of line {x} were sent home on Monday.") for x in "defg"],
    ]  # "fire" is in 2 of 7 sentences: it tells them apart (a word in most of them would not)
    slot, mentions, disagree = find_conflicts("What caused the fire at the mill?", ev, HashEmbedder())
    assert disagree and slot is not None and slot.kind == "cause"
    assert {(m.sentence.article_id, m.shown) for m in mentions} == {
        ("a", "electrical short circuit in the dyeing unit"),
        ("b", "gas cylinder"),
    }  # "blocked exits" failed an inspection; it did not cause the fire


def test_one_cause_in_other_words_is_no_disagreement():
    ev = [
        sent("a", 0, "A short circuit caused the fire, investigators said."),
        sent("b", 2, "The fire was caused by an electrical short circuit."),
        sent("c", 4, "Workers were sent home on Monday."),
    ]
    assert not find_conflicts("What caused the fire?", ev, HashEmbedder())[2]
