"""Names each article gives the role a question asks about (rag.rolenames via find_conflicts)."""

from conftest import HashEmbedder, sent

from rag.conflicts import find_conflicts, role_mentions
from rag.rolenames import names_in_role, role_of
from rag.types import Sentence


def versions(question: str, evidence: list[Sentence], embedder=None) -> tuple[dict[str, set[str]], bool]:
    """Each name found for the role with its articles, and whether find_conflicts reports a disagreement."""
    embedder = embedder or HashEmbedder()
    _, mentions = role_mentions(question, evidence, embedder)
    out: dict[str, set[str]] = {}
    for m in mentions:
        out.setdefault(m.value, set()).add(m.sentence.article_id)
    slot, _, disagree = find_conflicts(question, evidence, embedder)
    assert not disagree or slot.kind == "name"
    return out, disagree


def test_the_role_is_the_noun_phrase_the_question_names():
    assert role_of("What is the name of the local police chief who gave the rescue numbers?")[::3] == ("chief", "local police chief")
    assert role_of("What is the name of the senior section engineer the CBI arrested?")[0] == "engineer"
    head, modifiers, complement, _ = role_of("Who was the chief of the Uvalde school district's police department?")
    assert head == "chief" and not modifiers and "uvald" in " ".join(complement)
    assert role_of("What is the name of the young man who carried out the attack?") is None  # generic: no role to read
    assert role_of("Name the police officers who led the raid.") is None  # several people: a list
    assert role_of("Who attacked the office?") is None and role_of("How many people died?") is None


def test_names_are_read_in_apposition_to_the_role_not_beside_it():
    q = "What is the name of the senior section engineer who was arrested?"
    role = lambda w: w.lower().startswith(("engineer", "technician"))  # noqa: E731
    s = sent(
        "a",
        0,
        "Those held are Arun Kumar Mahanta, a senior section engineer; Mohammad Amir Khan, a section engineer; and Pappu Kumar, a technician.",
    )
    found = dict(names_in_role(q, s, role, set()))
    assert found["Arun Kumar Mahanta"] > found["Mohammad Amir Khan"]  # the question's own modifiers fit best
    s = sent("b", 0, "Speaking to the agency ANI, the engineer Rakesh Singh said on Friday the signal had failed.")
    assert [n for n, _ in names_in_role(q, s, role, set())] == ["Rakesh Singh"]  # not the acronym, not "Friday"
    s = sent("c", 0, "The gunman, identified by officials as Salvatore Ramos, was 18.")
    assert [n for n, _ in names_in_role("What is the name of the gunman?", s, lambda w: w.lower() == "gunman", set())] == [
        "Salvatore Ramos"
    ]


def test_two_spellings_of_the_role_holder_are_two_versions_with_their_articles():
    ev = [
        sent("a", 0, "Local police chief Marudut Liberty Panjaitan said 19 people were rescued."),
        sent("b", 0, "The captain survived, local police chief Marudut Liberty Pandjaitan told reporters."),
        sent("c", 0, "Rescue work went on through the night."),
    ]
    found, disagree = versions("What is the name of the local police chief?", ev)
    assert disagree and found == {"marudut liberty panjaitan": {"a"}, "marudut liberty pandjaitan": {"b"}}


def test_a_shorter_form_of_the_same_name_is_no_second_version():
    ev = [
        sent("a", 0, "The school district's police chief, Pete Arredondo, was in charge."),
        sent("b", 0, "The school district police chief Arredondo said he never saw himself as the commander."),
    ]
    found, disagree = versions("Who was the chief of the school district's police?", ev)
    assert not disagree and found == {"pete arredondo": {"a", "b"}}


def test_a_holder_of_another_role_or_of_the_role_for_another_body_is_no_version():
    ev = [
        sent("a", 0, "Police spokesman Kuber Kadayat said 150 people had died."),
        sent("b", 0, "Government spokesman Gopal Bhattarai said the rescue phase was over."),
        sent("c", 0, "The dead were counted by district officials, Home Minister Rabi Lamichhane said."),
    ]
    found, disagree = versions("Who was the spokesman for the police?", ev)
    assert not disagree and set(found) == {"kuber kadayat"}


def test_an_article_naming_several_people_in_the_role_gives_no_version():
    ev = [
        sent("a", 0, "Engineer Arun Mahanta and engineer Amir Khan were held."),
        sent("b", 0, "Engineer Arun Mohanta was held on Friday."),
    ]
    found, disagree = versions("What is the name of the engineer who was held?", ev)
    assert not disagree and set(found) == {"arun mohanta"}


def test_a_role_word_of_like_meaning_holds_the_name(real_embedder):
    ev = [
        sent("a", 0, "The teacher's lawyer, Don Flanary of San Antonio, said she had closed the door."),
        sent("b", 0, "The teacher's lawyer, Dan Flanery, said she had kicked the rock away."),
    ]
    found, disagree = versions("Who is the attorney for the teacher?", ev, real_embedder)
    assert disagree and set(found) == {"don flanary", "dan flanery"}


def test_another_rank_of_the_role_is_another_role():
    ev = [
        sent("a", 0, "Additional Inspector General Javed Odho confirmed the attack."),
        sent("b", 0, "Irfan Baloch, the deputy inspector general of police, said the floors were cleared."),
        sent("c", 0, "Inspector General Ghulam Memon led the operation."),
    ]
    found, disagree = versions("Who is the inspector general of police?", ev)
    assert not disagree and set(found) == {"ghulam memon"}
