"""k-reciprocal re-ranking: memory-light (sparse) vs dense reference vs torchreid's `re_ranking`; Market-size
time and peak memory. Run by hand (not a test); prints tables.

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/re_ranking.py                  # all sections
    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/re_ranking.py --skip-market    # agreement + dense only

1. Dense memory at growing N, each run in a fresh subprocess: rss+ = peak resident memory sampled every 2 ms
   minus the RSS before the call (the number used); maxrss+ = ru_maxrss after minus before (hidden below any
   earlier high-water mark, e.g. imports; Linux also carries ru_maxrss over fork/exec from the parent, so the
   children are spawned before this process imports TensorFlow). Ours and torchreid's; bytes / N^2
   extrapolated to Market (N = 19,281). Only sizes whose estimate is under `--dense-limit-gb` are run.
2. Market size (3,368 queries + 15,913 gallery, `--dim` random clustered features): the memory-light version
   from features (the N x N matrix never exists) and from the three blocks (held by the caller: 1.3 GB, in the
   baseline), each in a fresh subprocess: time and peak memory over the baseline.
3. Agreement at N = 500 (100 queries, 400 gallery, clustered features): max |sparse - dense| from distance
   blocks and from features, and against torchreid's `torchreid/reid/utils/rerank.py` loaded from its file in a
   separate venv (`--torchreid-python`, default /tmp/benchenv/bin/python; torchreid installed there with
   `--no-deps`): fed plain Euclidean blocks (both square them: Zhong's squared Euclidean), and fed torchreid's
   own squared distances (`compute_distance_matrix(..., "euclidean")` semantics: its pipeline squares again,
   d^4; reproduced here with `squared=False`, while `squared=True` gives Zhong's d^2 problem instead).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKET_Q, MARKET_G = 3368, 15913


class RssPeak:
    """Peak resident memory (MB) over a with-block, sampled from /proc/self/statm every 2 ms, minus the RSS at entry:
    unlike ru_maxrss it is not hidden by an earlier high-water mark (imports)."""

    def __enter__(self):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.start = self.peak = self.rss()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def rss(self):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page / 2**20

    def run(self):
        while not self.stop.wait(0.002):
            self.peak = max(self.peak, self.rss())

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.rss())
        self.extra = self.peak - self.start


TORCHREID_CHILD = r"""
import importlib.util, json, resource, sys, time, glob, os
import threading
import numpy as np
""" + "{sampler}" + r"""
site = [p for p in sys.path if p.endswith("site-packages")][0]
path = os.path.join(site, "torchreid", "reid", "utils", "rerank.py")
if not os.path.exists(path):
    path = os.path.join(site, "torchreid", "utils", "rerank.py")
spec = importlib.util.spec_from_file_location("rerank", path)
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
z = np.load(sys.argv[1])
qg, qq, gg = z["q_g"], z["q_q"], z["g_g"]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
with RssPeak() as m:
    out = mod.re_ranking(qg, qq, gg, k1=20, k2=6, lambda_value=0.3)
sec = time.perf_counter() - t
np.save(sys.argv[2], out)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": sec, "extra_mb": (peak - base) / 1024, "sampled_mb": m.extra, "path": path}))
"""


def clustered(nq: int, ng: int, dim: int, ids: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """float32 features: identity centres + noise, generated in float32 chunks (no float64 transient)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((ids, dim), dtype=np.float32)
    n = nq + ng
    x = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 2048):
        e = min(n, s + 2048)
        x[s:e] = centers[rng.integers(0, ids, e - s)] + 0.7 * rng.standard_normal((e - s, dim), dtype=np.float32)
    return x[:nq], x[nq:]


def euclid(a: np.ndarray, b: np.ndarray, squared: bool = False) -> np.ndarray:
    """Plain (or squared) Euclidean distances in float64, returned as float32."""
    d = np.maximum((a.astype(np.float64) ** 2).sum(1)[:, None] + (b.astype(np.float64) ** 2).sum(1)[None]
                   - 2.0 * a.astype(np.float64) @ b.astype(np.float64).T, 0.0)
    return (d if squared else np.sqrt(d)).astype(np.float32)


def run_torchreid(python: str, blocks: tuple[np.ndarray, ...], tmp: str) -> tuple[np.ndarray, dict]:
    src = os.path.join(tmp, "blocks.npz")
    np.savez(src, q_g=blocks[0], q_q=blocks[1], g_g=blocks[2])
    dst = os.path.join(tmp, "torchreid_out.npy")
    code = TORCHREID_CHILD.replace("{sampler}", inspect.getsource(RssPeak))
    res = subprocess.run([python, "-c", code, src, dst], capture_output=True, text=True, check=True)
    return np.load(dst), json.loads(res.stdout.strip().splitlines()[-1])


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """One measured call in this (fresh) process; prints a JSON line."""
    from zoo.metrics.re_ranking import re_ranking

    nq, ng = args.nq, args.ng
    q, g = clustered(nq, ng, args.dim, ids=max(2, (nq + ng) // 20))
    if args.child == "sparse-features":
        call = {"query_features": q, "gallery_features": g}
        import keras

        import zoo.geometry
        zoo.geometry.get("euclidean").pairwise_distance(keras.ops.convert_to_tensor(q[:4]),
                                                        keras.ops.convert_to_tensor(g[:4]))  # backend warm-up
    else:
        blocks = []
        for a, b in ((q, g), (q, q), (g, g)):      # row chunks: no float64 N x N transient
            out = np.empty((len(a), len(b)), dtype=np.float32)
            for s in range(0, len(a), 1024):
                out[s:s + 1024] = euclid(a[s:s + 1024], b)
            blocks.append(out)
        call = dict(zip(("q_g", "q_q", "g_g"), blocks))
    method = "dense" if args.child == "dense-blocks" else "sparse"
    base = maxrss_mb()
    t = time.perf_counter()
    with RssPeak() as m:
        out = re_ranking(**call, method=method, verbose=args.verbose)
    sec = time.perf_counter() - t
    print(json.dumps({"seconds": sec, "extra_mb": maxrss_mb() - base, "sampled_mb": m.extra, "base_mb": base,
                      "shape": list(out.shape), "finite": bool(np.isfinite(out).all())}))


def spawn(kind: str, nq: int, ng: int, dim: int, verbose: bool = False) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", kind, "--nq", str(nq), "--ng", str(ng),
           "--dim", str(dim)] + (["--verbose"] if verbose else [])
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{res.stderr[-3000:]}")
    if verbose:
        print("\n".join(line for line in res.stderr.splitlines() if line.startswith("re_ranking:")), flush=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def agreement(args: argparse.Namespace) -> None:
    from zoo.metrics.re_ranking import re_ranking

    q, g = clustered(100, 400, 64, ids=25, seed=1)
    d = (euclid(q, g), euclid(q, q), euclid(g, g))
    d2 = (euclid(q, g, True), euclid(q, q, True), euclid(g, g, True))
    rows = []
    dense = re_ranking(*d, method="dense")
    sparse = re_ranking(*d)
    rows.append(("sparse vs dense, blocks d", np.abs(sparse - dense).max()))
    fd = re_ranking(query_features=q, gallery_features=g, method="dense", max_elements=50_000)
    fs = re_ranking(query_features=q, gallery_features=g, max_elements=50_000)
    rows.append(("sparse vs dense, features (euclidean)", np.abs(fs - fd).max()))
    rows.append(("features vs blocks (float32 d differs)", np.abs(fs - sparse).max()))
    if os.path.exists(args.torchreid_python):
        with tempfile.TemporaryDirectory() as tmp:
            ref, info = run_torchreid(args.torchreid_python, d, tmp)
            rows.append(("torchreid(d) vs ours(d)  [both d^2]", np.abs(ref - sparse).max()))
            rows.append(("torchreid(d) vs ours dense(d)", np.abs(ref - dense).max()))
            ref2, _ = run_torchreid(args.torchreid_python, d2, tmp)
            rows.append(("torchreid(d^2) vs ours(d^2, squared=False) [d^4]", np.abs(ref2 - re_ranking(*d2)).max()))
            rows.append(("torchreid(d^2) vs ours(d^2, squared=True) [gotcha]",
                         np.abs(ref2 - re_ranking(*d2, squared=True)).max()))
            print(f"torchreid rerank.py: {info['path']}")
    else:
        print(f"(torchreid venv {args.torchreid_python} not found: torchreid rows skipped)")
    print("\n3. Agreement at N = 500 (100 x 400, d = 64, 25 clustered ids; k1=20, k2=6, lambda=0.3)")
    print(f"{'comparison':<52} {'max abs diff':>13}")
    for name, v in rows:
        print(f"{name:<52} {v:>13.3g}")


def dense_memory(args: argparse.Namespace) -> None:
    print("\n1. Dense vs sparse memory, fresh subprocess per run. rss+ = peak resident memory sampled every 2 ms "
          "minus the RSS before the call;\n   maxrss+ = ru_maxrss after - ru_maxrss before (0 while the call stays "
          "under the import high-water mark). Inputs: the three Euclidean blocks.")
    print(f"{'N':>6} {'impl':<10} {'seconds':>8} {'rss+ MB':>8} {'maxrss+ MB':>10} {'bytes/N^2':>10} "
          f"{'est. Market GB':>15}")
    per = []
    n_market = MARKET_Q + MARKET_G
    for n in args.dense_sizes:
        nq = max(1, round(n * MARKET_Q / n_market))
        est_gb = (max(per) if per else 40.0) * n * n / 2**30
        if est_gb > args.dense_limit_gb:
            print(f"{n:>6} skipped: estimated {est_gb:.1f} GB > --dense-limit-gb {args.dense_limit_gb}")
            continue
        results = [("ours dense", spawn("dense-blocks", nq, n - nq, 64))]
        if os.path.exists(args.torchreid_python):
            q, g = clustered(nq, n - nq, 64, ids=max(2, n // 20))
            with tempfile.TemporaryDirectory() as tmp:
                _, info = run_torchreid(args.torchreid_python, (euclid(q, g), euclid(q, q), euclid(g, g)), tmp)
            results.append(("torchreid", info))
        results.append(("ours sparse", spawn("sparse-blocks", nq, n - nq, 64)))
        for name, r in results:
            b = r["sampled_mb"] * 2**20 / n**2
            if name != "ours sparse":
                per.append(b)
            est = f"{b * n_market**2 / 2**30:>15.1f}" if name != "ours sparse" else f"{'':>15}"
            print(f"{n:>6} {name:<11} {r['seconds']:>7.2f} {r['sampled_mb']:>8.0f} {r['extra_mb']:>10.0f} "
                  f"{b:>10.1f} {est}", flush=True)


def market(args: argparse.Namespace) -> None:
    print(f"\n2. Market size: {MARKET_Q} queries + {MARKET_G} gallery, d = {args.dim} (memory-light, fresh subprocess)")
    print(f"{'input':<30} {'seconds':>8} {'rss+ MB':>8} {'maxrss+ MB':>10} {'baseline MB':>12}")
    for kind, label in (("sparse-features", "features (no N x N)"), ("sparse-blocks", "blocks (caller holds 1.3 GB)")):
        r = spawn(kind, MARKET_Q, MARKET_G, args.dim, verbose=True)
        print(f"{label:<30} {r['seconds']:>8.1f} {r['sampled_mb']:>8.0f} {r['extra_mb']:>10.0f} {r['base_mb']:>12.0f}",
              flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--torchreid-python", default="/tmp/benchenv/bin/python")
    p.add_argument("--dim", type=int, default=2048, help="feature dimension at Market size")
    p.add_argument("--dense-sizes", type=lambda s: [int(v) for v in s.split(",")], default=[1000, 2000, 4000])
    p.add_argument("--dense-limit-gb", type=float, default=6.0)
    p.add_argument("--skip-market", action="store_true")
    p.add_argument("--skip-dense", action="store_true")
    p.add_argument("--child", choices=["sparse-features", "sparse-blocks", "dense-blocks"], help=argparse.SUPPRESS)
    p.add_argument("--nq", type=int, help=argparse.SUPPRESS)
    p.add_argument("--ng", type=int, help=argparse.SUPPRESS)
    p.add_argument("--verbose", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    print(f"uptime: {os.popen('uptime').read().strip()}   backend: {os.environ.get('KERAS_BACKEND', 'default')}")
    # Children first, while this process holds only numpy: Linux keeps ru_maxrss across fork/exec, so a child
    # forked from a process that imported TensorFlow starts with that process's high-water mark.
    if not args.skip_dense:
        dense_memory(args)
    if not args.skip_market:
        market(args)
    agreement(args)
    print(f"\nuptime: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    main()
