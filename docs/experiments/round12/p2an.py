import json, sys
sys.path.insert(0, "/work/main")
from evals import metrics as M
rows = json.load(open(sys.argv[1]))
sets = sorted({r["set"] for r in rows})
for t in (0.3, 0.5, 0.6, 0.7, 0.8, 0.9):
    tot = [0,0,0,0]
    for s in sets:
        sur=conf=false=oth=0
        for r in rows:
            if r["set"]!=s: continue
            keep = set()
            for i,j,p in r["pairs"]:
                if p>=t: keep |= {i,j}
            shown = " ; ".join(r["groups"][k][0] for k in sorted(keep))
            if r["conflict"]:
                conf+=1; sur+= bool(keep) and M.conflict_surfaced(shown, r["values"])
            else:
                oth+=1; false+=bool(keep)
        tot=[tot[0]+sur,tot[1]+conf,tot[2]+false,tot[3]+oth]
        if len(sys.argv)>2: print(f"  {s:16s} t={t} surfaced {sur}/{conf} false {false}/{oth}")
    print(f"t={t}: surfaced {tot[0]}/{tot[1]} false {tot[2]}/{tot[3]}")
