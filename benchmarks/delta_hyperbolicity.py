"""Benchmark: δ-hyperbolicity time and peak memory at N = 1500 and 5000, against the reference's N³ array.

The reference (hyptorch/delta.py `delta_hyp`) materialises min(G[:, :, None], G[None, :, :]), an
[N, N, N] float64 array: 27 GB at N = 1500, 1 TB at N = 5000. zoo.metrics.delta_hyperbolicity tiles that
(max, min) product (O(N²) memory). This script times both where the reference fits in `--naive-budget-gb`
(default 2 GB, N <= ~630), prints their ratio and checks that they agree, then times the tiled version
alone at the large sizes and reports the peak traced memory (tracemalloc: numpy allocations included).

Data: Fashion-MNIST test images as 784-d pixel vectors when the dataset is installed (the δ_rel printed is
then a real measurement of that pixel space), Gaussian features otherwise. The curvature δ_rel suggests,
`zoo.metrics.suggest_curvature` (c = (0.144 / δ_rel)², a starting point for a c sweep), is printed and written
beside it.

Usage:
    python benchmarks/delta_hyperbolicity.py                       # N = 1500 and 5000, one try each
    python benchmarks/delta_hyperbolicity.py --sizes 1500 --tries 10 --json out.json
"""

import argparse
import json
import os
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from zoo.metrics.hyperbolicity import (  # noqa: E402
    delta_hyperbolicity,
    gromov_delta,
    pairwise_distances,
    suggest_curvature,
)


def naive_delta(d):
    """The reference's formula (hyptorch delta_hyp): an [N, N, N] float64 array."""
    row, col = d[0][None, :], d[:, 0][:, None]
    g = 0.5 * (row + col - d)
    maxmin = np.max(np.minimum(g[:, :, None], g[None, :, :]), axis=1)
    return float(np.max(maxmin - g))


def suggested_c(delta_rel):
    """zoo.metrics.suggest_curvature(δ_rel) (Khrulkov et al.'s c = (0.144 / δ_rel)²), None for δ_rel = 0."""
    return suggest_curvature(delta_rel) if delta_rel > 0 else None


def _fmt_c(c):
    return "— (δ_rel = 0)" if c is None else f"{c:.3g}"


def measure(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        out = fn()
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return out, seconds, peak


def load_features(n_max, seed):
    try:
        import zoo.data

        _, (x, _) = zoo.data.fashion_mnist(download=False)
        return x.reshape(len(x), -1).astype(np.float32) / 255.0, "Fashion-MNIST test pixels (784-d)"
    except Exception as err:  # dataset not installed: synthetic features
        print(f"(Fashion-MNIST unavailable: {err}; using Gaussian features)")
        return np.random.default_rng(seed).normal(size=(n_max, 64)).astype(np.float32), "Gaussian (64-d)"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1500, 5000])
    p.add_argument("--naive-sizes", type=int, nargs="+", default=[300, 600])
    p.add_argument("--naive-budget-gb", type=float, default=2.0,
                   help="run the reference's N^3 array only when it needs at most this much")
    p.add_argument("--tries", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)

    feats, source = load_features(max(args.sizes + args.naive_sizes), args.seed)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"data: {source}, {len(feats)} rows; numpy {np.__version__}; {os.cpu_count()} CPUs; "
          f"load average {load:.1f} (timings scale with it on a shared machine)")
    rows = []
    rng = np.random.default_rng(args.seed)
    for n in args.naive_sizes:
        need_gb = n**3 * 8 / 1e9
        d = pairwise_distances(feats[rng.choice(len(feats), n, replace=True)])
        tiled, t_tiled, m_tiled = measure(lambda d=d: gromov_delta(d))
        if need_gb > args.naive_budget_gb:
            print(f"N={n}: reference needs {need_gb:.1f} GB > budget; skipped")
            continue
        ref, t_ref, m_ref = measure(lambda d=d: naive_delta(d))
        rows.append({"N": n, "what": "delta of one distance matrix", "tiled_s": t_tiled, "tiled_peak_MB": m_tiled / 1e6,
                     "reference_s": t_ref, "reference_peak_MB": m_ref / 1e6, "speedup": t_ref / t_tiled,
                     "memory_ratio": m_ref / max(m_tiled, 1), "rel_diff": abs(tiled - ref) / ref})
        print(f"N={n:5d}  tiled {t_tiled:7.2f} s {m_tiled / 1e6:8.1f} MB | reference N^3 {t_ref:7.2f} s "
              f"{m_ref / 1e6:8.1f} MB | time ratio ref/tiled {t_ref / t_tiled:5.2f}x, memory ratio "
              f"{m_ref / max(m_tiled, 1):7.1f}x | |delta diff|/delta {abs(tiled - ref) / ref:.1e}")
    for n in args.sizes:
        need_gb = n**3 * 8 / 1e9
        res, seconds, peak = measure(lambda n=n: delta_hyperbolicity(feats, n_samples=n, n_tries=args.tries,
                                                                     seed=args.seed))
        rows.append({"N": n, "what": f"delta_hyperbolicity, {args.tries} tries", "tiled_s": seconds,
                     "tiled_s_per_try": seconds / args.tries, "tiled_peak_MB": peak / 1e6,
                     "reference_needs_GB": need_gb, "delta_rel": res["delta_rel"],
                     "delta_rel_std": res["delta_rel_std"], "suggested_c": suggested_c(res["delta_rel"])})
        print(f"N={n:5d}  delta_hyperbolicity ({args.tries} tries): {seconds:7.1f} s "
              f"({seconds / args.tries:.1f} s/try), peak {peak / 1e6:.0f} MB; the reference's N^3 array would need "
              f"{need_gb:,.0f} GB (not run) | delta_rel {res['delta_rel']:.4f} +- {res['delta_rel_std']:.4f}, "
              f"suggested c {_fmt_c(rows[-1]['suggested_c'])}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"data": source, "load_average_start": load, "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
