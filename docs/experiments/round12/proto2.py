"""Prototype 2: per-article model answers + model contradiction judge. Records data; DEV sets by default."""
import sys, dataclasses, time, re, json, os
from pathlib import Path
sys.path.insert(0, "/work/main")
import numpy as np, llama_cpp
from evals import conflict_eval as ce, metrics as M
from evals.cases import load_cases, read_corpus_texts
from rag.config import Config
from rag.wiring import build_embedder, build_index, load_store
from rag.retrieve import retrieve
from index.lexical import tokens

SETS = sys.argv[1].split(","); OUT = sys.argv[2]
cfg = Config(); emb = build_embedder(cfg)
llm = llama_cpp.Llama(model_path="/work/main/data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", n_ctx=2048, n_threads=2, n_batch=512, flash_attn=True, verbose=False, seed=0)
tok = lambda w: llm.tokenize(w.encode(), add_bos=False, special=False)[0]
YES = sorted({tok(w) for w in ("yes","Yes"," yes"," Yes")}); NO = sorted({tok(w) for w in ("no","No"," no"," No")})
def chat(sys_, user): return f"<|im_start|>system\n{sys_}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
def run(prompt):
    t = llm.tokenize(prompt.encode(), add_bos=False, special=True)
    n = llm.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), t); n = min(n, len(t)-1)
    llm.n_tokens = n; llm.eval(t[n:])
def pyes():
    lg = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),)).astype(np.float64)
    p = np.exp(lg - lg.max()); y, no = p[YES].sum(), p[NO].sum(); return float(y/(y+no))
def gen(prompt, max_tokens=20):
    out = llm(prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, repeat_penalty=1.0, stop=["<|im_end|>", "\n"])
    return out["choices"][0]["text"].strip()
SYS_A = ("You read an excerpt of one news report and answer a question from that excerpt only. "
         "Reply with the answer alone, in as few words as possible, copied from the excerpt. "
         "If the excerpt does not answer the question, reply exactly: not stated")
SYS_C = "You compare what two news reports say. Answer only yes or no."
def grounded(a, ex):
    if not a or "not stated" in a.lower(): return False
    at = set(tokens(a)); et = set(tokens(ex)); return bool(at) and len(at & et)/len(at) >= 0.8
def same(a, b):
    na, nb = set(re.findall(r"\d+", a)), set(re.findall(r"\d+", b))
    if na or nb: return na == nb
    ta, tb = set(tokens(a)), set(tokens(b))
    if ta <= tb or tb <= ta: return True
    v = np.asarray(emb.embed([a, b])); return float(v[0] @ v[1]) >= 0.75
rows = []
for corpus, cases_path in ce.case_sets():
    if cases_path.stem not in SETS: continue
    cases = load_cases(cases_path, read_corpus_texts(corpus))
    ecfg = dataclasses.replace(cfg, corpus=corpus, data_dir=Path("/tmp/ev/idx-bundled") / corpus.name)
    build_index(ecfg, corpus, embedder=emb); store = load_store(ecfg, emb)
    t0 = time.time(); n = 0
    for c in cases:
        if c.history or not c.answerable: continue
        r = retrieve(store, emb, c.question, cfg.top_k, cfg.per_article)
        by = {}
        for h in r.pool[:30]: by.setdefault(h.sentence.article_id, []).append(h.sentence)
        arts = []
        for aid, ss in list(by.items())[:4]:
            ss = sorted(ss[:2], key=lambda s: s.n); ex = " ".join(s.text for s in ss)
            a = gen(chat(SYS_A, f"Excerpt: {ex}\nQuestion: {c.question}")).strip(".").strip()
            if grounded(a, ex): arts.append((aid, a, ex))
        groups = []
        for x in arts:
            for g in groups:
                if same(x[1], g[0][1]): g.append(x); break
            else: groups.append([x])
        pairs = []
        for i in range(len(groups)):
            for j in range(i+1, len(groups)):
                A, B = groups[i][0], groups[j][0]
                run(chat(SYS_C, f"Question: {c.question}\nReport A: {A[2]}\nReport A's answer: {A[1]}\nReport B: {B[2]}\nReport B's answer: {B[1]}\n"
                         "Do the two reports contradict each other on the answer to the question (not merely mention different details)? Answer yes or no."))
                pairs.append((i, j, pyes()))
        rows.append(dict(set=cases_path.stem, conflict=bool(c.expect_conflict and len(c.conflict_values) >= 2), values=list(c.conflict_values),
                         groups=[[x[1] for x in g] for g in groups], pairs=pairs, q=c.question if cases_path.stem in os.environ.get("SHOWQ","").split(",") else ""))
        n += 1
    print(cases_path.stem, n, f"{(time.time()-t0)/max(n,1):.2f}s/case", flush=True)
    json.dump(rows, open(OUT, "w"))
