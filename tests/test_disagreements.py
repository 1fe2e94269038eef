"""Disagreements beyond counts of people: measures in any unit, clock times on one clock,
outcomes named in other words, names whose figure is for another place, names spelled
differently (rag.conflicts, rag.spellings). Pure functions; the fake embedder is enough."""

from conftest import HashEmbedder, sent

from rag.conflicts import clock_key, find_conflicts, in_context, name_context, question_slot
from rag.spellings import spelling_versions
from rag.types import Sentence


def filler(articles: str) -> list[Sentence]:
    """Sentences that share no word with the questions (so a question's rarer words stay rare)."""
    return [sent(x, 1, f"Rescue work went on through the night in district {x}.") for x in articles]


def values(question: str, evidence: list[Sentence]) -> tuple[set[str], bool]:
    slot, mentions, disagree = find_conflicts(question, evidence, HashEmbedder())
    return {m.value for m in mentions}, disagree


def test_a_distance_in_other_units_is_the_same_version_and_a_different_one_is_not():
    ev = [
        sent("a", 0, "The village of Tarn lies roughly 500 km (310 miles) west of the capital."),
        sent("b", 0, "Tarn is about 310 miles from the capital by road."),
        sent("c", 0, "Officials said Tarn was some 400 kilometres from the capital."),
    ]
    found, disagree = values("How far is Tarn from the capital?", ev)
    assert disagree and len(found) == 2, found  # 500 km = 310 miles; 400 km differs


def test_a_depth_question_ignores_lengths_and_distances():
    ev = [
        sent("a", 0, "The wreck of the Marla, a ferry 17 metres long, lies at a depth of 450 metres."),
        sent("b", 0, "Divers located the Marla some 420 metres below the surface."),
        sent("c", 0, "The ferry sank about 500 metres out from the port."),
    ]
    slot = question_slot("How deep is the wreck of the Marla?")
    assert slot is not None and slot.kind == "measure" and slot.verb == "depth"
    found, disagree = values("How deep is the wreck of the Marla?", ev)
    assert disagree and found == {"450", "420"}, found


def test_speeds_per_hour_and_magnitudes_are_measures():
    found, disagree = values(
        "How fast was the train going?",
        [sent("a", 0, "The train was running at 128 km/h."), sent("b", 0, "It hit the wagons at about 130 kilometres per hour.")],
    )
    assert disagree and found == {"128", "130"}
    found, disagree = values(
        "What magnitude was the quake?",
        [sent("a", 0, "The magnitude 6.4 quake struck at night."), sent("b", 0, "The USGS gave the quake a magnitude of 5.6.")],
    )
    assert disagree and found == {"6.4", "5.6"}


def test_a_passenger_limit_is_not_a_motorcycle_limit():
    ev = [
        sent("a", 0, "The ferry was licensed to carry 60 passengers."),
        sent("b", 0, "The vessel was allowed to carry only 20 motorcycles, he said."),
        sent("c", 0, "The ferry was built for 43 passengers, the ministry said."),
    ]
    found, disagree = values("What was the ferry's passenger limit?", ev)
    assert disagree and found == {"60", "43"}


def test_clock_times_compare_on_one_clock():
    assert clock_key("7.20 pm") == "19:20" and clock_key("7 p.m.") == "19:00" == clock_key("19:00")
    assert clock_key("12 am") == "00:00" and clock_key("6:55pm") == "18:55"
    found, disagree = values(
        "What time did the crash happen?",
        [sent("a", 0, "The crash happened at about 19:00 on Friday."), sent("b", 0, "The crash happened at around 7 pm.")],
    )
    assert found == {"19:00"} and not disagree, "the same time written two ways is one version"


def test_an_outcome_in_other_words_still_picks_the_dead_not_the_hurt():
    slot = question_slot("How many people lost their lives in the crash?")
    assert slot is not None and slot.verb == "killed" and slot.noun == "people"
    found, disagree = values(
        "How many people lost their lives in the crash?",
        [sent("a", 0, "At least 233 people were killed and some 900 hurt."), sent("b", 0, "The crash has claimed 275 lives.")],
    )
    assert disagree and found == {"233", "275"}


def test_a_figure_for_another_named_place_is_not_a_version():
    names = name_context("How many people died in Rukum West?")
    assert names == {"rukum", "west"}
    assert in_context("More than 38 people were killed, police said.", names)
    assert not in_context("In Jajarkot district, 92 people were confirmed dead.", names)
    assert name_context("How many people were wounded in the twin blasts?") == frozenset()


def test_a_name_spelled_differently_by_another_article_is_a_version():
    cited = [sent("a", 3, "The CBI arrested senior section engineer Arun Kumar Mohanta on Friday.")]
    pool = [
        sent("b", 1, "Senior section engineer Arun Kumar Mahanta was among the three men the CBI arrested."),
        sent("c", 2, "Railway minister Vaishnaw visited the site."),
    ]
    texts = {"a": cited[0].text, "b": pool[0].text, "c": pool[1].text}
    slot, mentions = spelling_versions([("The CBI arrested Arun Kumar Mohanta.", cited)], pool, texts)
    assert slot is not None and {m.shown for m in mentions} == {"Mohanta", "Mahanta"}
    # An article that also uses the answer's spelling, or a plural, is no disagreement.
    texts["b"] += " Mohanta denied it."
    assert spelling_versions([("The CBI arrested Arun Kumar Mohanta.", cited)], pool, texts) == (None, [])


def test_other_forms_of_a_word_are_not_spellings():
    from rag.spellings import _variant

    assert _variant("Mohanta", "Mahanta") and _variant("Namaraj", "Namraj")
    for a, b in (("India", "Indian"), ("Bengal", "Bengaluru"), ("Banerjee", "Banerjee's"), ("Khan", "Kahn's"[:0] + "Karachi")):
        assert not _variant(a, b), (a, b)


def test_without_an_outcome_the_questions_other_words_say_which_figure():
    q = "How many passengers were on the Yashwantpur train?"
    slot = question_slot(q)
    assert slot is not None and slot.strict and "yashwantpur" in slot.context
    evidence = [
        sent("a", 0, "More than 13 million passengers ride the railways every day."),
        sent("b", 0, "The Yashwantpur train carried about 1,200 passengers."),
        *filler("cdefg"),
    ]
    found, _ = values(q, evidence)
    assert found == {"1200"}, "a figure whose sentence shares none of the question's other words is not a version"
    slot = question_slot("How many of the bodies still had no name?")
    assert slot is not None and slot.verb != "killed", "the counted noun is not what happened to them"


def test_ages_of_the_named_person_and_years_of_the_named_event():
    ev = [
        sent("a", 0, "His son Marcel Malanga, 22, was also detained."),
        sent("b", 0, "Marcel Malanga, a 21-year-old from Utah, appeared in court."),
        sent("c", 0, "The gunmen, aged 30 to 40, were not named."),
    ]
    found, disagree = values("How old is Marcel Malanga?", ev)
    assert disagree and found == {"22", "21"}
    ev = [
        sent("a", 0, "Zalman-Polun pleaded guilty to the marijuana charge in 2014."),
        sent("b", 0, "He admitted the marijuana charge in 2015, court records show."),
        sent("c", 0, "The palace was rebuilt in 1998."),
        *filler("defg"),
    ]
    found, disagree = values("In what year did Zalman-Polun plead guilty to the marijuana charge?", ev)
    assert disagree and found == {"2014", "2015"}


def test_a_figure_whose_clause_names_no_asked_outcome_is_not_a_version(real_embedder):
    # "How many were arrested?": a figure of officers with no outcome named near it, or of the
    # hurt, is no version of an arrest count, however close its words sit to "arrested" in an
    # embedding ("police officers").
    q = "How many people were arrested after the riot at the stadium?"
    evidence = [
        sent("a", 0, "Meanwhile, 14 others including stewards and police personnel were also hurt in the crush at the gates."),
        sent("b", 0, "Two police officers including 45-year-old Sergeant Mara Voss, and 52-year-old Constable Ed Pike."),
        sent("c", 0, "Police said 9 people were arrested overnight."),
    ]
    slot, mentions, disagree = find_conflicts(q, evidence, real_embedder)
    assert slot is not None and slot.verb == "arrested"
    assert {m.value for m in mentions} == {"9"} and not disagree


def test_a_bare_toll_counts_everyone_not_the_group_asked_about():
    ev = [
        sent("a", 0, "The first reports spoke of 20 dead near the shrine of Tarn."),
        sent("b", 0, "Local media then raised the figure to 103 killed near Tarn."),
        *filler("cd"),
    ]
    found, _ = values("How many paramedics were killed near Tarn?", ev)
    assert not found & {"20", "103"}, found  # nothing says how many of the dead were paramedics
    found, disagree = values("How many people were killed near Tarn?", ev)
    assert disagree and {"20", "103"} <= found, found  # the whole toll: both figures are versions


def test_people_an_outcome_befell_are_the_group_it_names():
    ev = [
        sent("a", 0, "The ministry reported the arrest of 11 people over the Tarn bombing."),
        sent("b", 0, "Police in Tarn said 35 people had been arrested over the bombing."),
        *filler("cd"),
    ]
    found, disagree = values("How many suspects were arrested over the Tarn bombing?", ev)
    assert disagree and found == {"11", "35"}, found  # the arrested are the suspects
    found, _ = values("How many paramedics were arrested over the Tarn bombing?", ev)
    assert not found, found  # people arrested are not paramedics


def test_a_figure_one_article_says_changed_is_a_timeline_but_two_figures_alone_are_not():
    changed = [
        sent("a", 0, "The ministry had earlier reported the arrest of 11 people over the Tarn bombing."),
        sent("a", 5, "Officials in Tarn said 35 people have been arrested over the bombing."),
        *filler("cd"),
    ]
    found, disagree = values("How many people were arrested over the Tarn bombing?", changed)
    assert disagree and found == {"11", "35"}, found
    two = [
        sent("a", 0, "Police arrested 11 people in Tarn on Monday."),
        sent("a", 5, "Police in Tarn arrested 35 people in raids."),
        *filler("cd"),
    ]
    assert not values("How many people were arrested in Tarn?", two)[1]  # two raids, nothing says the figure changed


def test_a_thing_described_in_different_colours_is_a_disagreement_about_the_thing():
    ev = [
        sent("a", 0, "Police said the robbers fled in a white delivery van."),
        sent("b", 0, "Witnesses saw a silver van speed away from the bank."),
        sent("c", 0, "A white van was later found burnt out."),
        *filler("de"),
    ]
    slot, mentions, disagree = find_conflicts("What kind of van did the robbers use?", ev, HashEmbedder())
    assert disagree and slot is not None and slot.topic == "the van"
    assert {m.shown for m in mentions} == {"white delivery van", "silver van", "white van"}
    one = [sent("a", 0, "The robbers fled in a white van."), sent("b", 0, "A white van was found burnt out."), *filler("cd")]
    assert not find_conflicts("What kind of van did the robbers use?", one, HashEmbedder())[2]


def test_an_age_is_a_version_only_when_it_is_told_of_the_asked_person():
    ev = [
        sent("a", 0, "Skipper Dan Roe, 47, was pulled from the water alive."),
        sent("b", 0, "A 52-year-old skipper was among those rescued, police said."),
        sent("c", 0, "Mara Tolle, whose 20-year-old son was aboard, waited at the pier."),
        sent("d", 0, "Jon Averell, 40, said six of his relatives had been on the boat."),
        *filler("efgh"),
    ]
    found, disagree = values("Who was the skipper of the boat and how old is he?", ev)
    assert found == {"47", "52"} and disagree  # not the son's age, nor a witness's
    found, disagree = values("How old is Jon Averell?", ev)
    assert found == {"40"} and not disagree  # a name asked: its own age only


def test_a_question_asked_in_other_words_asks_for_the_same_kind_of_value():
    from rag.causes import asks_cause

    for toll in ("What's the body count?", "What was the casualty figure?", "How high did the death toll climb?", "Count of the dead?"):
        slot = question_slot(toll)
        assert slot is not None and (slot.kind, slot.verb) == ("count", "killed"), toll
    assert question_slot("At which hospital was he when he gave the death figure?") is None  # a toll named, not asked
    for lasting in ("What was the duration of the siege?", "For how many hours did the siege go on?", "How many days did the search last?"):
        slot = question_slot(lasting)
        assert slot is not None and (slot.kind, slot.noun) == ("measure", "duration"), lasting
    slot = question_slot("When exactly did the raid on the depot begin?")
    assert slot is not None and slot.kind == "time"
    assert question_slot("Who called the police when the raiders arrived?") is None  # "when" of a clause asks no time
    assert asks_cause("What was behind the collapse?")
    ev = [sent("a", 0, "The raid on the depot began at 7.20 pm on Friday."), sent("b", 0, "The raid on the depot began at around 7 pm.")]
    found, disagree = values("When exactly did the raid on the depot begin?", ev)
    assert found == {"19:20", "19:00"} and disagree
