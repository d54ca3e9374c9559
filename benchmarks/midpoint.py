"""Einstein midpoint speed: `zoo.geometry.poincare.midpoint` against hyptorch's `poincare_mean`, one process.

Few-shot prototypes at the reference's largest size: 30 ways x 5 shots x 1600 dimensions, the mean over
the shot axis. Each timed step is forward + backward (loss = sum(midpoint * g) for a fixed random g,
gradient with respect to the points), compiled the way `keras.Model.compile(jit_compile="auto")` runs on
this machine: `tf.function` on TensorFlow (no XLA on CPU), `jax.jit` on JAX, eager on PyTorch. The
reference runs in eager PyTorch, as in its repository. Both run in the same process, in rounds: each round
runs every variant in a fresh random order, one untimed step and then `--block` timed steps each, so
machine load hits all alike and no variant always follows the same one (a library's idle worker threads
spin for a while after its last op and slow whatever runs next). Every library runs on `--threads`
threads (default 1: on a shared machine that is what makes the numbers repeatable). The ratio printed is
the reference's median step time over ours (> 1: ours is faster), with the ratio of the fastest steps
next to it. The previous zoo midpoint (Poincaré -> Klein -> Poincaré round trip) is timed alongside for
the before/after.

The reference: `poincare_mean` of hyptorch/pmath.py in leymir/hyperbolic-image-embeddings (Khrulkov et
al., "Hyperbolic Image Embeddings", CVPR 2020), reproduced op for op below (`reference_poincare_mean`):
to Klein k = 2x/(1 + c||x||^2), Lorentz factors gamma = 1/sqrt(1 - c||k||^2), m_K = sum gamma k / sum gamma,
back to the ball m_K/(1 + sqrt(1 - c||m_K||^2)). It is not installable from PyPI: the `hyptorch` package
there (1.3.1, Iarrova/hyptorch, Python >= 3.13) is a different library with the same name.

Usage:
    KERAS_BACKEND=tensorflow python -m benchmarks.midpoint
    KERAS_BACKEND=jax python -m benchmarks.midpoint --rounds 80 --json runs/bench/midpoint_jax.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time


def _parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", type=int, nargs=3, default=[30, 5, 1600], metavar=("WAYS", "SHOTS", "DIM"))
    p.add_argument("--c", type=float, default=0.01, help="curvature (the reference's MiniImageNet value)")
    p.add_argument("--radius", type=float, default=0.9, help="largest sqrt(c)||x|| of the random points")
    p.add_argument("--rounds", type=int, default=40, help="rounds of interleaved blocks")
    p.add_argument("--block", type=int, default=5, help="timed steps per variant and round")
    p.add_argument("--threads", type=int, default=1, help="threads of every library (0: their defaults)")
    p.add_argument("--json", default=None, help="also write the result to this file")
    return p.parse_args(argv)


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None and ARGS.threads > 0:  # before the libraries start their thread pools
    n = str(ARGS.threads)
    os.environ["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={n}"
    os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = n
    os.environ["OMP_NUM_THREADS"] = n
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from keras import ops  # noqa: E402

from zoo.geometry import numerics as nx  # noqa: E402
from zoo.geometry import poincare as P  # noqa: E402


def reference_poincare_mean(x, dim=0, c=1.0):
    """hyptorch's poincare_mean (p2k, lorenz_factor, weighted sum, k2p), the same torch ops in order."""
    k = 2 * x / (1 + c * x.pow(2).sum(-1, keepdim=True))
    lamb = 1 / torch.sqrt(1 - c * k.pow(2).sum(dim=-1, keepdim=True))
    mean = torch.sum(lamb * k, dim=dim, keepdim=True) / torch.sum(lamb, dim=dim, keepdim=True)
    mean = mean / (1 + torch.sqrt(1 - c * mean.pow(2).sum(-1, keepdim=True)))
    return mean.squeeze(dim)


def previous_midpoint(x, c=1.0, axis=-2):
    """The zoo's midpoint before this benchmark: Lorentz factors from the Poincaré norms, Klein round trip."""
    x2 = c * nx.sq_norm(x)
    gamma = (1.0 + x2) / ops.maximum(1.0 - x2, nx.MIN_DENOM)
    k = 2.0 * x / (1.0 + x2)
    num = ops.sum(gamma * k, axis=axis)
    den = ops.maximum(ops.sum(gamma, axis=axis), nx.MIN_DENOM)
    m = num / den
    return m / (1.0 + ops.sqrt(ops.maximum(1.0 - c * nx.sq_norm(m), 0.0)))


def keras_step(fn, x_np, g_np):
    """A compiled forward + backward step of fn on the current backend: returns step() -> (loss, grad)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x, g = tf.constant(x_np), tf.constant(g_np)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(fn(x) * g)
            return loss, tape.gradient(loss, x)

        return lambda: [t.numpy() for t in step()]
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        x, g = jnp.asarray(x_np), jnp.asarray(g_np)
        step = jax.jit(jax.value_and_grad(lambda a: jnp.sum(fn(a) * g)))
        return lambda: jax.block_until_ready(step(x))
    if backend == "torch":
        x = torch.tensor(x_np, requires_grad=True)
        g = torch.tensor(g_np)

        def step():
            loss = (fn(x) * g).sum()
            return loss, torch.autograd.grad(loss, x)[0]

        return step
    raise RuntimeError(f"unsupported backend {backend}")


def reference_step(x_np, g_np, c, axis):
    x = torch.tensor(x_np, requires_grad=True)
    g = torch.tensor(g_np)

    def step():
        loss = (reference_poincare_mean(x, dim=axis, c=c) * g).sum()
        return loss, torch.autograd.grad(loss, x)[0]

    return step


def to_numpy(t):
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(ops.convert_to_numpy(t))


def _set_threads(n):
    if n <= 0:
        return
    torch.set_num_threads(n)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)


def main(args=None):
    args = args if args is not None else _parse([])
    _set_threads(args.threads)
    ways, shots, dim = args.shape
    c, axis = args.c, 1
    rng = np.random.default_rng(0)
    v = rng.normal(size=(ways, shots, dim))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    x_np = (v * rng.uniform(0.0, args.radius, size=(ways, shots, 1)) / np.sqrt(c)).astype(np.float32)
    g_np = rng.normal(size=(ways, dim)).astype(np.float32)

    variants = {
        "zoo": keras_step(lambda a: P.midpoint(a, c, axis=axis), x_np, g_np),
        "zoo_previous": keras_step(lambda a: previous_midpoint(a, c, axis=axis), x_np, g_np),
        "hyptorch": reference_step(x_np, g_np, c, axis),
    }
    # Agreement: every variant's loss and gradient against the float64 reference on the same points.
    want = reference_step(x_np.astype(np.float64), g_np.astype(np.float64), c, axis)()
    agreement = {}
    for name, step in variants.items():
        loss, grad = (to_numpy(t) for t in step())
        agreement[name] = {
            "loss_rel_err": float(abs(loss - to_numpy(want[0])) / abs(to_numpy(want[0]))),
            "grad_rel_err": float(np.max(np.abs(grad - to_numpy(want[1]))) / np.max(np.abs(to_numpy(want[1])))),
        }
    for step in variants.values():  # compile / warm up
        for _ in range(3):
            step()
    load_before = os.getloadavg()[0]
    times = {name: [] for name in variants}
    rng_order = random.Random(0)
    for _ in range(args.rounds):
        order = list(variants)
        rng_order.shuffle(order)
        for name in order:
            variants[name]()  # untimed: absorbs the previous variant's idle-thread spin
            for _ in range(args.block):
                t0 = time.perf_counter()
                variants[name]()
                times[name].append(time.perf_counter() - t0)
    median = {name: float(np.median(t)) for name, t in times.items()}
    fastest = {name: float(np.min(t)) for name, t in times.items()}
    result = {
        "backend": keras.backend.backend(), "shape": [ways, shots, dim], "axis": axis, "c": c,
        "steps_per_variant": args.rounds * args.block, "threads": args.threads,
        "load_avg_1min": [load_before, os.getloadavg()[0]],
        "median_step_ms": {k: 1e3 * t for k, t in median.items()},
        "fastest_step_ms": {k: 1e3 * t for k, t in fastest.items()},
        "speed_vs_hyptorch_median": {k: median["hyptorch"] / t for k, t in median.items() if k != "hyptorch"},
        "speed_vs_hyptorch_fastest": {k: fastest["hyptorch"] / t for k, t in fastest.items() if k != "hyptorch"},
        "agreement_with_float64_reference": agreement,
    }
    print(f"backend {result['backend']}, x {ways}x{shots}x{dim}, mean over axis {axis}, c={c}, "
          f"{args.rounds * args.block} steps per variant, {args.threads or 'default'} thread(s), "
          f"load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}")
    for name in variants:
        ratio = "" if name == "hyptorch" else (
            f"  speed vs hyptorch {median['hyptorch'] / median[name]:.2f}x (fastest steps "
            f"{fastest['hyptorch'] / fastest[name]:.2f}x)")
        err = agreement[name]
        print(f"  {name:13s} median {1e3 * median[name]:7.3f} ms/step (fwd+bwd){ratio}  "
              f"vs float64: loss {err['loss_rel_err']:.1e}, grad {err['grad_rel_err']:.1e}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main(ARGS)
