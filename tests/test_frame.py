"""What a count or colour question counts or colours, read from its parse (rag/frame.py), and
the disagreement rules that use it (rag/conflicts.py): the counted noun is the one "many" or
"number of" attaches to; the context a figure must share is the question's nouns and names,
never its verbs; a possessor is not the thing coloured; a pronoun stands for its noun; a
compound counts its head; a part of a group ("including two policemen") is not a count of
something else. No topic words: every test uses invented events."""

from conftest import HashEmbedder

from index.lexical import tokens
from rag.conflicts import find_conflicts, question_slot
from rag.frame import question_frame
from rag.types import Sentence


def sent(article: str, n: int, text: str) -> Sentence:
    return Sentence(id=f"{article}#{n}", article_id=article, n=n, start=0, end=len(text), text=text)


def test_the_counted_noun_and_the_context_come_from_the_parse_not_the_verbs():
    f = question_frame("How many grenades did the smugglers hurl as they got in?")
    assert f is not None and f.thing == "grenades"
    assert f.context == frozenset(tokens("smugglers"))  # "hurl", "got" are how the question says it
    f = question_frame("How many rangers took part in the raid on the Felton depot?")
    assert f is not None and f.thing == "rangers"
    assert f.context == frozenset(tokens("raid Felton depot"))  # "took part": "part" only completes the verb
    f = question_frame("What was the number of rioters involved in storming the Marley town hall?")
    assert f is not None and f.thing == "rioters" and "storm" not in f.context


def test_the_thing_coloured_is_not_its_owner_and_a_pronoun_is_its_noun():
    f = question_frame("What color was the smugglers' boat?")
    assert f is not None and f.thing == "boat"
    f = question_frame("The van the thieves drove to the bank - what colour was it?")
    assert f is not None and f.thing == "van"


def test_after_did_comes_the_subject_not_a_participle():
    slot = question_slot("How many grenades did the gunmen hurl as they got in?")
    assert slot is not None and slot.kind == "count"
    assert slot.verb == "" and slot.noun == "grenades"  # "gunmen" ends like "taken", it is not a verb
    assert "hurl" not in slot.context


def test_a_colour_question_about_an_owned_thing_finds_each_version():
    ev = [
        sent("a", 0, "Witnesses said the smugglers fled in a red boat before dawn."),
        sent("b", 0, "Coastguards later found a blue boat abandoned on the shore."),
        sent("c", 0, "The harbour master said the tide was low all night."),
    ]
    slot, mentions, disagree = find_conflicts("What color was the smugglers' boat?", ev, HashEmbedder())
    assert slot is not None and slot.noun == "boat"
    assert disagree and {m.value for m in mentions} == {"red", "blue"}


def test_a_compound_counts_its_head():
    ev = [
        sent("a", 0, "Two passenger trains collided near Orlin on Friday."),
        sent("b", 0, "About 900 passengers were on board, officials said."),
        sent("c", 0, "Some 1,200 passengers were on board according to the railway."),
    ]
    slot, mentions, disagree = find_conflicts("How many passengers were on board at Orlin?", ev, HashEmbedder())
    assert "2" not in {m.value for m in mentions}  # two trains, not two passengers


def test_a_part_of_a_group_counts_only_what_it_names(real_embedder):
    ev = [
        sent("a", 0, "The assault on the Corran barracks left five people dead, including two policemen."),
        sent("b", 0, "Four gunmen stormed the Corran barracks at dawn."),
        sent("c", 0, "Four gunmen were involved in the assault on the Corran barracks."),
    ]
    found = {m.value for m in find_conflicts("How many gunmen took part in the assault on the Corran barracks?", ev, real_embedder)[1]}
    assert found == {"4"}  # the two policemen are among the dead, not a count of the gunmen
    ev = [
        sent("a", 0, "Nine people were in the Corran convoy, including two policemen."),
        sent("b", 0, "Three policemen were in the Corran convoy."),
    ]
    found = {m.value for m in find_conflicts("How many policemen were in the Corran convoy?", ev, real_embedder)[1]}
    assert found == {"2", "3"}  # asked about the policemen, the part is the answer


def test_a_noun_with_a_is_a_count_of_one_against_another_reports_figure():
    ev = [
        sent("a", 0, "The raiders first threw five smoke bombs into the depot yard."),
        sent("b", 0, "Guards said the raiders tossed a smoke bomb at the gate before running in."),
        sent("c", 0, "A guard was hurt, and half a dozen smoke bombs lay in the van."),
    ]
    slot, mentions, disagree = find_conflicts("How many smoke bombs did the raiders throw when they got in?", ev, HashEmbedder())
    assert slot is not None and slot.noun == "smoke bombs"
    assert disagree and {"5", "1"} <= {m.value for m in mentions}
    assert not any(m.sentence.article_id == "c" and m.value == "1" for m in mentions)  # "half a dozen" is no single one
    assert any(m.shown == "a smoke bomb" for m in mentions)
    # With an outcome asked, "a guard was hurt" is one of the hurt, not their number.
    _, mentions, _ = find_conflicts("How many guards were hurt?", [ev[2]], HashEmbedder())
    assert all(m.value != "1" for m in mentions)


def test_a_place_that_shares_the_questions_words_is_not_another_place():
    ev = [
        sent("a", 0, "Felton police headquarters came under attack on Friday."),
        sent("a", 1, "Officials said at least six rioters stormed into the building."),
        sent("b", 0, "Lapses were found in security at the Felton Police Office (FPO), stormed by three rioters on Friday."),
        sent("b", 1, "The Felton police headquarters said it would review its guard rota."),
        sent("c", 0, "Eleven rioters were arrested in Marley on Sunday."),
    ]
    filler = [sent("d", i, f"Felton police said patrols in Felton were doubled on day {i}.") for i in range(6)]
    q = "What was the number of rioters involved in attacking the Felton police headquarters?"
    text = {"a": " ".join(s.text for s in ev[:2]), "b": " ".join(s.text for s in ev[2:4]), "c": ev[4].text, "d": ""}
    slot, mentions, disagree = find_conflicts(q, ev + filler, HashEmbedder(), article_text=lambda s: text[s.article_id])
    assert disagree and {m.value for m in mentions} >= {"6", "3"}
    assert "11" not in {m.value for m in mentions}  # "in Marley" is another place


def test_a_duration_is_a_value_and_its_parts_add_up():
    ev = [
        sent("a", 0, "Officers waited about an hour in the hallway before the team went in."),
        sent("b", 0, "The officers waited in the hallway for 1 hour, 14 minutes and 8 seconds before the team went in."),
        sent("c", 0, "The officers waited 77 minutes in the hallway before the team went in."),
        sent("d", 0, "The governor flew to Felton two days after the siege to meet the families of the victims."),
    ]
    q = "How long did the officers wait in the hallway before the team went in?"
    slot, mentions, disagree = find_conflicts(q, ev, HashEmbedder())
    assert slot is not None and slot.noun == "duration"
    assert disagree and {m.value for m in mentions} == {"3600", "4450", "4620"}  # "two days after the siege" is another duration
    assert [m.shown for m in mentions if m.sentence.article_id == "b"] == ["1 hour, 14 minutes and 8 seconds"]
    slot, _, _ = find_conflicts("How much time passed between the two blasts?", ev, HashEmbedder())
    assert slot is not None and slot.noun == "duration"  # not a count of "time"


def test_the_asked_thing_itself_counts_whatever_verb_reports_it():
    ev = [
        sent("a", 0, "Fourteen fire engines were sent to the Dunmore warehouse, the fire service said."),
        sent("b", 0, "Eighteen fire engines attended the Dunmore warehouse blaze at its height."),
        sent("c", 0, "Two fire engines were damaged when the Dunmore warehouse roof fell in."),
    ]
    slot, mentions, disagree = find_conflicts("How many fire engines were sent to the Dunmore warehouse?", ev, HashEmbedder())
    assert slot is not None and slot.verb == "sent"
    assert disagree and {m.value for m in mentions} == {"14", "18"}  # "were damaged" says another thing happened to them


def test_a_figure_dated_to_another_time_is_another_events():
    ev = [
        sent("a", 0, "The blast at the riverside market killed 12 people, police said."),
        sent("b", 0, "Nine people died in the market blast, the worst since a bombing that claimed 40 lives last month."),
        sent("c", 0, "Two years ago, a fire at the same market killed 31 traders."),
    ]
    slot, mentions, disagree = find_conflicts("What was the death toll of the riverside market blast?", ev, HashEmbedder())
    assert disagree and {m.value for m in mentions} == {"12", "9"}
    # Asked about that other time, its figures count.
    _, mentions, _ = find_conflicts("How many people were killed in the bombing last month?", ev, HashEmbedder())
    assert "40" in {m.value for m in mentions}


def test_a_why_question_asks_a_reason_not_the_measure_it_names():
    assert question_slot("Why did the magnitude 6.9 Orlen earthquake kill so few people?") is None
    assert question_slot("What was the magnitude of the Orlen earthquake?").kind == "measure"


def test_members_are_counted_as_what_they_are_members_of(real_embedder):
    f = question_frame("How many members of the coast guard took part in the search at Pellow Bay?")
    assert f is not None and f.thing == "coast guard" and "member" not in f.context
    slot = question_slot("How many members of the fire service were injured?")
    assert slot is not None and slot.noun == "fire service" and slot.verb == "injured"
    ev = [
        sent("a", 0, "Some 40 coastguards joined the search at Pellow Bay on Sunday."),
        sent("b", 0, "A team of 65 coastguards searched Pellow Bay through the night."),
        sent("c", 0, "The Pellow Bay lifeboat station opened in 1921."),
    ]
    slot, mentions, disagree = find_conflicts(
        "How many members of the coast guard took part in the search at Pellow Bay?", ev, real_embedder
    )
    assert {m.value for m in mentions} == {"40", "65"} and disagree


def test_a_part_of_those_counted_is_named_by_what_they_were(real_embedder):
    slot = question_slot("How many of the dead were foreigners?")
    assert slot is not None and (slot.noun, slot.verb) == ("foreigners", "dead")
    slot = question_slot("How many of those killed were children?")
    assert slot is not None and (slot.noun, slot.verb) == ("children", "killed")
    slot = question_slot("How many of the passengers were rescued?")  # no "were X": the passengers themselves
    assert slot is not None and (slot.noun, slot.verb) == ("passengers", "rescued")
    ev = [
        sent("a", 0, "The blast at the Dorrin market killed 23 people."),
        sent("b", 0, "Six foreigners were among the 23 dead, the ministry said."),
        sent("c", 0, "The dead at the Dorrin market included nine foreigners, officials said."),
    ]
    slot, mentions, disagree = find_conflicts("How many of the dead were foreigners?", ev, real_embedder)
    assert {m.value for m in mentions} == {"6", "9"} and disagree  # 23 counts everyone, not the foreigners among them


def test_a_part_named_after_including_shares_its_groups_outcome(real_embedder):
    ev = [
        sent("a", 0, "The raid on the Corran barracks left five people dead, including two policemen, and nine others injured."),
        sent("b", 0, "Three police officers were killed in the raid on the Corran barracks."),
    ]
    found = {m.value for m in find_conflicts("How many policemen were killed in the raid?", ev, real_embedder)[1]}
    assert found == {"2", "3"}  # the two policemen are among the dead
    found = {m.value for m in find_conflicts("How many police officers died in the raid?", ev, real_embedder)[1]}
    assert found == {"2", "3"}  # "policemen" is the asked noun in other words
    found = {m.value for m in find_conflicts("How many gunmen took part in the raid on the Corran barracks?", ev, real_embedder)[1]}
    assert "2" not in found  # the policemen are no count of the gunmen
