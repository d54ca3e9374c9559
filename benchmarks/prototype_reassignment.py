"""Benchmarks of the DL2PA pieces: one Hungarian reassignment at 1,000 and 10,000 classes (time, peak
memory), and the PrototypeHead train step against a plain softmax Dense head (ratio, target <= 1.1).

1. Reassignment: `zoo.prototypes.assign_from_means` (float64 cost built once, negated in place) versus
   the reference's way (float32 scores, negated copy, scipy's float64 conversion), and the whole
   `PrototypeReassignment.reassign()` (reads the head's variables, solves, writes the assignment). Each
   size runs in a fresh subprocess; peak memory = growth of the process' max RSS during the step
   (`resource.getrusage`) and the tracemalloc peak (numpy allocations).
2. Train step: the same model with `PrototypeHead` + `PrototypeRegressionLoss` or `Dense` + softmax
   cross-entropy, same embedding dim and classes, SGD; median time of a fit epoch of `--steps` steps after
   a warm-up epoch, the two models interleaved so machine load hits both alike. Head-only models (input =
   embedding) and full models (LeNet backbone on 28x28 images) are both timed.

Usage:
    python benchmarks/prototype_reassignment.py                    # both parts, current KERAS_BACKEND
    python benchmarks/prototype_reassignment.py --part assign --classes 1000 10000
    KERAS_BACKEND=jax python benchmarks/prototype_reassignment.py --part step
"""

import argparse
import functools
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _maxrss_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def assign_child(num_classes, dim, mode):
    """Run one reassignment in this (fresh) process and print a JSON line."""
    import tracemalloc

    import numpy as np

    rng = np.random.default_rng(0)
    q = rng.standard_normal((num_classes, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    p = rng.standard_normal((num_classes, dim)).astype(np.float32)
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    if mode == "callback":
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        import keras

        from zoo.callbacks import PrototypeReassignment
        from zoo.layers import PrototypeHead

        head = PrototypeHead(num_classes, prototypes=p, name="prototype_head")
        head.build((None, dim))
        head.class_means.assign(q)
        model = keras.Sequential([keras.Input((dim,)), head])
        cb = PrototypeReassignment(verbose=0)
        cb.set_model(model)
    import runpy

    from scipy.optimize import linear_sum_assignment

    # The host step alone: run zoo/prototypes/assignment.py by path, so that (except in "callback" mode)
    # the process holds no deep-learning framework (`import zoo` would import keras and its backend).
    assign_from_means = runpy.run_path(os.path.join(ROOT, "zoo", "prototypes", "assignment.py"))["assign_from_means"]

    base = _maxrss_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    if mode == "zoo":
        sigma = assign_from_means(q, p)
    elif mode == "reference":
        score = q @ p.T  # float32, as the reference's torch.matmul
        sigma = linear_sum_assignment(-score)[1]
    else:
        changed, _ = cb.reassign()
        sigma = keras.ops.convert_to_numpy(head.assignment)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"classes": num_classes, "dim": dim, "mode": mode, "seconds": seconds,
                      "rss_growth_mb": _maxrss_mb() - base, "tracemalloc_peak_mb": peak / 2**20,
                      "objective": float(np.sum(q * p[np.asarray(sigma)]))}))


def bench_assign(classes, dim, modes):
    rows = []
    for c in classes:
        for mode in modes:
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(c), str(dim), mode],
                                  capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-3000:])
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"reassign C={c:>6} d={dim} {mode:>9}: {row['seconds']:8.3f} s, RSS growth "
                  f"{row['rss_growth_mb']:7.1f} MB, tracemalloc peak {row['tracemalloc_peak_mb']:7.1f} MB", flush=True)
    return rows


def _models(dim, classes, backbone):
    import keras

    from zoo.layers import PrototypeHead
    from zoo.losses import PrototypeRegressionLoss

    def trunk(name):
        if backbone:
            import zoo.backbones

            image = keras.Input((28, 28, 1), name="image")
            return image, zoo.backbones.get("lenet", (28, 28, 1), dim, name=f"lenet_{name}")(image)
        emb = keras.Input((dim,), name="embedding")
        return emb, emb

    x_in, emb = trunk("proto")
    lab = keras.Input((), dtype="int32", name="label")
    head = PrototypeHead(classes, prototypes=_random_prototypes(classes, dim), name="prototype_head")
    proto = keras.Model([x_in, lab], head(emb, labels=lab))
    proto.compile(optimizer=keras.optimizers.SGD(0.01), loss=PrototypeRegressionLoss())
    x_in2, emb2 = trunk("dense")
    dense = keras.Model(x_in2, keras.layers.Dense(classes)(emb2))
    dense.compile(optimizer=keras.optimizers.SGD(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return proto, dense


def _random_prototypes(classes, dim):
    import numpy as np

    p = np.random.default_rng(0).standard_normal((classes, dim))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def bench_step(configs, steps, repeats, backbone):
    import keras
    import numpy as np

    rows = []
    for dim, classes, batch in configs:
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        proto, dense = _models(dim, classes, backbone)
        n = steps * batch
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, 28, 28, 1) if backbone else (n, dim)).astype("float32")
        y = rng.integers(0, classes, n).astype("int32")
        times = {"proto": [], "dense": []}
        fits = {name: functools.partial(model.fit, inputs, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
                for name, model, inputs in (("proto", proto, [x, y]), ("dense", dense, x))}
        for name in fits:  # warm-up: tracing / compilation
            fits[name]()
        for _ in range(repeats):
            for name in ("proto", "dense"):
                t0 = time.perf_counter()
                fits[name]()
                times[name].append((time.perf_counter() - t0) / steps)
        mp, md = float(np.median(times["proto"])), float(np.median(times["dense"]))
        # ratio of each interleaved (head, dense) pair, then the median: robust to load drifting between pairs
        pair = float(np.median(np.asarray(times["proto"]) / np.asarray(times["dense"])))
        row = {"backend": keras.backend.backend(), "backbone": "lenet" if backbone else "none", "dim": dim,
               "classes": classes, "batch": batch, "proto_ms": 1e3 * mp, "dense_ms": 1e3 * md, "ratio": pair,
               "ratio_of_medians": mp / md, "repeats": repeats}
        rows.append(row)
        print(f"train step [{row['backend']}, backbone {row['backbone']}, d={dim}, C={classes}, B={batch}]: "
              f"PrototypeHead {row['proto_ms']:.2f} ms, Dense+softmax {row['dense_ms']:.2f} ms, "
              f"ratio {row['ratio']:.3f} (median of {repeats} interleaved pairs)", flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("all", "assign", "step"), default="all")
    p.add_argument("--classes", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--modes", nargs="+", default=["zoo", "reference", "callback"])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--step-models", nargs="+", default=["head", "lenet"], help="head (head-only) and/or lenet")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    p.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return assign_child(int(args.child[0]), int(args.child[1]), args.child[2])
    out = {}
    if args.part in ("all", "assign"):
        out["assign"] = bench_assign(args.classes, args.dim, args.modes)
    if args.part in ("all", "step"):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        if "head" in args.step_models:
            configs = [(64, 10, 128), (128, 1000, 256), (512, 10000, 256)]
            out["step_head_only"] = bench_step(configs, args.steps, args.repeats, backbone=False)
        if "lenet" in args.step_models:
            out["step_lenet"] = bench_step([(64, 10, 128), (128, 1000, 128)], max(args.steps // 3, 5), args.repeats,
                                           backbone=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()
