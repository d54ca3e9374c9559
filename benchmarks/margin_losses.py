"""Margin-loss speed: `zoo.losses.ArcFaceLoss` / `CosFaceLoss` on `zoo.layers.CosineHead` against
pytorch-metric-learning's `ArcFaceLoss` / `CosFaceLoss` (which own their class weights), one process.

Size of the comparison: batch B = 256, embedding d = 512, K = 10,000 classes. Each timed step is a train
step: forward (cos θ = x̂·Ŵ, margin, scaled softmax cross-entropy, mean over the batch), backward with
respect to the embeddings (a trainable input) and the 512 x 10,000 weights, and a plain SGD update of both.
Ours is compiled the way `keras.Model.compile(jit_compile="auto")` runs on a CPU: `tf.function` on
TensorFlow (no XLA), `jax.jit` on JAX, eager on PyTorch. pytorch-metric-learning runs in eager PyTorch as
in its repository. All variants run in the same process, interleaved (zoo, PML, zoo, ...), so machine load
hits them alike; the ratio printed is PML's median step time over ours (> 1: ours is faster). The
previous zoo formulation (one-hot arithmetic, `logsumexp - sum(logits * onehot)`) is timed alongside.

Peak memory: each variant also runs alone in a child process (`--no-memory` skips this); it reports its
peak resident memory during the train steps (VmHWM, reset after the data and weights were built) minus
the resident memory at that point, i.e. what the train steps add (compilation included: the first
step is among them). The ratio printed is ours over PML's (< 1: ours needs less).

pytorch-metric-learning installs into the benchmark environment `.bench/` (git-ignored):

    .venv/bin/pip install --target .bench --no-deps pytorch-metric-learning==2.9.0 tqdm

Usage:
    KERAS_BACKEND=tensorflow python -m benchmarks.margin_losses
    KERAS_BACKEND=jax python -m benchmarks.margin_losses --steps 30 --json runs/bench/margin_jax.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
BENCH_ENV = os.path.join(ROOT, ".bench")

MARGINS = {"arcface": 0.5, "cosface": 0.35}  # the zoo's defaults (PML's ArcFace margin is in degrees)
SCALE = 64.0
LR = 1e-3
VARIANTS = ("zoo_arcface", "pml_arcface", "zoo_cosface", "pml_cosface", "zoo_previous_arcface",
            "zoo_previous_cosface")


def limit_threads(n):
    """Run every engine on `n` threads (set before TensorFlow, JAX or torch start): on a loaded machine the
    engines' spinning thread pools otherwise compete with each other and with other processes."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(n)
    os.environ["OMP_NUM_THREADS"] = str(n)
    xla = f"--xla_cpu_multi_thread_eigen={'false' if n == 1 else 'true'} intra_op_parallelism_threads={n}"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {xla}".strip()
    import torch

    torch.set_num_threads(n)
    torch.set_num_interop_threads(n)


def import_pml():
    """pytorch_metric_learning from `.bench/`, with a clear message when it is not installed."""
    if BENCH_ENV not in sys.path:
        sys.path.insert(0, BENCH_ENV)
    try:
        from pytorch_metric_learning import losses
    except ImportError as e:
        raise SystemExit(
            f"pytorch-metric-learning is not installed in {BENCH_ENV} ({e}). Install it with:\n"
            f"  cd {ROOT} && .venv/bin/pip install --target .bench --no-deps pytorch-metric-learning==2.9.0 tqdm"
        ) from None
    return losses


def previous_loss(kind):
    """The zoo's margin losses before the MarginLoss base (one-hot arithmetic), per sample, for the
    before/after comparison."""
    from keras import ops

    from zoo.losses._common import arcface_target

    margin = MARGINS[kind]

    def fn(labels, cos):
        k = cos.shape[-1]
        onehot = ops.one_hot(labels, k, dtype="float32")
        if kind == "arcface":
            cos_y = ops.sum(cos * onehot, axis=-1)
            logits = SCALE * (cos + onehot * ops.expand_dims(arcface_target(cos_y, margin) - cos_y, -1))
        else:
            logits = SCALE * (cos - margin * onehot)
        return ops.mean(ops.logsumexp(logits, axis=-1) - ops.sum(logits * onehot, axis=-1))

    return fn


def zoo_loss(kind):
    import zoo.losses

    loss = (zoo.losses.ArcFaceLoss(scale=SCALE, margin=MARGINS["arcface"]) if kind == "arcface"
            else zoo.losses.CosFaceLoss(scale=SCALE, margin=MARGINS["cosface"]))
    return lambda labels, cos: loss(labels, cos)


def keras_step(loss_fn, x_np, y_np, w_np):
    """A compiled train step of CosineHead + loss_fn on the current backend; returns step() -> loss."""
    import keras

    import zoo.layers

    head = zoo.layers.CosineHead(w_np.shape[1])
    head.build(x_np.shape)
    head.kernel.assign(w_np)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.Variable(x_np)
        y = tf.constant(y_np)
        kernel = head.kernel.value

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = loss_fn(y, head(x))
            gx, gw = tape.gradient(loss, [x, kernel])
            x.assign_sub(LR * gx)
            kernel.assign_sub(LR * gw)
            return loss

        return lambda: float(step())
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        state = {"x": jnp.asarray(x_np), "w": jnp.asarray(w_np)}
        y = jnp.asarray(y_np)

        def loss_of(x, w):
            return loss_fn(y, head.stateless_call([w], [], x)[0])

        @jax.jit
        def update(x, w):
            loss, (gx, gw) = jax.value_and_grad(loss_of, argnums=(0, 1))(x, w)
            return loss, x - LR * gx, w - LR * gw

        def step():
            loss, state["x"], state["w"] = update(state["x"], state["w"])
            return float(loss)

        return step
    if backend == "torch":
        import torch

        x = torch.tensor(x_np, requires_grad=True)
        y = torch.tensor(y_np)
        kernel = head.kernel.value

        def step():
            loss = loss_fn(y, head(x))
            gx, gw = torch.autograd.grad(loss, [x, kernel])
            with torch.no_grad():
                x.sub_(LR * gx)
                kernel.sub_(LR * gw)
            return float(loss.detach())

        return step
    raise RuntimeError(f"unsupported backend {backend}")


def pml_step(kind, x_np, y_np, w_np):
    """pytorch-metric-learning's loss (it owns W [d, K]), eager torch, same data and SGD update."""
    import torch

    losses = import_pml()
    d, k = w_np.shape
    if kind == "arcface":
        loss_fn = losses.ArcFaceLoss(k, d, margin=math.degrees(MARGINS["arcface"]), scale=SCALE)
    else:
        loss_fn = losses.CosFaceLoss(k, d, margin=MARGINS["cosface"], scale=SCALE)
    with torch.no_grad():
        loss_fn.W.copy_(torch.tensor(w_np))
    x = torch.tensor(x_np, requires_grad=True)
    y = torch.tensor(y_np)

    def step():
        loss = loss_fn(x, y)
        gx, gw = torch.autograd.grad(loss, [x, loss_fn.W])
        with torch.no_grad():
            x.sub_(LR * gx)
            loss_fn.W.sub_(LR * gw)
        return float(loss.detach())

    return step


def make_step(variant, x_np, y_np, w_np):
    source, kind = variant.rsplit("_", 1)
    if source == "pml":
        return pml_step(kind, x_np, y_np, w_np)
    fn = zoo_loss(kind) if source == "zoo" else previous_loss(kind)
    return keras_step(fn, x_np, y_np, w_np)


def data(batch, dim, classes):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, dim)).astype("float32")
    y = rng.integers(0, classes, size=batch).astype("int64")
    w = (rng.normal(size=(dim, classes)) * math.sqrt(2.0 / (dim + classes))).astype("float32")
    return x, y, w


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak_rss():
    """Reset the kernel's peak-RSS counter (VmHWM) of this process to its current RSS (Linux >= 4.0), so
    that the peak of the imports does not hide the peak of the steps."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child_memory(variant, batch, dim, classes, steps):
    """Runs in a child process: build one variant, run `steps` train steps, print JSON."""
    x, y, w = data(batch, dim, classes)
    step = make_step(variant, x, y, w)
    reset_peak_rss()
    base = rss_mb()
    for _ in range(steps):
        step()
    peak = peak_rss_mb()
    print(json.dumps({"variant": variant, "peak_rss_mb": peak, "base_rss_mb": base, "steps_mb": peak - base}))


def memory(variants, args):
    out = {}
    for variant in variants:
        cmd = [sys.executable, "-m", "benchmarks.margin_losses", "--child", variant, "--batch", str(args.batch),
               "--dim", str(args.dim), "--classes", str(args.classes)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ))
        if proc.returncode:
            raise RuntimeError(f"{variant}: {proc.stderr[-2000:]}")
        out[variant] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--classes", type=int, default=10_000)
    p.add_argument("--steps", type=int, default=30, help="timed steps per variant (interleaved)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    p.add_argument("--no-memory", action="store_true", help="skip the per-variant peak memory children")
    p.add_argument("--threads", type=int, default=None, help="threads of every engine (default: their own)")
    p.add_argument("--json", default=None, help="also write the result to this file")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    if args.child:
        return child_memory(args.child, args.batch, args.dim, args.classes, max(args.warmup, 3))

    import keras
    import numpy as np
    import torch

    if any(v.startswith("pml") for v in args.variants):
        import_pml()
    x, y, w = data(args.batch, args.dim, args.classes)
    steps = {v: make_step(v, x, y, w) for v in args.variants}
    first = {v: step() for v, step in steps.items()}  # the same data and weights: the same first loss
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    times = {v: [] for v in steps}
    for _ in range(args.steps):
        for v, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[v].append(time.perf_counter() - t0)
    median = {v: float(np.median(t)) for v, t in times.items()}
    result = {
        "backend": keras.backend.backend(), "batch": args.batch, "dim": args.dim, "classes": args.classes,
        "steps": args.steps, "threads": args.threads, "torch_threads": torch.get_num_threads(),
        "load_avg": os.getloadavg(),
        "first_loss": first, "median_step_ms": {v: 1e3 * t for v, t in median.items()}, "speed_vs_pml": {},
    }
    for v in median:
        kind = v.rsplit("_", 1)[1]
        if not v.startswith("pml") and f"pml_{kind}" in median:
            result["speed_vs_pml"][v] = median[f"pml_{kind}"] / median[v]
    print(f"backend {result['backend']}, B={args.batch}, d={args.dim}, K={args.classes}, {args.steps} interleaved "
          f"train steps (fwd + bwd + SGD), torch threads {result['torch_threads']}, "
          f"load {result['load_avg'][0]:.2f}")
    for v, t in median.items():
        ratio = f"   speed vs PML {result['speed_vs_pml'][v]:.2f}x" if v in result["speed_vs_pml"] else ""
        print(f"  {v:22s} {1e3 * t:8.1f} ms/step   first loss {first[v]:.4f}{ratio}")
    if not args.no_memory:
        mem = memory(args.variants, args)
        result["memory_mb"] = mem
        print("peak memory added by the train steps (each variant alone in a child process):")
        for v, m in mem.items():
            kind = v.rsplit("_", 1)[1]
            ratio = ""
            if not v.startswith("pml") and f"pml_{kind}" in mem:
                ratio = f"   memory vs PML {m['steps_mb'] / max(mem[f'pml_{kind}']['steps_mb'], 1e-9):.2f}x"
            print(f"  {v:22s} {m['steps_mb']:8.1f} MB (peak RSS {m['peak_rss_mb']:.0f} MB){ratio}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
