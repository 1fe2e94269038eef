"""Prototype: the model judges which evidence sentence answers the question (P(yes) from logits). DEV sets only."""
import sys, dataclasses, time, json, os
from pathlib import Path
sys.path.insert(0, "/work/main")
import numpy as np, llama_cpp
from evals import conflict_eval as ce, metrics as M
from evals.cases import load_cases, read_corpus_texts
from rag.config import Config
from rag.wiring import build_embedder, build_index, load_store
from rag.retrieve import retrieve
from rag.answer import evidence_sentences, pick_evidence
from rag.conflicts import find_conflicts
from rag.answer import article_text

SETS = sys.argv[1].split(",")
OUT = sys.argv[2]
cfg = Config()
emb = build_embedder(cfg)
llm = llama_cpp.Llama(model_path="/work/main/data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", n_ctx=1024, n_threads=2, n_batch=512, flash_attn=True, verbose=False, seed=0)
tok = lambda w: llm.tokenize(w.encode(), add_bos=False, special=False)[0]
YES = sorted({tok(w) for w in ("yes","Yes"," yes"," Yes")}); NO = sorted({tok(w) for w in ("no","No"," no"," No")})
SYS = "You check whether a sentence from a news report answers a question. Answer only yes or no."
def p_answers(q, s):
    prompt = f"<|im_start|>system\n{SYS}<|im_end|>\n<|im_start|>user\nQuestion: {q}\nSentence: {s}\nDoes the sentence give the answer to the question? Answer yes or no.<|im_end|>\n<|im_start|>assistant\n"
    t = llm.tokenize(prompt.encode(), add_bos=False, special=True)
    n = llm.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), t); n = min(n, len(t)-1)
    llm.n_tokens = n; llm.eval(t[n:])
    lg = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),)).astype(np.float64)
    p = np.exp(lg - lg.max()); y, no = p[YES].sum(), p[NO].sum()
    return float(y / (y + no))
rows = []
for corpus, cases_path in ce.case_sets():
    if cases_path.stem not in SETS: continue
    cases = load_cases(cases_path, read_corpus_texts(corpus))
    ecfg = dataclasses.replace(cfg, corpus=corpus, data_dir=Path("/tmp/ev/idx-bundled") / corpus.name)
    build_index(ecfg, corpus, embedder=emb)
    store = load_store(ecfg, emb)
    t0 = time.time(); n = 0
    for c in cases:
        if c.history: continue
        r = retrieve(store, emb, c.question, cfg.top_k, cfg.per_article)
        _, mentions, _ = find_conflicts(c.question, [h.sentence for h in r.pool], emb, share=store.bm25.share, article_text=article_text(store))
        ev = evidence_sentences(store, pick_evidence([h.sentence for h in r.hits], [m.sentence for m in mentions], cfg.top_k))
        ps = [p_answers(c.question, s.text) for s in ev[:8]]
        kf = [[M.contains_fact(s.text, k) for k in c.key_facts] for s in ev[:8]]
        rows.append(dict(set=cases_path.stem, q=c.question, answerable=c.answerable, type=c.type, ps=ps, kf=kf, nkf=len(c.key_facts))); n += 1
    print(cases_path.stem, n, f"{(time.time()-t0)/max(n,1):.2f}s/case", flush=True)
    json.dump(rows, open(OUT, "w"))
