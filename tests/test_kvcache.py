"""The on-disk KV cache of the fixed prompt prefix, with a real (small) llama.cpp model."""

from __future__ import annotations

import pytest

from rag.generate import complete

pytestmark = pytest.mark.models

PREFIX = [
    {"role": "system", "content": "You answer questions about news articles in one short sentence. " * 4},
    {"role": "user", "content": "Excerpts:\n[1] The bridge opened in 1932.\nQuestion: When did the bridge open?"},
    {"role": "assistant", "content": "The bridge opened in 1932 [1]."},
]


def ask(question: str) -> list[dict[str, str]]:
    return [*PREFIX, {"role": "user", "content": f"Excerpts:\n[1] The mill burned on a Tuesday.\nQuestion: {question}"}]


def generator(tmp_path, chat_format=None):
    from rag.generate import LlamaCppGenerator
    from rag.models import smollm_gguf

    return LlamaCppGenerator(smollm_gguf(), n_ctx=1024, threads=2, chat_format=chat_format, cache_dir=tmp_path / "cache")


class CountingEval:
    """Records how many tokens each llama.cpp eval call is given."""

    def __init__(self, llm):
        self.calls: list[int] = []
        inner = llm.eval

        def counted(tokens):
            self.calls.append(len(tokens))
            return inner(tokens)

        llm.eval = counted


@pytest.mark.parametrize("chat_format", [None, "chatml"])
def test_a_new_process_loads_the_prefix_and_evaluates_only_the_question(tmp_path, chat_format):
    from rag.kvcache import fixed_prefix

    first = generator(tmp_path, chat_format)
    reply = complete(first, ask("When did the mill burn?"), 12)
    assert first.prefix_state == "saved"
    files = list((tmp_path / "cache").glob("prefix-*.kv"))
    assert len(files) == 1 and files[0].stat().st_size > 0

    second = generator(tmp_path, chat_format)  # as a new `rag ask` would
    counter = CountingEval(second.llm)
    assert complete(second, ask("When did the mill burn?"), 12) == reply
    assert second.prefix_state == "loaded"
    from rag.kvcache import chat_formatter, prompt_tokens

    messages = ask("When did the mill burn?")
    n_prompt = len(prompt_tokens(second.llm, chat_formatter(second.llm), messages))
    n_prefix = len(fixed_prefix(second.llm, messages))
    assert 60 < n_prefix < n_prompt
    # The first eval starts right after the prefix: none of it is computed again.
    assert counter.calls[0] == n_prompt - n_prefix


def test_the_prefix_is_exactly_the_shared_part_of_two_prompts(tmp_path):
    from rag.kvcache import chat_formatter, fixed_prefix, prompt_tokens

    g = generator(tmp_path)
    a, b = ask("When did the mill burn?"), ask("Who owned it?")
    ta, tb = (prompt_tokens(g.llm, chat_formatter(g.llm), m) for m in (a, b))
    p = fixed_prefix(g.llm, a)
    assert ta[: len(p)] == tb[: len(p)] == p
    assert len(p) < len(ta)
    shared = next(i for i, (x, y) in enumerate(zip(ta, tb, strict=False)) if x != y)
    assert len(p) <= shared  # never past where two real prompts differ


def test_a_corrupt_or_foreign_cache_file_is_ignored_and_rewritten(tmp_path):
    g = generator(tmp_path)
    reply = complete(g, ask("When did the mill burn?"), 12)
    (path,) = (tmp_path / "cache").glob("prefix-*.kv")
    path.write_bytes(path.read_bytes()[:100])  # cut short, as by a full disk
    again = generator(tmp_path)
    assert complete(again, ask("When did the mill burn?"), 12) == reply
    assert again.prefix_state == "saved"
    assert path.stat().st_size > 100


def test_an_unwritable_cache_folder_costs_only_the_saving(tmp_path):
    (tmp_path / "cache").write_text("a file where the folder should be")
    g = generator(tmp_path)
    assert complete(g, ask("When did the mill burn?"), 12).strip()
    assert g.prefix_state == "computed"


def test_without_a_cache_folder_nothing_is_written(tmp_path):
    from rag.generate import LlamaCppGenerator
    from rag.models import smollm_gguf

    g = LlamaCppGenerator(smollm_gguf(), n_ctx=1024, threads=2)
    assert complete(g, ask("When did the mill burn?"), 8).strip()
    assert g.prefix_state == "" and not any(tmp_path.iterdir())
