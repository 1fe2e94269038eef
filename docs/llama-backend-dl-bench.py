"""One timed llama.cpp run: n_ctx 2048, 2 threads, n_batch 512, flash attention,
a 384-token prompt, greedy generation of 64 tokens (EOS banned so all 64 are made).

    python dl-bench.py MODEL [--info]

If DL_BACKEND_DIR is set, ggml_backend_load_all_from_path(DL_BACKEND_DIR) is called before
the first Llama() (needed by a GGML_BACKEND_DL build whose backend modules are not in the
executable's directory or the cwd). Prints one JSON line.
"""

import ctypes
import json
import os
import sys
import time

import llama_cpp
import numpy as np
from llama_cpp import Llama

PARA = (
    "The city council voted on Tuesday night to approve a new budget that expands bus service, "
    "repairs aging bridges and hires more teachers, after months of debate over how to close a "
    "projected shortfall. Supporters said the plan balances growth with fiscal caution, while "
    "critics warned that rising property taxes could push longtime residents out of their "
    "neighborhoods. The mayor is expected to sign the measure later this week. "
)
N_PROMPT = 384
N_GEN = 64


def ggml_lib():
    # By soname, no slash: glibc hands back the libggml.so.0 that libllama already loaded.
    # (llama_cpp/lib/libggml.so is a separate copy in the wheel, not a symlink; dlopen()ing it
    # by path maps a second ggml with its own, empty, backend registry.)
    return ctypes.CDLL("libggml.so.0")


def backend_info(g):
    g.ggml_backend_dev_count.restype = ctypes.c_size_t
    g.ggml_backend_dev_get.restype = ctypes.c_void_p
    g.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    g.ggml_backend_dev_name.restype = ctypes.c_char_p
    g.ggml_backend_dev_name.argtypes = [ctypes.c_void_p]
    g.ggml_backend_dev_description.restype = ctypes.c_char_p
    g.ggml_backend_dev_description.argtypes = [ctypes.c_void_p]
    g.ggml_backend_reg_count.restype = ctypes.c_size_t
    g.ggml_backend_reg_get.restype = ctypes.c_void_p
    g.ggml_backend_reg_get.argtypes = [ctypes.c_size_t]
    g.ggml_backend_reg_name.restype = ctypes.c_char_p
    g.ggml_backend_reg_name.argtypes = [ctypes.c_void_p]
    regs = [g.ggml_backend_reg_name(g.ggml_backend_reg_get(i)).decode() for i in range(g.ggml_backend_reg_count())]
    devs = []
    for i in range(g.ggml_backend_dev_count()):
        d = g.ggml_backend_dev_get(i)
        devs.append(f"{g.ggml_backend_dev_name(d).decode()}: {g.ggml_backend_dev_description(d).decode()}")
    return regs, devs


def loaded_ggml_libs():
    seen = []
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if "ggml" in p and p not in seen:
                seen.append(p)
    return seen


def cpu_snapshot():
    """(busy jiffies of the whole machine, this process's CPU seconds, wall time)."""
    import resource

    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = sum(v) - v[3] - v[4]  # minus idle and iowait
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return busy / os.sysconf("SC_CLK_TCK"), ru.ru_utime + ru.ru_stime, time.perf_counter()


def others_frac(a, b):
    """Share of the machine's cores that other processes used between two snapshots."""
    wall = b[2] - a[2]
    ncpu = os.cpu_count() or 1
    return max(0.0, ((b[0] - a[0]) - (b[1] - a[1])) / (wall * ncpu))


def main():
    model = sys.argv[1]
    info = "--info" in sys.argv
    g = ggml_lib()
    dl_dir = os.environ.get("DL_BACKEND_DIR")
    if dl_dir:
        g.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
        g.ggml_backend_load_all_from_path(dl_dir.encode())

    threads = int(os.environ.get("BENCH_THREADS", "2"))
    llm = Llama(model_path=model, n_ctx=2048, n_threads=threads, n_threads_batch=threads, n_batch=512, flash_attn=True, verbose=False)
    para_tokens = llm.tokenize(PARA.encode(), add_bos=False)
    prompt = (para_tokens * (N_PROMPT // len(para_tokens) + 1))[:N_PROMPT]
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    eog = [t for t in range(llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, t)]

    def ban_eog(_ids, scores):
        scores[eog] = -np.inf
        return scores

    # warm-up: a short prompt and a few tokens, then forget it
    llm.create_completion(prompt[:32], max_tokens=4, temperature=0.0)
    llm.reset()
    llama_cpp.llama_perf_context_reset(llm.ctx)

    s0 = cpu_snapshot()
    s1 = None
    t0 = time.perf_counter()
    first = None
    pieces = []
    for chunk in llm.create_completion(
        prompt, max_tokens=N_GEN, temperature=0.0, stream=True, logits_processor=llama_cpp.LogitsProcessorList([ban_eog])
    ):
        if first is None:
            first = time.perf_counter()
            s1 = cpu_snapshot()
        pieces.append(chunk["choices"][0]["text"])
    end = time.perf_counter()
    s2 = cpu_snapshot()
    perf = llama_cpp.llama_perf_context(llm.ctx)
    out = {
        "model": os.path.basename(model),
        "threads": threads,
        "n_prompt": perf.n_p_eval,
        "n_gen_eval": perf.n_eval,
        "prompt_tps": perf.n_p_eval / (perf.t_p_eval_ms / 1000.0),
        "gen_tps": perf.n_eval / (perf.t_eval_ms / 1000.0),
        "wall_prompt_tps": N_PROMPT / (first - t0),
        "wall_gen_tps": (N_GEN - 1) / (end - first),
        "others_cpu_prompt": round(others_frac(s0, s1), 3),
        "others_cpu_gen": round(others_frac(s1, s2), 3),
        "text_head": "".join(pieces)[:80],
    }
    if info:
        regs, devs = backend_info(g)
        out["system_info"] = llama_cpp.llama_print_system_info().decode()
        out["backend_regs"] = regs
        out["devices"] = devs
        out["ggml_libs_mapped"] = loaded_ggml_libs()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
