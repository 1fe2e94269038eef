"""The reader model as a yes/no judge of a claim against the sentences cited for it.

The heuristic verifier (`rag.verify`) reads words, numbers and names; it cannot see that
"12 people dead" misreads "three dead and 12 injured", that a plant "in Frankfurt" was only
80 km from it, or that a hedged report became a fact. The 1.5B model can, mostly: asked
"Is every part of the claim stated in the evidence?", its probability of "yes" (read from the
first token's logits, no text generated) separates true claims from such misreadings
(measured on three adversarial pair sets, README).

It runs only after the heuristic has passed a claim, once per shown claim, on a second
llama.cpp context over the same memory-mapped weights, so the answer prompt's cached prefix
stays in its own context. A claim the judge rejects is not shown in the model's words: the
answer path quotes the article's sentence instead (`rag.claims.quoted`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from rag.claims import Attribution
from rag.errors import RagError
from rag.prompt import PROMPTS_DIR, render
from rag.verify import Support

log = logging.getLogger(__name__)


class Judge(Protocol):
    def probability(self, claim: str, evidence: Sequence[str]) -> float:
        """P(the evidence states the claim), 0..1."""
        ...


def verbatim(claim: str, evidence: Sequence[str]) -> bool:
    """Whether the claim's words are one unbroken run of a cited sentence's words: a copy
    cannot misread its source, so the judge is not asked (and its time is saved).

    >>> verbatim("More than 280 people were wounded.", ["More than 280 people were wounded, officials said."])
    True
    >>> verbatim("280 people were killed.", ["280 people were wounded and 3 killed."])
    False
    """
    words = re.findall(r"\w+", claim.lower())
    if not words:
        return False
    needle = " " + " ".join(words) + " "
    return any(needle in " " + " ".join(re.findall(r"\w+", e.lower())) + " " for e in evidence)


class ModelJudge:
    """A GGUF chat model read for P(yes) on the judge prompt (`prompts/judge.j2`)."""

    def __init__(self, model_path: Path, threads: int | None = None, n_ctx: int = 1024, folder: Path = PROMPTS_DIR):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise RagError("llama-cpp-python is not installed: run `make install`") from None
        try:
            self.llm = Llama(
                model_path=str(model_path), n_ctx=n_ctx, n_threads=threads or 2, n_batch=512, flash_attn=True, verbose=False, seed=0
            )
        except (ValueError, RuntimeError, OSError) as e:
            raise RagError(f"could not load the judge model {model_path}: {e}") from None
        self.system = (folder / "judge_system.txt").read_text(encoding="utf-8").strip()
        self.folder = folder
        self.lock = threading.Lock()
        self.yes = self._first_tokens(("yes", "Yes", " yes", " Yes"))
        self.no = self._first_tokens(("no", "No", " no", " No"))

    def _first_tokens(self, words: tuple[str, ...]) -> list[int]:
        return sorted({self.llm.tokenize(w.encode(), add_bos=False, special=False)[0] for w in words})

    def prompt(self, claim: str, evidence: Sequence[str]) -> str:
        from rag.markers import defused_for

        # claim and evidence are defused by `render`; then any other special string of this vocabulary
        user = defused_for(self.llm, render("judge.j2", self.folder, claim=claim, evidence=" ".join(evidence)))
        return f"<|im_start|>system\n{self.system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"

    def probability(self, claim: str, evidence: Sequence[str]) -> float:
        import llama_cpp
        import numpy as np

        tokens = self.llm.tokenize(self.prompt(claim, evidence).encode("utf-8"), add_bos=False, special=True)
        if len(tokens) >= self.llm.n_ctx():
            return 0.0  # too long to judge: not confirmed
        with self.lock:
            n = self.llm.longest_token_prefix(self.llm.input_ids[: self.llm.n_tokens].tolist(), tokens)
            n = min(n, len(tokens) - 1)  # the last token is always evaluated: its logits are the answer
            self.llm.n_tokens = n  # keep the shared prefix (system text, "Evidence:"); eval drops the rest
            self.llm.eval(tokens[n:])
            ptr = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
            logits = np.ctypeslib.as_array(ptr, shape=(self.llm.n_vocab(),)).astype(np.float64)
        p = np.exp(logits - logits.max())
        yes, no = float(p[self.yes].sum()), float(p[self.no].sum())
        return yes / (yes + no) if yes + no > 0 else 0.0


def confirmed(attributions: list[Attribution], judge: Judge, threshold: float) -> list[Attribution]:
    """The attributions with every supported, non-verbatim claim put to the judge; one it does
    not confirm (P(yes) below `threshold`) becomes unsupported, with the probability as reason."""
    out = []
    for a in attributions:
        evidence = [s.text for s in a.sentences]
        if a.support.supported and evidence and not verbatim(a.claim, evidence):
            p = judge.probability(a.claim, evidence)
            log.debug("judge P(yes)=%.2f for %r", p, a.claim)
            if p < threshold:
                a = Attribution(
                    a.claim, a.sentences, Support(False, a.support.score, f"the model judge did not confirm it (P(yes) {p:.2f})")
                )
        out.append(a)
    return out


def build_judge(generator: Any, threads: int | None = None) -> ModelJudge | None:
    """A judge over the generator's own GGUF file (llama.cpp generators, also inside a wrapper
    such as the eval's recorder, which keeps it as `.inner`), or None."""
    from rag.generate import gguf_path

    path = gguf_path(generator)
    return ModelJudge(Path(path), threads=threads) if path else None
