"""Head overhead: one train step of `zoo.models.ImageClassifier` with each registered head against the softmax head,
same backbone, batch and data, on the current Keras backend (target: ratio <= 1.10).

Every head gets its own `ImageClassifier(backbone, head=..., num_classes=10, input_shape=..., embedding_dim=64)`
compiled with its defaults (`compile()`: the head's loss and metrics, Adam 1e-3; `jit_compile="auto"`, i.e.
XLA on TensorFlow and JAX, eager on PyTorch) and trained with `train_on_batch` on one fixed batch of raw uint8
Fashion-MNIST images (LeNet on 28x28 by default; `--backbone resnet20 --input-shape 32 32 3` for a CIFAR-sized
ResNet, the images resized to it by the model's own preprocessing). A step is what `fit` runs per batch: the
host-side input checks of the task model, preprocessing, forward, loss, backward, the Adam update and the
metrics. After `--warmup` steps each (compilation), the heads' steps are interleaved (softmax, arcface, ...,
softmax, arcface, ...) so machine load hits them alike; the ratio printed is a head's median step time over
the softmax head's. Callbacks do not run in `train_on_batch` (the prototypes head's Hungarian reassignment runs
once per epoch in `fit`; its cost is measured by `benchmarks/prototype_reassignment.py`).

The prototypes head uses "etf" prototypes here when d >= K - 1, else "learned" ones (initialised from the "uniform"
set, which is estimated once, e.g. ~1 min for K = 1000, d = 256, and cached on disk by `zoo.prototypes`); the step
costs the same for fixed prototypes, a [d, K] matrix either way; learned ones add its gradient.

Usage:
    python -m benchmarks.head_overhead --backend tensorflow
    python -m benchmarks.head_overhead --backend jax --steps 30 --json runs/bench/head_overhead_jax.json
    python -m benchmarks.head_overhead --backend torch --backbone resnet20 --input-shape 32 32 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TARGET = 1.10


def head_options(head, classes, dim):
    """Options per head for the benchmark (everything else: the registry's defaults)."""
    if head == "prototypes":
        return {"prototypes": "etf", "verbose": 0} if dim >= classes - 1 else {"prototypes": "learned"}
    return {}


def limit_threads(n):
    """Run the engine on `n` threads (set before TensorFlow, JAX or torch start)."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(n)
    os.environ["OMP_NUM_THREADS"] = str(n)
    xla = f"--xla_cpu_multi_thread_eigen={'false' if n == 1 else 'true'} intra_op_parallelism_threads={n}"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {xla}".strip()


def batch_of_images(size, seed=0):
    """`size` raw uint8 Fashion-MNIST training images and their labels (offline copy; random pixels without it)."""
    import numpy as np

    import zoo

    try:
        (x, y), _ = zoo.data.fashion_mnist()
        source = "fashion_mnist"
    except Exception as e:  # no local copy: same shapes, random content (the step time does not depend on it)
        print(f"fashion_mnist unavailable ({type(e).__name__}); using random pixels", file=sys.stderr)
        rng = np.random.default_rng(seed)
        x, y = rng.integers(0, 256, (size, 28, 28), dtype=np.uint8), rng.integers(0, 10, size)
        source = "random"
    idx = np.random.default_rng(seed).permutation(len(x))[:size]
    return x[idx], y[idx].astype("int32"), source


def build(head, args):
    import keras

    import zoo

    keras.utils.set_random_seed(0)
    model = zoo.models.ImageClassifier(args.backbone, head=head, num_classes=args.classes,
                                       input_shape=tuple(args.input_shape), embedding_dim=args.dim,
                                       **head_options(head, args.classes, args.dim))
    model.compile()
    return model


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default=None, choices=["tensorflow", "jax", "torch"],
                   help="Keras backend (default: $KERAS_BACKEND)")
    p.add_argument("--backbone", default="lenet", help="zoo.backbones name (default lenet)")
    p.add_argument("--input-shape", type=int, nargs="+", default=[28, 28],
                   help="(H, W[, C]) the backbone is built for; images are resized by the model (default 28 28)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--dim", type=int, default=64, help="embedding dimension (default 64)")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--steps", type=int, default=20, help="timed steps per head (interleaved)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--heads", nargs="+", default=None, help="heads to time (default: every registered head)")
    p.add_argument("--threads", type=int, default=None, help="threads of the engine (default: its own)")
    p.add_argument("--json", default=None, help="also write the result to this file")
    args = p.parse_args(argv)
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    if args.threads:
        limit_threads(args.threads)

    import keras
    import numpy as np

    import zoo

    if args.threads and keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(args.threads)
    heads = args.heads or zoo.heads.available()
    heads = ["softmax"] + [h for h in heads if h != "softmax"]
    x, y, source = batch_of_images(args.batch)
    models, first_ms, losses = {}, {}, {}
    for head in heads:
        models[head] = build(head, args)
        models[head].adapt(x)
        t0 = time.perf_counter()
        models[head].train_on_batch(x, y)  # compilation
        first_ms[head] = 1e3 * (time.perf_counter() - t0)
        for _ in range(args.warmup):
            models[head].train_on_batch(x, y)
    times = {h: [] for h in heads}
    for _ in range(args.steps):
        for head, model in models.items():
            t0 = time.perf_counter()
            logs = model.train_on_batch(x, y, return_dict=True)
            times[head].append(time.perf_counter() - t0)
            losses[head] = float(logs["loss"])
    median = {h: float(np.median(t)) for h, t in times.items()}
    ratio = {h: median[h] / median["softmax"] for h in heads}
    result = {
        "backend": keras.backend.backend(), "keras": keras.__version__, "backbone": args.backbone,
        "input_shape": args.input_shape, "batch": args.batch, "dim": args.dim, "classes": args.classes,
        "steps": args.steps, "warmup": args.warmup, "threads": args.threads, "data": source,
        "load_avg": os.getloadavg(), "median_step_ms": {h: 1e3 * t for h, t in median.items()},
        "first_step_ms": first_ms, "ratio_to_softmax": ratio, "last_loss": losses, "target": TARGET,
    }
    print(f"backend {result['backend']}, {args.backbone} {tuple(args.input_shape)}, B={args.batch}, d={args.dim}, "
          f"K={args.classes}, median of {args.steps} interleaved train steps, load {result['load_avg'][0]:.2f}")
    for head in heads:
        flag = "" if ratio[head] <= TARGET else f"   above target {TARGET:.2f}"
        print(f"  {head:12s} {1e3 * median[head]:8.1f} ms/step   ratio {ratio[head]:.2f}   "
              f"(first step incl. compile {first_ms[head] / 1e3:.1f} s){flag}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
