"""Disagreements found by comparing each article's own value in the frame of the answer's claim."""

from conftest import sent

from rag.citations import Numbering, conflict_from
from rag.compare import values_in, versions
from rag.types import Article


def test_values_skip_years_ages_ordinals_and_parts_of_groups():
    text = "In 2024 a 35-year-old man and three others, including two guards, reached the 4th floor at 7.30 pm in a white van."
    assert [(v.kind, v.key) for v in values_in(text)] == [("count", "3"), ("time", "730pm"), ("colour", "white")]


def test_each_article_gives_its_own_count_in_other_words(real_embedder):
    a = sent("a", 1, "Three gunmen stormed the Grand Palm hotel on Monday night, police said.")
    pool = [
        a,
        sent("b", 2, "Five attackers entered the Grand Palm hotel through the kitchen, a witness said."),
        sent("c", 0, "The Grand Palm hotel has 120 rooms and a rooftop pool."),
    ]
    slot, mentions = versions([("Three gunmen stormed the Grand Palm hotel.", (a,))], pool, real_embedder)
    assert slot is not None and slot.kind == "count"
    assert {(m.sentence.article_id, m.value) for m in mentions} == {("a", "3"), ("b", "5")}


def test_counts_of_differently_named_things_are_not_versions(real_embedder):
    a = sent("a", 3, "Twelve people died in Norford after the river burst its banks.")
    pool = [a, sent("b", 3, "Fifteen people died in Eastby after the river burst its banks.")]
    slot, _ = versions([("Twelve people died in Norford.", (a,))], pool, real_embedder)
    assert slot is None


def test_one_value_everywhere_is_no_disagreement(real_embedder):
    a = sent("a", 0, "The blaze destroyed 40 homes in the village.")
    pool = [a, sent("b", 5, "Firefighters said 40 homes were destroyed by the blaze.")]
    assert versions([("The blaze destroyed 40 homes.", (a,))], pool, real_embedder) == (None, [])


def test_versions_read_as_a_timeline_undated_last(real_embedder):
    early = sent("early", 1, "At least 69 people were killed in the quake, officials said.")
    later = sent("later", 1, "The death toll from the quake rose to 128, officials said.")
    undated = sent("nodate", 2, "The quake killed 133 people, according to the police.")
    slot, mentions = versions([("At least 69 people were killed in the quake.", (early,))], [later, undated, early], real_embedder)
    assert slot is not None
    articles = {
        "early": Article("early", "t", "2023-11-04", "p", ""),
        "later": Article("later", "t", "2023-11-05", "p", ""),
        "nodate": Article("nodate", "t", None, "p", ""),
    }
    conflict, text = conflict_from(slot, mentions, Numbering(articles))
    assert [v.sources for v in conflict.versions][0] == ("early",)
    assert conflict.versions[-1].note == "undated"
    assert text.index("69") < text.index("128")


def test_a_named_count_needs_the_same_name_and_the_asked_outcome(real_embedder):
    a = sent("a", 2, "At least 36 people died in Westvale district, police said.")
    pool = [a, sent("b", 4, "The national death toll rose to 157, officials said."), sent("c", 1, "In Westvale district 52 people died.")]
    slot, mentions = versions([("At least 36 people died in Westvale district.", (a,))], pool, real_embedder)
    assert slot is not None and {m.sentence.article_id for m in mentions} == {"a", "c"}
    hurt = sent("h", 0, "The quake injured 140 people in the valley.")
    dead = sent("d", 0, "The quake killed 150 people in the valley.")
    slot, _ = versions([("The quake injured 140 people in the valley.", (hurt,))], [hurt, dead], real_embedder, "How many were hurt?")
    assert slot is None


def test_the_answer_path_compares_articles_only_when_asked(tmp_path, real_embedder):
    from conftest import ScriptedGenerator, make_engine

    from rag.answer import answer

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        "date 2024-05-01\nHotel siege\n\nThree gunmen stormed the Grand Palm hotel on Monday night, police said.\n"
    )
    (corpus / "b.txt").write_text(
        "date 2024-05-02\nSiege ends\n\nFive attackers entered the Grand Palm hotel through the kitchen, a witness said.\n"
    )
    draft = "Three gunmen stormed the Grand Palm hotel."
    for on in (True, False):
        e = make_engine(corpus, tmp_path / f"d{on}", real_embedder, ScriptedGenerator([draft]), compare_articles=on)
        a = answer("How many men took part in the siege of the hotel?", e)
        values = {v.value for c in a.conflicts for v in c.versions}
        assert (values >= {"3", "5"}) == on, (on, a.answer)


def test_a_figure_is_counted_by_the_outcome_word_nearest_it(real_embedder):
    """The toll named before its figure ("rose to 103"), the verb before its object ("killed 84
    people"), and a figure of another outcome in the same sentence ("injured 211") is not a toll."""
    from rag.conflicts import find_conflicts

    pool = [
        sent("a", 0, "The death toll from the twin blasts in Veldor rose to 103 on Thursday."),
        sent("b", 0, "The twin blasts in Veldor killed 84 people and injured 211, the health ministry said."),
        sent("c", 0, "Officials said 95 people were killed in the Veldor blasts."),
        sent("d", 0, "Six people have been injured in a separate crash near Veldor."),
    ]
    for q in ("How many people were killed in the Veldor blasts?", "What is the death toll from the Veldor blasts?"):
        slot, mentions, disagree = find_conflicts(q, pool, real_embedder)
        assert slot is not None and slot.kind == "count", q
        assert {m.value for m in mentions} == {"103", "84", "95"}, q
        assert disagree
    slot, mentions, _ = find_conflicts("How many people were injured in the Veldor blasts?", pool, real_embedder)
    assert {m.value for m in mentions} >= {"211"} and not {m.value for m in mentions} & {"103", "84", "95"}


def test_times_of_other_events_and_measures_are_not_versions(real_embedder):
    from rag.conflicts import find_conflicts, question_slot

    assert (
        question_slot("Which minister cut the toll from 103 to 84?") is None
        or question_slot("Which minister cut the toll from 103 to 84?").kind != "count"
    )
    pool = [
        sent("a", 0, "The earthquake struck at 11:47 pm on Friday night."),
        sent("b", 0, "The quake struck at 11.50 pm, officials said."),
        sent("c", 0, "Rescue teams set out at 7 am on Saturday."),
        sent("d", 0, "The blast killed 84 people, and the second came 20 minutes later."),
        sent("e", 0, "At least 103 people were killed in the blast."),
    ]
    slot, mentions, _ = find_conflicts("At what time did the earthquake strike?", pool, real_embedder)
    assert "7am" not in {m.value for m in mentions}
    slot, mentions, _ = find_conflicts("How many people were killed in the blast?", pool, real_embedder)
    assert {m.value for m in mentions} == {"84", "103"}


def test_an_identifier_number_is_not_a_count_and_an_outcome_alone_counts_people():
    from rag.conflicts import question_slot
    from rag.retrieve import answer_type

    for q in ("What was the registration number of the car?", "What is the phone number of the police chief?"):
        assert question_slot(q) is None and answer_type(q) is None, q
    slot = question_slot("How many died?")
    assert slot is not None and (slot.noun, slot.verb) == ("people", "died")
    slot = question_slot("What was the total number of injured?")
    assert slot is not None and (slot.noun, slot.verb) == ("people", "injured")


def test_a_report_need_not_repeat_the_events_own_name_to_give_its_count(real_embedder):
    """'How many gunmen stormed the Veldor hotel?': every report is about the Veldor hotel; one that
    says 'eight to 10 attackers came in a van' gives its version without naming it again. A question
    word the corpus does not use everywhere still picks the figure."""
    from rag.conflicts import find_conflicts

    pool = [
        sent("a", 0, "Three gunmen stormed the Veldor hotel on Friday night."),
        sent("b", 0, "Sources said eight to 10 attackers came in a white van."),
        sent("c", 0, "At least six terrorists forced their way in, the police chief said."),
    ]
    topic = {"veldor": 0.4, "hotel": 0.3}
    q = "How many gunmen stormed the Veldor hotel?"
    _, mentions, disagree = find_conflicts(q, pool, real_embedder)
    assert {m.value for m in mentions} == {"3"} and not disagree, "without word shares the sentence must name it"
    _, mentions, disagree = find_conflicts(q, pool, real_embedder, share=lambda t: topic.get(t, 0.001))
    assert {m.value for m in mentions} == {"3", "8–10", "6"} and disagree
    _, mentions, _ = find_conflicts(q, pool, real_embedder, share=lambda t: 0.001)
    assert {m.value for m in mentions} == {"3"}, "a rare word of the question still has to be there"


def test_a_reports_figure_may_leave_the_questions_context_to_its_article(real_embedder):
    """'How many gunmen took part in the assault on the Veldor hotel?': a report whose article is
    about the Veldor hotel gives its count in a sentence that does not name it again; a report
    about somewhere else does not, and a sentence that names another place never does."""
    from rag.conflicts import find_conflicts

    pool = [
        sent("a", 0, "Three gunmen took part in the assault on the Veldor hotel."),
        sent("b", 3, "Sources said eight to 10 attackers came in a white van."),
        sent("b", 4, "In Tarrow, four gunmen were seen the day before."),
        sent("c", 2, "At least six terrorists forced their way in, the police chief said."),
    ]
    articles = {
        "a": "Three gunmen took part in the assault on the Veldor hotel.",
        "b": "The assault on the Veldor hotel lasted four hours. Sources said eight to 10 attackers came in a white van. In Tarrow, four gunmen were seen the day before.",
        "c": "A bank in Marsh Town was raided. At least six terrorists forced their way in, the police chief said.",
    }
    q = "How many gunmen took part in the assault on the Veldor hotel?"
    _, mentions, disagree = find_conflicts(q, pool, real_embedder)
    assert {m.value for m in mentions} == {"3"} and not disagree
    _, mentions, disagree = find_conflicts(q, pool, real_embedder, article_text=lambda s: articles[s.article_id])
    assert {m.value for m in mentions} == {"3", "8–10"} and disagree


def test_a_colour_is_the_colour_of_the_thing_it_names(real_embedder):
    a = sent("a", 1, "The robbers escaped in a blue Ford truck, police said.")
    pool = [
        a,
        sent("b", 4, "Witnesses saw the robbers speed away from the bank in a green vehicle."),
        sent("c", 2, "The bank's red door was left open by the robbers."),
    ]
    slot, mentions = versions([("The robbers drove a blue Ford truck.", (a,))], pool, real_embedder, "What did the robbers drive?")
    assert slot is not None and slot.kind == "colour" and slot.topic == "the colour of the truck"
    assert {(m.sentence.article_id, m.value) for m in mentions} == {("a", "blue"), ("b", "green")}  # a door is no truck
