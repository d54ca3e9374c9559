"""Benchmark: recall@1 of 10,000 queries against a 60,000-item gallery (Fashion-MNIST test vs train
size), time and peak memory of the chunked `zoo.metrics.retrieval_metrics`.

The full distance matrix alone is 10,000 × 60,000 float32 = 2.4 GB (the closed-form distance needs
several such arrays); the chunked evaluation holds `max_elements` entries per block. Peak memory is
the process's peak resident memory (ru_maxrss) minus the resident memory after the data were built
and the backend was warmed up, so it counts what the evaluation adds (numpy and backend buffers).

Data: Gaussian class clusters (10 classes, d = 64 by default), float32.

Usage:
    python benchmarks/retrieval_memory.py                        # KERAS_BACKEND honoured (default TF)
    python benchmarks/retrieval_memory.py --queries 10000 --gallery 60000 --dim 64 --map-at-r
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--queries", type=int, default=10000)
    p.add_argument("--gallery", type=int, default=60000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--geometry", default="euclidean")
    p.add_argument("--max-elements", type=int, default=None)
    p.add_argument("--map-at-r", action="store_true", help="also compute MAP@R (sorts top R per query)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    import keras

    from zoo.metrics import retrieval

    rng = np.random.default_rng(0)
    centers = rng.normal(size=(10, args.dim)).astype(np.float32)
    gl = rng.integers(0, 10, args.gallery)
    ql = rng.integers(0, 10, args.queries)
    g = centers[gl] + 2.5 * rng.normal(size=(args.gallery, args.dim)).astype(np.float32)
    q = centers[ql] + 2.5 * rng.normal(size=(args.queries, args.dim)).astype(np.float32)
    kw = {} if args.max_elements is None else {"max_elements": args.max_elements}
    retrieval.retrieval_metrics(q[:10], ql[:10], g, gl, map_at_r=False, **kw)      # warm-up
    base = rss_mb()
    peak_before = peak_mb()
    t0 = time.perf_counter()
    out = retrieval.retrieval_metrics(q, ql, g, gl, ks=(1,), geometry=args.geometry, map_at_r=args.map_at_r, **kw)
    seconds = time.perf_counter() - t0
    peak = peak_mb()
    result = {
        "backend": keras.backend.backend(), "queries": args.queries, "gallery": args.gallery, "dim": args.dim,
        "geometry": args.geometry, "max_elements": kw.get("max_elements", retrieval.MAX_ELEMENTS),
        "seconds": round(seconds, 2), "rss_before_mb": round(base, 1), "peak_rss_mb": round(peak, 1),
        "added_peak_mb": round(peak - base, 1), "peak_before_eval_mb": round(peak_before, 1),
        "full_matrix_mb": round(args.queries * args.gallery * 4 / 2 ** 20, 1),
        **{k: v for k, v in out.items() if k != "num_queries"},
    }
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
