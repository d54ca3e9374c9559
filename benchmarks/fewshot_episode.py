"""One few-shot training episode per geometry: time and memory of a train step.

The reference's hardest episode shape: 30-way 1-shot 15-query (480 images of 84x84x3) through the
hyptorch Conv-4 whose last block has 1600 channels (embedding dim 1600), then
`PrototypicalHead` in Euclidean space, on the sphere, or in the Poincaré ball (with `ToPoincare(c=0.01)`
and its Riemannian gradient rescale, as the reference's MiniImageNet 1-shot configuration), trained
with Adam. For scale, the same backbone with a plain softmax Dense head over the episode's 30 classes
(cross-entropy on all 480 images) runs in the same invocation, and ratios against it and against the
Euclidean ProtoNet are printed.

Every variant runs in its own Python process, so its peak resident memory (ru_maxrss) is its own: we
report peak RSS minus the RSS after the model and the episode were built (what the training steps add)
and the median wall time of `train_on_batch` after warm-up steps. The loss after the timed steps is
printed as a NaN check.

Usage:
    python -m benchmarks.fewshot_episode                      # KERAS_BACKEND honoured
    python -m benchmarks.fewshot_episode --image-size 42 --steps 5 --json runs/bench/fewshot.json
    python -m benchmarks.fewshot_episode --backbone none --steps 20   # the heads alone
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

VARIANTS = ("softmax", "euclidean", "sphere", "poincare")


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(variant, way, shot, query, dim, size, steps, warmup, c, backbone="conv4"):
    """Runs in the child process: build, step, report JSON on stdout."""
    import keras
    import numpy as np

    import zoo.backbones
    import zoo.layers
    import zoo.losses

    keras.utils.set_random_seed(0)
    n = (shot + query) * way
    rng = np.random.default_rng(0)
    if backbone == "none":
        # The head's own cost: precomputed 1600-d features through one trainable Dense layer.
        x = rng.normal(size=(n, dim)).astype("float32")
        images = keras.Input((dim,))
        z = keras.layers.Dense(dim)(images)
    else:
        x = rng.normal(size=(n, size, size, 3)).astype("float32")
        images = keras.Input((size, size, 3))
        z = zoo.backbones.get("conv4", input_shape=(size, size, 3), embedding_dim=dim)(images)
    if variant == "softmax":
        out = keras.layers.Dense(way)(z)
        y = np.arange(n, dtype="int32") % way
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        if variant == "poincare":
            z = zoo.layers.ToPoincare(c=c)(z)
        kw = {"c": c} if variant == "poincare" else {}
        out = zoo.layers.PrototypicalHead(shot=shot, query=query, geometry=variant, **kw)(z)
        y = np.arange(query * way, dtype="int32") % way
        loss = zoo.losses.PrototypicalLoss()
    model = keras.Model(images, out)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    base = rss_mb()
    for _ in range(warmup):
        model.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        value = model.train_on_batch(x, y)
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    value = float(np.asarray(value).reshape(-1)[0])
    return {"variant": variant, "backend": keras.backend.backend(), "backbone": backbone, "images": n, "dim": dim,
            "size": size,
            "median_step_s": float(np.median(times)), "steps": steps, "added_peak_mb": peak - base,
            "loss": value, "finite": bool(np.isfinite(value))}


def run_child(variant, args):
    cmd = [sys.executable, "-m", "benchmarks.fewshot_episode", "--child", variant, "--way", str(args.way),
           "--shot", str(args.shot), "--query", str(args.query), "--dim", str(args.dim),
           "--image-size", str(args.image_size), "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--c", str(args.c), "--backbone", args.backbone]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--way", type=int, default=30)
    p.add_argument("--shot", type=int, default=1)
    p.add_argument("--query", type=int, default=15)
    p.add_argument("--dim", type=int, default=1600)
    p.add_argument("--image-size", type=int, default=84)
    p.add_argument("--c", type=float, default=0.01)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--backbone", default="conv4", choices=("conv4", "none"),
                   help="none: the head alone on precomputed features (one trainable Dense layer before it)")
    p.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    p.add_argument("--json", default=None, help="also write the rows to this file")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.way, args.shot, args.query, args.dim, args.image_size,
                                 args.steps, args.warmup, args.c, args.backbone)))
        return None
    rows = []
    for variant in args.variants:
        row = run_child(variant, args)
        rows.append(row)
        what = "features" if args.backbone == "none" else f"images {args.image_size}px"
        print(f"{row['backend']:<10} {variant:<10} {row['images']} {what} dim {args.dim}: "
              f"{row['median_step_s'] * 1000:8.1f} ms/step, +{row['added_peak_mb']:7.1f} MB peak, "
              f"loss {row['loss']:.4f}{'' if row['finite'] else '  NOT FINITE'}", flush=True)
    by = {r["variant"]: r for r in rows}
    for ref in ("softmax", "euclidean"):
        if ref in by:
            ratios = ", ".join(f"{v} {r['median_step_s'] / by[ref]['median_step_s']:.2f}x" for v, r in by.items()
                               if v != ref)
            print(f"time ratio vs {ref}: {ratios}")
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
