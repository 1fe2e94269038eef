"""An unverified paraphrase is never shown; the article's own sentence can be (rag.claims.quoted),
and the model reads every article's best excerpt (rag.answer.by_article_first)."""

from conftest import ScriptedGenerator, make_engine

from rag.answer import answer, by_article_first
from rag.claims import quoted
from rag.types import Sentence


def sent(article: str, n: int, text: str) -> Sentence:
    return Sentence(id=f"{article}#{n}", article_id=article, n=n, start=0, end=len(text), text=text)


EVIDENCE = [
    sent("a", 0, "A fire broke out at the Linden textile mill in Aldport on Monday night."),
    sent("a", 1, "Three workers were injured, the fire service said."),
    sent("b", 0, "The owner of the Linden mill, Maria Kovacs, said the dye house was destroyed."),
    sent("c", 0, "President Ilse Brandt spoke at Harwick Castle in the north on Tuesday."),
]


def test_the_sentence_that_states_what_the_claim_adds_is_quoted():
    s = quoted("Brandt was speaking at Harwick Castle, in the north.", "Where did Ilse Brandt speak?", EVIDENCE)
    assert s is EVIDENCE[3]


def test_names_and_numbers_the_question_gives_are_not_required_again():
    s = quoted("The two who spoke were the owner of the Linden mill, Maria Kovacs.", "Who were the two who spoke?", EVIDENCE)
    assert s is EVIDENCE[2]


def test_a_number_or_name_the_claim_adds_must_be_in_the_quoted_sentence():
    assert quoted("Five workers were injured, the fire service said.", "How many were hurt?", EVIDENCE) is None
    assert quoted("The fire destroyed the dye house of Lena Varga.", "What was destroyed?", EVIDENCE) is None


def test_who_the_draft_says_reported_it_is_not_required_the_article_names_its_own():
    # The quote is the article's own sentence: a speaker the draft got wrong, or took from the
    # sentence before, is never shown; the sentence shows the article's own (Maria Kovacs).
    for claim in ("Owner Lena Varga said the dye house was destroyed.", "The DFO said that the dye house was destroyed."):
        assert quoted(claim, "What was destroyed?", EVIDENCE) is EVIDENCE[2], claim


def test_words_gathered_from_two_sentences_are_not_one_quote():
    # Half the claim's new words come from each of two sentences: no single sentence states it.
    stitched = "The fire service said Maria Kovacs destroyed the dye house on Monday night."
    assert quoted(stitched, "What happened at the mill?", EVIDENCE) is None


def test_each_articles_best_hit_comes_first():
    hits = [sent("a", 1, "x"), sent("a", 2, "y"), sent("b", 5, "z"), sent("a", 3, "w"), sent("c", 0, "v")]
    assert [s.id for s in by_article_first(hits)] == ["a#1", "b#5", "c#0", "a#2", "a#3"]


HEDGED = """Cause of mill fire

Fire officers said the blaze could have been started by a faulty heater in the dye house.
The mill will stay closed for a week.
"""


def test_a_hedged_fact_stated_as_certain_is_answered_with_the_hedged_sentence(tmp_path, real_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "h.txt").write_text(HEDGED)
    draft = "A faulty heater in the dye house started the blaze."
    e = make_engine(corpus, tmp_path / "data", real_embedder, ScriptedGenerator([draft]))
    a = answer("What started the mill fire?", e)
    assert not a.abstained
    assert draft.rstrip(".") not in a.answer, "the unverified wording is not shown"
    assert "could have been started by a faulty heater" in a.answer
    c = a.citations[0]
    assert e.store.articles[c.source].text[c.start : c.end] == c.quote and "could have been" in c.quote


def test_a_claim_that_adds_only_a_figure_is_quoted_where_the_figure_and_its_words_are():
    evidence = [sent("a", 0, "The toll from the Veldor quake rose to 143 on Sunday, police said."), *EVIDENCE]
    assert quoted("The death toll from the quake is 143.", "What is the death toll from the quake?", evidence) is evidence[0]
    assert quoted("The death toll from the quake is 150.", "What is the death toll from the quake?", evidence) is None


def test_a_wh_word_inside_a_clause_does_not_set_the_kind_of_answer():
    from rag.answer import responsive
    from rag.retrieve import answer_type

    q = "What was the name of the worker who said the roof fell when the fire spread?"
    assert answer_type(q) is None
    assert responsive("Tomas Rehn.", q), "a bare name answers a what-was-the-name question"
    assert answer_type("When did the roof fall, and who saw it?") == "time"
    assert answer_type("What is the number of workers who were hurt when it fell?") == "count"


def test_a_claim_that_gives_no_name_or_another_outcome_is_no_answer():
    from rag.answer import responsive

    q = "What is the name of the British man the army called the group's number two?"
    assert not responsive("The army called the group's number two a naturalised British subject.", q)
    assert responsive("The army named him as Benjamin Zalman-Polun, a British subject.", q)
    q = "How many Republican Guard soldiers were wounded defending the palace?"
    assert not responsive("Two guards were killed, he said.", q)
    assert responsive("Four guards were wounded, he said.", q)
    assert responsive("Four guards were taken to hospital.", q), "no outcome named: the verifier decides"


def test_a_claim_about_another_outcome_or_without_the_asked_identifier_is_no_answer():
    from rag.answer import responsive

    q = "What was the name of the ranger who was killed at the depot?"
    assert not responsive("The wounded were named as ranger Ola Brisk and clerk Tam Vey.", q)
    assert responsive("Ranger Ola Brisk was killed at the gate.", q)
    assert responsive("Ranger Ola Brisk was named by the county.", q), "no outcome named: the verifier decides"
    q = "What was the registration number of the raiders' van?"
    assert not responsive("The van the raiders came in is parked at the Felton police station.", q)
    assert responsive("The van carried the plate FX-2041.", q)
    assert responsive("Four raiders were in the van.", "What was the number of raiders in the van?"), "a count, not an identifier"
    assert responsive("Four raiders died.", "What was the total number of raiders who died?")
    assert responsive("Ola Brisk was the gang's number two.", "What is the name of the man called the gang's number two?")
    q = "Who is the Felton police chief, and what is his phone number?"
    assert responsive("Chief Ola Brisk confirmed the raid.", q), "it answers the first part; the second is reported as not covered"


def test_what_a_named_speaker_said_is_not_answered_by_another_speaker():
    from rag.answer import responsive

    q = "What did Governor Tam Vey say in her televised address after the raid?"
    assert not responsive("In a televised address, an army spokesman said the raiders were foreigners.", q)
    assert responsive("Vey said the raiders would be found.", q)
    assert responsive("The governor said the raiders would be found.", q), "her title names her too"
    q = "How many raiders were there, and what did Governor Tam Vey say?"
    assert responsive("Four raiders entered the depot.", q), "it answers the first part"


MILL = """Fire at the Linden mill

A fire broke out at the Linden textile mill in Aldport on Monday night.
The office building was cleared in a joint operation by firefighters, police and army engineers.
Around 60-70 staff are said to work at the mill on a weekday.
Three workers were injured, the fire service said.
"""


def test_the_answered_part_of_a_draft_that_also_says_what_is_missing_is_kept(tmp_path, real_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "m.txt").write_text(MILL)
    draft = "Three workers were injured, the fire service said. The excerpts do not say what caused the fire."
    e = make_engine(corpus, tmp_path / "data", real_embedder, ScriptedGenerator([draft]))
    a = answer("How many workers were injured at the Linden mill, and what caused the fire?", e)
    assert not a.abstained and "Three workers were injured" in a.answer


def test_excerpt_references_in_a_draft_are_not_claims_to_check(tmp_path, real_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "m.txt").write_text(MILL)
    draft = "According to the first excerpt, around 60-70 staff are said to work at the mill on a weekday."
    e = make_engine(corpus, tmp_path / "data", real_embedder, ScriptedGenerator([draft]))
    a = answer("How many staff work at the Linden mill?", e)
    assert not a.abstained and "60-70 staff" in a.answer and "excerpt" not in a.answer


def test_a_name_repeated_from_the_question_needs_only_the_articles_not_the_sentence(tmp_path, real_embedder):
    from rag.verify import AnswersQuestion, HeuristicVerifier

    article = MILL
    q = "Which services took part in the operation to clear the Linden office building?"
    evidence = ["The office building was cleared in a joint operation by firefighters, police and army engineers."]
    claim = "The Linden office building was cleared by firefighters, police and army engineers."
    v = HeuristicVerifier(real_embedder)
    assert not v.support(claim, evidence).supported, "the name is not in the sentence"
    assert AnswersQuestion(v, q, article_text=lambda texts: article).support(claim, evidence).supported
    # a question name the article never mentions is still missing; so is a name the question does not give
    assert (
        not AnswersQuestion(v, q.replace("Linden", "Marlow"), article_text=lambda texts: article)
        .support(claim.replace("Linden", "Marlow"), evidence)
        .supported
    )
    assert (
        not AnswersQuestion(v, "Which services cleared the office building?", article_text=lambda texts: article)
        .support(claim, evidence)
        .supported
    )


def test_the_model_reads_the_best_ranked_sentences_unless_told_to_read_each_article_first(tmp_path, hash_embedder):
    """`evidence_order = "rank"` (default): the excerpts are the retrieval ranking, so an answer in
    one article's second-best sentence is not pushed out by other articles' weaker best ones;
    `"articles"` puts each article's best sentence first."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        "Lantern festival\n\nThe Orvel lantern festival drew crowds to the river.\n"
        "The Orvel lantern festival lasted three nights.\nThe Orvel lantern festival ended with fireworks.\n"
    )
    (corpus / "b.txt").write_text("Weather\n\nRain is expected in Orvel at the weekend.\n")
    (corpus / "c.txt").write_text("Roads\n\nThe Orvel ring road reopened on Monday.\n")
    q = "How long did the Orvel lantern festival last?"
    shown = {}
    for order in ("rank", "articles"):
        gen = ScriptedGenerator(["It lasted three nights."])
        answer(q, make_engine(corpus, tmp_path / f"data-{order}", hash_embedder, gen, evidence_order=order, prompt_sentences=3))
        shown[order] = gen.prompts[0][-1]["content"]
    assert "festival lasted three nights" in shown["rank"] and "festival lasted three nights" in shown["articles"]
    assert "Rain is expected" in shown["articles"] and "ring road" in shown["articles"]
    assert "Rain is expected" not in shown["rank"] and "ring road" not in shown["rank"], shown["rank"]


def test_a_quote_that_replaces_a_rejected_claim_must_answer_the_question_too():
    from rag.answer import with_quotes
    from rag.claims import Attribution
    from rag.types import Sentence
    from rag.verify import Support

    text = "The injured were identified as ranger Ola Brisk, 35, and clerk Tam Vey, 25."
    s = Sentence(id="a#3", article_id="a", n=3, start=0, end=len(text), text=text)
    rejected = Attribution("The ranger who was killed was Ola Brisk.", (), Support(False, 0.2, "role"))
    out = with_quotes([rejected], "What was the name of the ranger who was killed?", [s])
    assert not out[0].support.supported, "the injured are no answer to who was killed"
    out = with_quotes([rejected], "Who was the ranger who was injured?", [s])
    assert out[0].support.supported and out[0].sentences == (s,), "the same quote answers a question about the injured"


def test_a_rejected_claim_is_answered_by_a_sentence_that_states_half_of_what_it_adds():
    from rag.answer import with_quotes
    from rag.claims import Attribution
    from rag.verify import Support

    claim = "The dye house and the loading bay were destroyed."  # adds dye, house, loading, bay: the article says two of four
    q = "What was destroyed at the Linden mill?"
    assert quoted(claim, q, EVIDENCE) is None  # two thirds by default
    out = with_quotes([Attribution(claim, (), Support(False, 0.3, "coverage"))], q, EVIDENCE)
    assert out[0].support.supported and out[0].sentences == (EVIDENCE[2],) and out[0].claim == EVIDENCE[2].text
    out = with_quotes(
        [Attribution("The boiler room, the loading bay and the dye house burned.", (), Support(False, 0.3, "x"))], q, EVIDENCE
    )
    assert not out[0].support.supported  # two of six new words: no quote
