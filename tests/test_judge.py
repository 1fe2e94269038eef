"""The model judge (rag/judge.py): a claim it does not confirm is never shown in the model's
words; copies skip it; the real 1.5B judge separates a misread figure from a true claim."""

import dataclasses

import pytest
from conftest import ScriptedGenerator, make_engine

from rag.answer import answer
from rag.claims import Attribution
from rag.judge import confirmed, verbatim
from rag.types import Sentence
from rag.verify import Support

FIRE = """Fire at Linden mill

A fire broke out at the Linden textile mill in Aldport on Monday night.
The fire started in the north wing of the Linden textile mill on Monday night, the fire service said.
Three workers died and 12 were injured, the fire service said.
The mill will stay closed for a week.
"""


class ListJudge:
    """Confirms only the claims it was given, and records every question it was asked."""

    def __init__(self, true_claims: set[str]):
        self.true_claims, self.asked = true_claims, []

    def probability(self, claim, evidence):
        self.asked.append((claim, tuple(evidence)))
        return 0.95 if claim in self.true_claims else 0.1


def s(text: str, n: int = 0) -> Sentence:
    return Sentence(id=f"a#{n}", article_id="a", n=n, start=0, end=len(text), text=text)


def test_only_supported_non_verbatim_claims_are_judged_and_rejections_say_why():
    ev = (s("Three workers died and 12 were injured, the fire service said."),)
    atts = [
        Attribution("Three workers died and 12 were injured.", ev, Support(True, 0.9)),  # a copy: not asked
        Attribution("Twelve workers died in the fire.", ev, Support(True, 0.8)),  # misread: rejected
        Attribution("Three workers were killed.", ev, Support(True, 0.8)),  # confirmed
        Attribution("The mill was insured.", ev, Support(False, 0.2, "x")),  # already unsupported: not asked
    ]
    judge = ListJudge({"Three workers were killed."})
    out = confirmed(atts, judge, 0.8)
    assert [a.support.supported for a in out] == [True, False, True, False]
    assert "judge" in out[1].support.reason
    assert [c for c, _ in judge.asked] == ["Twelve workers died in the fire.", "Three workers were killed."]


def test_verbatim_means_one_unbroken_run_of_a_cited_sentence():
    assert verbatim("the fire service said", ["Three died, the fire service said."])
    assert not verbatim("Three said the fire service.", ["Three died, the fire service said."])
    assert not verbatim("", ["anything"])


def test_a_claim_the_judge_rejects_is_answered_with_the_articles_own_sentence(tmp_path, real_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "fire.txt").write_text(FIRE)
    draft = "The fire started in the south wing of the Linden textile mill on Monday night."  # the heuristic alone lets it through
    e = make_engine(corpus, tmp_path / "data", real_embedder, ScriptedGenerator([draft, draft]))
    q = "In which wing of the Linden mill did the fire start?"
    plain = answer(q, e)
    judged = answer(q, dataclasses.replace(e, judge=ListJudge(set())))
    assert draft.rstrip(".") in plain.answer, "without the judge the misreading is shown (the case the judge exists for)"
    assert draft.rstrip(".") not in judged.answer
    assert "north wing" in judged.answer, "the article's own sentence is quoted instead"
    assert "judge" in judged.timings_ms and "judge" not in plain.timings_ms


@pytest.mark.models
def test_the_packaged_reader_judges_a_misread_figure_below_a_true_claim(tmp_path):
    from rag.config import load_config
    from rag.judge import ModelJudge
    from rag.models import bundled_gguf, packaged_model

    cfg = load_config(env={})
    judge = ModelJudge(bundled_gguf(cfg.models_dir, packaged_model("best")))
    pairs = [
        (
            "The attack on the bus station left three people dead and 12 injured, according to the provincial health department.",
            "Three people died in the attack on the bus station.",
            "The attack on the bus station left 12 people dead.",
        ),
        (
            "The fire started in the north wing of the Linden textile mill on Monday night, the fire service said.",
            "The fire started in the north wing of the Linden mill on Monday.",
            "The fire started in the south wing of the Linden textile mill on Monday night.",
        ),
    ]
    for evidence, true_claim, misread in pairs:
        true, false = judge.probability(true_claim, [evidence]), judge.probability(misread, [evidence])
        assert false < 0.5 and true > false + 0.25, (true_claim, true, misread, false)


def test_the_judge_is_built_through_a_wrapping_generator(monkeypatch):
    import rag.judge as judge_mod

    class Llm:
        model_path = "/models/reader.gguf"

    class Inner:
        llm = Llm()

    class Wrapper:  # like evals.systems' recorder: keeps the real generator as `.inner`
        inner = Inner()

    built = []
    monkeypatch.setattr(judge_mod, "ModelJudge", lambda path, threads=None: built.append(str(path)) or "judge")
    assert judge_mod.build_judge(Wrapper()) == "judge" and built == ["/models/reader.gguf"]
    assert judge_mod.build_judge(object()) is None
