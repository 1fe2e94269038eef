"""The model's memory of the fixed prompt prefix, kept on disk between processes.

Every question starts with the same system text and few-shot turns. A warm process reuses
their KV cache (llama.cpp matches the longest shared token prefix), but a cold `rag ask`
would pay their whole prefill again: about 380 tokens, ~3 s on 2 cores. `PrefixCache`
saves the KV state of that prefix once, in llama.cpp's own sequence-state file format,
and a new process loads it in milliseconds.

The file name hashes everything the state depends on: the model file, the llama.cpp build,
the context settings and the prefix tokens themselves. A file that does not match, is cut
short or fails to load is ignored and written again; the cache can only make answers
faster, never different in kind or broken.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MIN_PREFIX_TOKENS = 32  # shorter shared prefixes are not worth a file
PROBE = "\u2063"  # invisible separator: a last-turn text no real question starts with


def chat_formatter(llm: Any):
    """The function llama-cpp-python itself uses to turn messages into a prompt, or None."""
    from llama_cpp import llama_chat_format as lcf

    name = llm.chat_format or ""
    if name == "chat_template.default":

        def token_text(token: int) -> str:
            return llm.detokenize([token], special=True).decode("utf-8", errors="ignore")

        return lcf.Jinja2ChatFormatter(
            template=llm.metadata["tokenizer.chat_template"],
            eos_token=token_text(llm.token_eos()),
            bos_token=token_text(llm.token_bos()),
            stop_token_ids=[llm.token_eos()],
        )
    return getattr(lcf, "format_" + re.sub(r"\W", "_", name), None)


def prompt_tokens(llm: Any, formatter: Any, messages: list[dict[str, str]]) -> list[int]:
    result = formatter(messages=messages)
    return list(llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True))


def fixed_prefix(llm: Any, messages: list[dict[str, str]]) -> list[int]:
    """Tokens every prompt of this shape shares: the prompt up to where the last turn's text begins."""
    formatter = chat_formatter(llm)
    if formatter is None or not messages:
        return []
    probe = [*messages[:-1], {**messages[-1], "content": PROBE}]
    a, b = prompt_tokens(llm, formatter, messages), prompt_tokens(llm, formatter, probe)
    n = llm.longest_token_prefix(a, b)
    return a[: min(n, len(a) - 1)]  # at least one token is left for the model to evaluate


class PrefixCache:
    """Restores or saves the KV state of a generator's fixed prompt prefix (sequence 0)."""

    def __init__(self, folder: Path, model_path: Path, settings: str):
        self.folder = Path(folder)
        st = Path(model_path).stat()
        self.identity = f"{Path(model_path).name}:{st.st_size}:{st.st_mtime_ns}:{settings}"

    def path_for(self, tokens: list[int]) -> Path:
        import llama_cpp

        h = hashlib.sha256(f"{self.identity}:{llama_cpp.__version__}:{llama_cpp.llama_print_system_info()!r}".encode())
        h.update(",".join(map(str, tokens)).encode())
        return self.folder / f"prefix-{h.hexdigest()[:24]}.kv"

    def warm(self, llm: Any, tokens: list[int]) -> str:
        """Leave `tokens` evaluated in `llm`: loaded from disk when possible, else computed
        and saved. Returns 'loaded', 'saved' or 'computed' (saving failed)."""
        path = self.path_for(tokens)
        if path.exists():
            if self._load(llm, path, tokens):
                return "loaded"
            log.info("ignoring unusable prompt cache %s", path)
        llm.reset()
        llm.eval(tokens)
        return "saved" if self._save(llm, path, tokens) else "computed"

    def _load(self, llm: Any, path: Path, tokens: list[int]) -> bool:
        import llama_cpp

        out = (llama_cpp.llama_token * len(tokens))()
        n_out = ctypes.c_size_t(0)
        llm.reset()
        read = llama_cpp.llama_state_seq_load_file(llm.ctx, str(path).encode(), 0, out, len(tokens), ctypes.byref(n_out))
        if not read or n_out.value != len(tokens) or list(out) != tokens:
            llm._ctx.kv_cache_clear()  # whatever a partial load left behind
            return False
        llm.input_ids[: len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        return True

    def _save(self, llm: Any, path: Path, tokens: list[int]) -> bool:
        import llama_cpp

        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            arr = (llama_cpp.llama_token * len(tokens))(*tokens)
            if not llama_cpp.llama_state_seq_save_file(llm.ctx, str(tmp).encode(), 0, arr, len(tokens)):
                return False
            os.replace(tmp, path)  # readers see the old file or the whole new one
            return True
        except OSError as e:
            log.info("could not save the prompt cache in %s: %s", self.folder, e)
            return False
        finally:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
