"""Yes/no questions: each article's answer, from the question's subject and predicate (rag/yesno.py)."""

import pytest

from rag.conflicts import find_conflicts
from rag.roles import parsed
from rag.yesno import Core, answers, core_of
from tests.conftest import HashEmbedder, sent


@pytest.mark.parametrize(
    "question, core",
    [
        ("Was the door of the classroom where the gunman holed up actually locked?", Core("door", "lock", frozenset({"classroom"}))),
        ("Did the shooter's grandmother survive?", Core("grandmother", "survive")),
        ("Was the outside door closed?", Core("door", "close", frozenset({"outside"}))),
        ("Has the ferry been found?", Core("ferry", "find")),
        ("Was it locked?", None),  # no noun to look for
        ("Why was the door locked?", None),  # not a yes/no question
    ],
)
def test_the_core_is_the_subject_head_and_the_predicate(question, core):
    assert core_of(question, parsed) == core


@pytest.mark.parametrize(
    "sentence, answer",
    [
        ("The classroom door was locked.", "yes"),
        ("He said the door to room 111 was in fact not locked.", "no"),
        ("The door did not lock, she said.", "no"),
        ("She shut the door, but it failed to lock.", "no"),
        ("The door was meant to be locked at all times.", None),  # an intention, not an answer
        ("It is unclear whether the door could have been locked.", None),
        ("The gunman carried a rifle into the building.", None),  # neither subject nor predicate
        ("The windows were locked.", None),  # another subject
        ("An outside door was not locked.", None),  # another door than the classroom's
    ],
)
def test_each_sentence_answers_yes_no_or_not_at_all(sentence, answer):
    assert answers(Core("door", "lock", frozenset({"classroom"})), sentence, parsed) == answer


def test_articles_that_answer_differently_are_a_disagreement():
    q = "Was the door of the classroom where the gunman holed up actually locked?"
    evidence = [sent("a.txt", 0, "The classroom door was locked."), sent("b.txt", 3, "The door was in fact not locked, he said.")]
    slot, mentions, disagree = find_conflicts(q, evidence, HashEmbedder())
    assert disagree and slot is not None and slot.kind == "polarity"
    assert {(m.value, m.sentence.article_id) for m in mentions} == {("yes", "a.txt"), ("no", "b.txt")}


def test_one_article_saying_both_or_all_agreeing_is_no_disagreement():
    q = "Was the classroom door locked?"
    agree = [sent("a.txt", 0, "The classroom door was locked."), sent("b.txt", 1, "Officials said the door was locked.")]
    assert not find_conflicts(q, agree, HashEmbedder())[2]
    one = [sent("a.txt", 0, "The classroom door was locked."), sent("a.txt", 4, "Later the door was not locked.")]
    assert not find_conflicts(q, one, HashEmbedder())[2]


@pytest.mark.parametrize(
    "question, sentence, answer",
    [
        ("Did the ferryman survive?", "The ferryman was killed when the boat overturned.", "no"),
        ("Did the ferryman survive?", "Rebels killed the ferryman.", "no"),
        ("Did the ferryman survive?", "The ferryman was not killed, the mayor said.", "yes"),
        ("Did the ferryman survive?", "The rebels shot the ferryman before troops killed them.", None),  # the troops killed others
        ("Was the guard killed?", "The guard survived the blast.", "no"),
        ("Was the guard killed?", "Two guards died in the blast.", "yes"),  # the asked outcome in other words
        ("Was the guard killed?", "The guard was taken to hospital.", None),
    ],
)
def test_an_outcome_that_excludes_the_asked_one_answers_no(question, sentence, answer):
    assert answers(core_of(question, parsed), sentence, parsed) == answer


def test_a_pronoun_speaks_of_the_subject_the_sentence_before_named():
    core = core_of("Did the ferryman survive?", parsed)
    said = "She survived and is in hospital."
    assert answers(core, said, parsed, "Rebels shot the ferryman at the jetty. ") == "yes"
    assert answers(core, said, parsed, "Rebels shot the ferryman at the jetty. The mayor arrived later. ") is None
    assert answers(core, said, parsed) is None


def test_a_pronouns_account_disagrees_with_another_articles():
    text = "Rebels shot the ferryman at the jetty. She survived and is in hospital."
    first = sent("a.txt", 1, "She survived and is in hospital.")
    first = type(first)(id=first.id, article_id="a.txt", n=1, start=text.index("She"), end=len(text), text=first.text)
    evidence = [first, sent("b.txt", 0, "The ferryman was killed at the jetty.")]
    articles = {"a.txt": text, "b.txt": evidence[1].text}
    slot, mentions, disagree = find_conflicts(
        "Did the ferryman survive?", evidence, HashEmbedder(), article_text=lambda s: articles[s.article_id]
    )
    assert disagree and {(m.value, m.sentence.article_id) for m in mentions} == {("yes", "a.txt"), ("no", "b.txt")}
    assert not find_conflicts("Did the ferryman survive?", evidence, HashEmbedder())[2]  # without the article, "she" is nobody
