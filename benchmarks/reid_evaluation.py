"""Benchmark: re-ID evaluation at Market-1501 size, zoo.metrics.evaluate_rank against torchreid, time and peak
memory, plus equality checks of CMC/mAP against torchreid's Cython and numpy evaluators.

Every measurement runs in a fresh subprocess (one thing timed at a time): the data are generated there from a
seed (the same numpy version in both environments gives the same arrays), the peak-RSS counter is reset
(`/proc/self/clear_refs` 5; ru_maxrss delta where that is refused) and the extra peak over the resident set
after the data exist is reported, next to the wall time.

    ours            evaluate_rank(None, ..., query_features, gallery_features, geometry="euclidean")
                    = distance blocks + protocol, chunked (max_elements 2^24)
    ours/given      evaluate_rank(distmat, ...) on a precomputed float32 squared-distance matrix (eval only)
    ours_qe         query_expansion(q, g, k=5, alpha=3) alone (only with --with-qe; fast-reid's `aqe` would hold
                    the 19,281² float32 similarity matrix, 1.5 GB)
    torchreid dist  torchreid.metrics.compute_distance_matrix (torch addmm, squared Euclidean)
    torchreid cy    torchreid.metrics.evaluate_rank(distmat, use_cython=True)  (rank_cy compiled from the
                    upstream .pyx: the registry wheel torchreid 0.2.5 ships neither the .pyx nor a binary)
    torchreid py    the same, use_cython=False (eval_market1501, numpy; only with --with-py)

Data: Market-1501 sizes (3,368 queries × 15,913 gallery, d = 2048), standard-normal features, query pids from
750 identities, gallery pids from 751 (0 = distractors), 6 cameras: random features, so the metric values mean
nothing; the run checks speed, memory and agreement.

Equality: on tie-free distances (each row a random permutation of 0..Ng-1 as float32) torchreid's unstable
argsort equals a stable one, so CMC and mAP must agree (to float32 accumulation in rank_cy). A second case with
many ties (rounded distances) shows the tie effect: torchreid's quicksort order among equal distances is
arbitrary, ours is by gallery index (tests/metrics/test_reid.py checks it against a loop reference).

Usage (torchreid lives in a separate venv, never in the project's):
    python3 -m venv /tmp/benchenv && /tmp/benchenv/bin/pip install numpy scipy torch==2.13.0
    /tmp/benchenv/bin/pip install --no-deps torchreid        # + rank_cy built from the upstream .pyx (optional)
    .venv/bin/python benchmarks/reid_evaluation.py --torchreid-python /tmp/benchenv/bin/python
    .venv/bin/python benchmarks/reid_evaluation.py --with-py --tries 3 --json out.json
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKET = dict(nq=3368, ng=15913, dim=2048)


def market_data(nq, ng, dim, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((nq, dim), dtype=np.float32)
    g = rng.standard_normal((ng, dim), dtype=np.float32)
    qp, gp = rng.integers(1, 751, nq), rng.integers(0, 751, ng)
    qc, gc = rng.integers(0, 6, nq), rng.integers(0, 6, ng)
    return q, g, qp, gp, qc, gc


def check_data(seed, ties, nq=600, ng=3000):
    """Distances with repeated pids, 6 cameras and queries without a valid match (pids absent from the gallery
    or only in the query's camera)."""
    rng = np.random.default_rng(seed)
    qp, gp = rng.integers(0, 120, nq), rng.integers(0, 125, ng)
    qc, gc = rng.integers(0, 6, nq), rng.integers(0, 6, ng)
    qp[:10] = 500                                             # not in the gallery at all
    gp[gp == 7] = 8
    gp[:3], gc[:3], qp[10:20], qc[10:20] = 7, 2, 7, 2         # pid 7 only in camera 2: no valid match
    if ties:
        d = np.round(rng.random((nq, ng)) * 50).astype(np.float32)
    else:
        d = np.argsort(rng.random((nq, ng)), axis=1).astype(np.float32)   # each row a permutation: tie-free
    return d, qp, gp, qc, gc


def _rss_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _torchreid():
    """(compute_distance_matrix, rank module) of torchreid without running its package __init__ (which imports
    PIL, torchvision, ... for the data and model code): stub parent packages with the real __path__."""
    import importlib.util
    import types
    base = os.path.dirname(importlib.util.find_spec("torchreid").origin)
    for mod, sub in (("torchreid", ""), ("torchreid.reid", "reid"), ("torchreid.reid.metrics", "reid/metrics")):
        if mod not in sys.modules:
            stub = types.ModuleType(mod)
            stub.__path__ = [os.path.join(base, sub)]
            sys.modules[mod] = stub
    from torchreid.reid.metrics import distance, rank
    return distance.compute_distance_matrix, rank


def worker(name, reps):
    """Run one measurement in this process; print one JSON line."""
    out = {"name": name}
    if name.startswith("check"):
        _, ties, which = name.split(":")
        d, qp, gp, qc, gc = check_data(1, ties == "ties")
        if which == "ours":
            from zoo.metrics.reid import evaluate_rank
            r = evaluate_rank(d, qp, gp, qc, gc, max_rank=50)
            out.update(cmc=r["cmc"].tolist(), mAP=r["mAP"], valid=r["num_valid_queries"])
        else:
            _, rank = _torchreid()
            if which == "cy" and not rank.IS_CYTHON_AVAI:
                out.update(skipped="rank_cy not built")
            else:
                cmc, m = rank.evaluate_rank(d, qp, gp, qc, gc, max_rank=50, use_cython=which == "cy")
                out.update(cmc=np.asarray(cmc, np.float64).tolist(), mAP=float(m))
        print(json.dumps(out))
        return
    q, g, qp, gp, qc, gc = market_data(**MARKET)
    if name == "ours":
        from zoo.metrics.reid import evaluate_rank
        fn = lambda: evaluate_rank(None, qp, gp, qc, gc, query_features=q, gallery_features=g)  # noqa: E731
    elif name == "ours_given":
        from zoo.metrics.reid import evaluate_rank
        dist = np.maximum((q * q).sum(1)[:, None] + (g * g).sum(1)[None] - 2 * q @ g.T, 0)
        fn = lambda: evaluate_rank(dist, qp, gp, qc, gc)  # noqa: E731
    elif name == "ours_qe":
        from zoo.metrics.query_expansion import query_expansion
        fn = lambda: query_expansion(q, g, k=5, alpha=3.0)  # noqa: E731
    elif name == "torchreid_dist":
        import torch
        compute_distance_matrix, _ = _torchreid()
        tq, tg = torch.from_numpy(q), torch.from_numpy(g)
        fn = lambda: compute_distance_matrix(tq, tg, "euclidean").numpy()  # noqa: E731
        out["torch_threads"] = torch.get_num_threads()
    elif name in ("torchreid_cy", "torchreid_py"):
        _, rank = _torchreid()
        if name == "torchreid_cy" and not rank.IS_CYTHON_AVAI:
            print(json.dumps({"name": name, "skipped": "rank_cy not built"}))
            return
        dist = np.maximum((q * q).sum(1)[:, None] + (g * g).sum(1)[None] - 2 * q @ g.T, 0)
        fn = lambda: rank.evaluate_rank(dist, qp, gp, qc, gc, max_rank=50,  # noqa: E731
                                        use_cython=name == "torchreid_cy")
    elif name == "torchreid_both":
        import torch
        compute_distance_matrix, rank = _torchreid()
        tq, tg = torch.from_numpy(q), torch.from_numpy(g)
        fn = lambda: rank.evaluate_rank(compute_distance_matrix(tq, tg, "euclidean").numpy(),  # noqa: E731
                                        qp, gp, qc, gc, max_rank=50, use_cython=rank.IS_CYTHON_AVAI)
    else:
        raise SystemExit(f"unknown worker {name}")
    times = []
    for _ in range(reps):
        reset = _reset_peak()
        base_kb = _rss_kb("VmRSS")
        base_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        peak = _rss_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out["extra_peak_mb"] = max(out.get("extra_peak_mb", 0.0), (peak - base_kb) / 1024)
        out["peak_method"] = "VmHWM reset" if reset else f"ru_maxrss (before: {base_max} kB)"
        del result
    out["times"] = times
    print(json.dumps(out))


def run(python, name, reps, env=None):
    cmd = [python, os.path.abspath(__file__), "--worker", name, "--tries", str(reps)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        return {"name": name, "error": (proc.stderr or proc.stdout)[-800:]}
    return json.loads(lines[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--torchreid-python", default="/tmp/benchenv/bin/python")
    p.add_argument("--tries", type=int, default=1, help="timed repetitions per measurement (best is shown)")
    p.add_argument("--with-py", action="store_true", help="also time torchreid's numpy evaluator at Market size "
                   "(about 2.5 minutes)")
    p.add_argument("--with-qe", action="store_true", help="also time zoo.metrics.query_expansion at Market size "
                   "(19,281² similarities in blocks; about 15 s)")
    p.add_argument("--json", help="write every result here")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        sys.path.insert(0, ROOT)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        worker(args.worker, args.tries)
        return
    env = dict(os.environ, KERAS_BACKEND=os.environ.get("KERAS_BACKEND", "tensorflow"))
    ours, theirs = sys.executable, args.torchreid_python
    have_theirs = os.path.exists(theirs)
    print(f"uptime: {os.popen('uptime').read().strip()}")
    print(f"Market size: {MARKET['nq']} x {MARKET['ng']}, d = {MARKET['dim']}, euclidean; best of {args.tries}")

    results = {"checks": {}, "timing": {}}
    print("\nEquality on 600 x 3000 distances (repeated pids, 6 cams, 20 queries without a valid match):")
    print(f"{'case':<10} {'vs':<14} {'max|dCMC|':>11} {'|dmAP|':>11}  valid queries")
    for ties in ("noties", "ties"):
        mine = run(ours, f"check:{ties}:ours", 1, env)
        results["checks"][f"{ties}:ours"] = mine
        for which in ("cy", "py"):
            other = run(theirs, f"check:{ties}:{which}", 1) if have_theirs else {"skipped": "no torchreid"}
            results["checks"][f"{ties}:{which}"] = other
            if "cmc" not in other or "cmc" not in mine:
                print(f"{ties:<10} torchreid {which:<4}  {other.get('skipped') or other.get('error', '')[-200:]}")
                continue
            dc = float(np.max(np.abs(np.array(mine["cmc"]) - np.array(other["cmc"]))))
            dm = abs(mine["mAP"] - other["mAP"])
            print(f"{ties:<10} torchreid {which:<4} {dc:11.3g} {dm:11.3g}  {mine['valid']}")

    names = [("ours", ours), ("ours_given", ours)] + ([("ours_qe", ours)] if args.with_qe else [])
    if have_theirs:
        names += [("torchreid_dist", theirs), ("torchreid_cy", theirs), ("torchreid_both", theirs)]
        if args.with_py:
            names.append(("torchreid_py", theirs))
    print(f"\n{'measurement':<16} {'time s':>8} {'extra peak MB':>14}")
    for name, python in names:
        r = run(python, name, args.tries, env if python == ours else None)
        results["timing"][name] = r
        if "times" in r:
            print(f"{name:<16} {min(r['times']):8.2f} {r['extra_peak_mb']:14.0f}")
        else:
            print(f"{name:<16} {r.get('skipped') or r.get('error', '')[-300:]}")
    t = {k: min(v["times"]) for k, v in results["timing"].items() if "times" in v}
    if "ours" in t and "torchreid_both" in t:
        print(f"\nratio torchreid (distance + evaluator, one run) / ours (features -> metrics): "
              f"{t['torchreid_both'] / t['ours']:.2f}x")
    if "ours_given" in t and "torchreid_cy" in t:
        print(f"ratio torchreid Cython evaluator / ours on a given matrix: {t['torchreid_cy'] / t['ours_given']:.2f}x")
    print(f"uptime: {os.popen('uptime').read().strip()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
