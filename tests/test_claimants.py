"""Who each article says claimed or was behind the event (rag.claimants via find_conflicts)."""

from conftest import HashEmbedder, sent

from rag.claimants import asks_claimant, claims_in, same_claimant
from rag.conflicts import find_conflicts


def test_questions_of_who_did_it_in_other_words():
    for q in (
        "Who took credit for the attack?",
        "Has any militant organisation said it was behind the raid, and if so which one?",
        "Which group claimed responsibility for the bombing?",
        "Who was responsible for the attack on the memorial?",
    ):
        assert asks_claimant(q), q
    for q in (
        "Which US State Department spokesperson rejected the idea that America was behind the blasts?",
        "What did officials say about who was behind the bombing?",
        "Who claimed that the building was empty?",
        "How many people were behind the barricade?",
    ):
        assert not asks_claimant(q), q


def test_a_claim_its_absence_and_an_accusation_are_read_with_their_claimant():
    assert claims_in(sent("a", 0, "The Tehreek-i-Taliban Pakistan (TTP) claimed responsibility for the assault.")) == [
        ("Tehreek-i-Taliban Pakistan (TTP)", "Tehreek-i-Taliban Pakistan (TTP) claimed responsibility")
    ]
    assert [k for k, _ in claims_in(sent("b", 0, "So far, no terrorist group has claimed responsibility for the attack."))] == ["no claim"]
    assert [k for k, _ in claims_in(sent("c", 0, "Iranian officials blamed Israel for the blasts on Wednesday."))] == ["Israel"]
    assert claims_in(sent("d", 0, "Police chief Javed Odho claimed at least six gunmen stormed the office.")) == []


def test_an_acronym_or_a_shorter_name_is_the_same_claimant():
    assert same_claimant("TTP", "Tehreek-i-Taliban Pakistan") and same_claimant("Islamic State", "the Islamic State group")
    assert not same_claimant("TTP", "Islamic State") and not same_claimant("no claim", "TTP")


def test_reports_that_differ_on_who_claimed_it_are_versions_and_agreeing_ones_are_not():
    q = "Who took credit for the attack?"
    ev = [
        sent("a", 0, "The Pakistani Taliban (TTP) claimed responsibility for the assault."),
        sent("b", 0, "No group has claimed responsibility for the assault so far."),
        sent("c", 0, "The TTP claimed responsibility in a message to reporters."),
    ]
    slot, mentions, disagree = find_conflicts(q, ev, HashEmbedder())
    by = {}
    for m in mentions:
        by.setdefault(m.value, set()).add(m.sentence.article_id)
    assert disagree and slot.kind == "claim" and by == {"Pakistani Taliban (TTP)": {"a", "c"}, "no claim": {"b"}}
    slot, mentions, disagree = find_conflicts(q, [ev[0], ev[2]], HashEmbedder())
    assert not disagree


def test_a_claim_for_another_time_is_another_events():
    ev = [
        sent("a", 0, "The TTP claimed responsibility for the attack on Friday."),
        sent("b", 0, "Islamic State claimed responsibility for the mosque bombing last month."),
    ]
    slot, mentions, disagree = find_conflicts("Who claimed responsibility for the attack?", ev, HashEmbedder())
    assert not disagree
