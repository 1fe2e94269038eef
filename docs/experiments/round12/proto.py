"""Prototype: each article's own answer, read by the model, compared across articles. DEV sets only."""
import sys, dataclasses, time, re, json, os
from pathlib import Path
sys.path.insert(0, "/work/main")
from evals import conflict_eval as ce, metrics as M
from evals.cases import load_cases, read_corpus_texts
from rag.config import Config
from rag.wiring import build_embedder, build_index, load_store
from rag.generate import LlamaCppGenerator, complete
from rag.retrieve import retrieve
from index.lexical import tokens
import numpy as np

SETS = sys.argv[1].split(",")
cfg = Config()
emb = build_embedder(cfg)
gen = LlamaCppGenerator(Path("/work/main/data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"), n_ctx=2048, chat_format="chatml")
SYS = ("You read an excerpt of one news report and answer a question from that excerpt only. "
       "Reply with the answer alone, in as few words as possible, copied from the excerpt. "
       "If the excerpt does not answer the question, reply exactly: not stated")
PER = int(os.environ.get("PER", "2"))

def article_answers(q, pool):
    by = {}
    for h in pool:
        by.setdefault(h.sentence.article_id, []).append(h.sentence)
    out = []
    for aid, ss in by.items():
        ss = sorted(ss[:PER], key=lambda s: s.n)
        ex = " ".join(s.text for s in ss)
        msgs = [{"role": "system", "content": SYS}, {"role": "user", "content": f"Excerpt: {ex}\nQuestion: {q}"}]
        a = complete(gen, msgs, 24).strip().strip(".").strip()
        out.append((aid, a, ex))
    return out

def grounded(a, ex):
    if not a or "not stated" in a.lower(): return False
    at = set(tokens(a)); et = set(tokens(ex))
    return bool(at) and len(at & et) / len(at) >= 0.8

def same(a, b):
    na, nb = set(re.findall(r"\d+", a)), set(re.findall(r"\d+", b))
    if na or nb:
        return na == nb
    ta, tb = set(tokens(a)), set(tokens(b))
    if ta <= tb or tb <= ta: return True
    v = np.asarray(emb.embed([a, b]))
    return float(v[0] @ v[1]) >= 0.75

for corpus, cases_path in ce.case_sets():
    if cases_path.stem not in SETS: continue
    cases = load_cases(cases_path, read_corpus_texts(corpus))
    ecfg = dataclasses.replace(cfg, corpus=corpus, data_dir=Path("/tmp/ev/idx-bundled") / corpus.name)
    build_index(ecfg, corpus, embedder=emb)
    store = load_store(ecfg, emb)
    sur = conf = false = others = 0; t0 = time.time(); n = 0
    for c in cases:
        if c.history or not c.answerable: continue
        r = retrieve(store, emb, c.question, cfg.top_k, cfg.per_article)
        pool = [h for h in r.pool[:30]]
        ans = article_answers(c.question, pool); n += 1
        g = [(aid, a) for aid, a, ex in ans if grounded(a, ex)]
        groups = []
        for aid, a in g:
            for grp in groups:
                if same(a, grp[0][1]): grp.append((aid, a)); break
            else: groups.append([(aid, a)])
        disagree = len(groups) >= 2
        shown = " ; ".join(grp[0][1] for grp in groups) if disagree else ""
        if c.expect_conflict and len(c.conflict_values) >= 2:
            conf += 1; ok = M.conflict_surfaced(shown, c.conflict_values); sur += ok
            print(("OK  " if ok else "MISS"), c.question, "|", [a for _, a, _ in ans], c.conflict_values, flush=True)
        elif not c.expect_conflict:
            others += 1; false += disagree
            if disagree: print("FALSE", c.question, "|", [[a for _, a in grp] for grp in groups], flush=True)
    print(f"== {cases_path.stem} surfaced {sur}/{conf} false {false}/{others} s/case {(time.time()-t0)/max(n,1):.2f}", flush=True)
