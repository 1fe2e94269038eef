"""Prototype: yes/no questions, each article's sentences read by the model as yes / no / not stated."""
import sys, dataclasses, time, re, json, os
from pathlib import Path
sys.path.insert(0, "/work/main")
import numpy as np, llama_cpp
from evals import conflict_eval as ce, metrics as M
from evals.cases import load_cases, read_corpus_texts
from rag.config import Config
from rag.wiring import build_embedder, build_index, load_store
from rag.retrieve import retrieve
SETS = sys.argv[1].split(","); OUT = sys.argv[2]; PRINT = set(os.environ.get("PRINT","").split(","))
cfg = Config(); emb = build_embedder(cfg)
llm = llama_cpp.Llama(model_path="/work/main/data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", n_ctx=1024, n_threads=2, n_batch=512, flash_attn=True, verbose=False, seed=0)
def first(ws): return sorted({llm.tokenize(w.encode(), add_bos=False, special=False)[0] for w in ws})
Y = first(("yes","Yes"," yes"," Yes")); N = first(("no","No"," no"," No")); U = first(("unknown","Unknown"," unknown"," Unknown"))
YN = re.compile(r"^\s*(?:did|was|were|is|are|has|have|had|do|does|could|would|will|can)\b", re.I)
SYS = "You read one sentence from a news report and answer a yes/no question from that sentence only. Answer yes, no, or unknown (if the sentence does not say)."
def probs(q, s):
    p = f"<|im_start|>system\n{SYS}<|im_end|>\n<|im_start|>user\nQuestion: {q}\nSentence: {s}\nAccording to this sentence alone, what is the answer: yes, no, or unknown?<|im_end|>\n<|im_start|>assistant\n"
    t = llm.tokenize(p.encode(), add_bos=False, special=True)
    n = llm.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), t); n = min(n, len(t)-1)
    llm.n_tokens = n; llm.eval(t[n:])
    lg = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),)).astype(np.float64)
    e = np.exp(lg - lg.max()); y, no, u = e[Y].sum(), e[N].sum(), e[U].sum(); z = y+no+u
    return float(y/z), float(no/z), float(u/z)
rows = []
for corpus, cases_path in ce.case_sets():
    if cases_path.stem not in SETS: continue
    cases = load_cases(cases_path, read_corpus_texts(corpus))
    ecfg = dataclasses.replace(cfg, corpus=corpus, data_dir=Path("/tmp/ev/idx-bundled") / corpus.name)
    build_index(ecfg, corpus, embedder=emb); store = load_store(ecfg, emb)
    for c in cases:
        if c.history or not c.answerable or not YN.search(c.question): continue
        r = retrieve(store, emb, c.question, cfg.top_k, cfg.per_article)
        by = {}
        for h in r.pool[:30]: by.setdefault(h.sentence.article_id, []).append(h.sentence)
        reads = []
        for aid, ss in list(by.items())[:5]:
            for s in ss[:2]:
                reads.append((aid, s.text, probs(c.question, s.text)))
        rows.append(dict(set=cases_path.stem, conflict=bool(c.expect_conflict and len(c.conflict_values) >= 2), values=list(c.conflict_values), reads=reads,
                         q=c.question if cases_path.stem in PRINT else ""))
    print(cases_path.stem, sum(r["set"]==cases_path.stem for r in rows), flush=True)
    json.dump(rows, open(OUT, "w"))
