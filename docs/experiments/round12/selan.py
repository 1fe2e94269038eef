import json, sys
rows = json.load(open(sys.argv[1]))
def stats(th):
    ans = [r for r in rows if r["answerable"]]; un = [r for r in rows if not r["answerable"]]
    sel_ok = sel_any = 0; ceiling = 0; un_ans = 0
    for r in ans:
        ps = r["ps"]; i = max(range(len(ps)), key=ps.__getitem__) if ps else None
        ceiling += any(any(k) for k in r["kf"])
        if i is not None and ps[i] >= th:
            sel_any += 1; sel_ok += any(r["kf"][i])
    for r in un:
        un_ans += bool(r["ps"]) and max(r["ps"]) >= th
    return len(ans), ceiling, sel_any, sel_ok, len(un), un_ans
for th in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95):
    n, ce, sa, so, nu, ua = stats(th)
    print(f"th {th}: answerable {n} (KF in evidence {ce}); selected {sa}, with a KF {so}; unanswerable {nu}, selected {ua}")
