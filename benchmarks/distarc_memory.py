"""DistArc at 10,000 classes, d = 512, batch 128: peak memory and time of the closed-form head vs the
naive [B, K, d] broadcast of the released code, and a train step vs a plain softmax Dense head.

Every measurement runs in its own Python process, so its peak resident memory (ru_maxrss) is its own:
we report peak RSS minus the RSS after the model and data were built (what the training steps add),
and the median wall time of a train step (`train_on_batch`, SGD) after warm-up. Ratios are printed.

The naive head computes δ, cos φ as the reference code does (x[:, None, :] - ω[None] broadcast); at
B = 128 its [128, 10000, 512] float32 tensor alone is 2.6 GB and the step needs several of them, so
by default it runs at a smaller batch (`--naive-batch`, default 16) and is compared with the closed
form at the same batch.

Usage:
    python -m benchmarks.distarc_memory                       # TF backend (KERAS_BACKEND honoured)
    python -m benchmarks.distarc_memory --naive-batch 128     # if the machine has ~12 GB to spare
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

VARIANTS = ("closed", "naive", "softmax")


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(variant, batch, classes, dim, steps, warmup):
    """Runs in the child process: build, step, report JSON on stdout."""
    import keras
    import numpy as np

    from zoo.geometry import sphere
    from zoo.layers import DistArcHead
    from zoo.losses import DistArcLoss

    class NaiveDistArcHead(DistArcHead):
        """The released code's geometry: a [B, K, d] broadcast for δ and cos φ (benchmark only)."""

        def geometry(self, inputs):
            x = keras.ops.cast(inputs, "float32")
            r = keras.ops.convert_to_tensor(np.asarray(self.class_radii, "float32"))
            w_hat = sphere.normalize(keras.ops.transpose(self.kernel))  # [K, d]
            omega = keras.ops.expand_dims(r, -1) * w_hat
            diff = keras.ops.expand_dims(x, 1) - keras.ops.expand_dims(omega, 0)  # [B, K, d]
            delta = keras.ops.sum(keras.ops.square(diff), axis=-1)
            cos = sphere.pairwise_cosine(x, keras.ops.transpose(self.kernel))
            cos_phi = keras.ops.sum(sphere.normalize(diff) * keras.ops.expand_dims(-w_hat, 0), axis=-1)
            norm = keras.ops.sqrt(keras.ops.sum(keras.ops.square(x), axis=-1, keepdims=True))
            return delta, cos, cos_phi, norm

    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, dim)).astype("float32") * 5.0
    y = rng.integers(0, classes, size=batch)
    inp = keras.Input((dim,))
    if variant == "softmax":
        head, loss = keras.layers.Dense(classes), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        cls = DistArcHead if variant == "closed" else NaiveDistArcHead
        head, loss = cls(classes, classes_per_sphere=100, radial_gap=2.0), DistArcLoss()
    model = keras.Model(inp, head(inp))
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss=loss)
    base = rss_mb()
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        value = model.train_on_batch(x, y)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"variant": variant, "batch": batch, "classes": classes, "dim": dim, "backend": keras.backend.backend(),
            "peak_minus_base_mb": peak - base, "peak_rss_mb": peak, "base_rss_mb": base,
            "median_step_s": float(np.median(times)), "loss": float(np.asarray(value).reshape(-1)[0])}


def run_child(variant, batch, args):
    cmd = [sys.executable, "-m", "benchmarks.distarc_memory", "--child", variant, "--batch", str(batch),
           "--classes", str(args.classes), "--dim", str(args.dim), "--steps", str(args.steps),
           "--warmup", str(args.warmup)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"variant": variant, "batch": batch, "error": (proc.stderr or proc.stdout)[-600:]}
    return json.loads(lines[-1])


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.distarc_memory", description=__doc__.splitlines()[0])
    p.add_argument("--classes", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--naive-batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    p.add_argument("--child", choices=VARIANTS, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.child:
        print(json.dumps(measure(args.child, args.batch, args.classes, args.dim, args.steps, args.warmup)))
        return None

    runs = [("closed", args.batch), ("softmax", args.batch), ("closed", args.naive_batch), ("naive", args.naive_batch)]
    results = []
    print(f"DistArc, K={args.classes}, d={args.dim}; each row its own process; "
          f"memory = peak RSS - RSS after build (MB); time = median train step (s)")
    for variant, batch in runs:
        r = run_child(variant, batch, args)
        results.append(r)
        if "error" in r:
            print(f"  {variant:8s} B={batch:4d}: FAILED {r['error']!r}")
        else:
            print(f"  {variant:8s} B={batch:4d}: +{r['peak_minus_base_mb']:8.1f} MB   "
                  f"{r['median_step_s'] * 1e3:9.1f} ms/step   (backend {r['backend']})")
    by = {(r["variant"], r["batch"]): r for r in results if "error" not in r}
    c_small, n_small = by.get(("closed", args.naive_batch)), by.get(("naive", args.naive_batch))
    c_big, s_big = by.get(("closed", args.batch)), by.get(("softmax", args.batch))
    if c_small and n_small:
        bkd_gb = args.naive_batch * args.classes * args.dim * 4 / 2**30
        print(f"naive / closed at B={args.naive_batch}: "
              f"memory x{n_small['peak_minus_base_mb'] / c_small['peak_minus_base_mb']:.1f}, "
              f"time x{n_small['median_step_s'] / c_small['median_step_s']:.1f} "
              f"(one [B, K, d] float32 tensor = {bkd_gb:.2f} GB; at B={args.batch}: "
              f"{args.batch * args.classes * args.dim * 4 / 2**30:.2f} GB)")
    if c_big and s_big:
        print(f"DistArc / softmax Dense train step at B={args.batch}: "
              f"time x{c_big['median_step_s'] / s_big['median_step_s']:.2f}, "
              f"memory x{c_big['peak_minus_base_mb'] / s_big['peak_minus_base_mb']:.2f}")
    if c_big and c_small:
        print(f"closed form B={args.batch} vs B={args.naive_batch}: "
              f"memory x{c_big['peak_minus_base_mb'] / c_small['peak_minus_base_mb']:.2f} "
              f"(batch x{args.batch / args.naive_batch:.0f}; "
              f"B×K float32 = {args.batch * args.classes * 4 / 2**20:.1f} MB)")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
