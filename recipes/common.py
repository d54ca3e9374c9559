"""Shared plumbing of the recipes: backend selection before keras is imported, the argparse parent of
every recipe, the image-classification data and model helpers, epoch timing, the run summary
(metrics.json) and running another recipe as its own process.

Recipes never import each other: what two of them share lives here, and a grid of runs of one recipe
(`compare_heads`, `prototype_experiments`) starts it with `run_recipe` and reads its metrics.json.
"""

import argparse
import ast
import json
import os
import platform
import subprocess
import sys
import time

#: Datasets of the image-classification recipes (offline: Debian's Fashion-MNIST, scikit-learn's digits).
DATASETS = ("fashion_mnist", "digits")
#: Keras backends a recipe can run on (`--backend`).
BACKENDS = ("tensorflow", "jax", "torch")
#: The file every recipe writes its run summary to.
SUMMARY_FILE = "metrics.json"

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def select_backend(argv):
    """Honour `--backend NAME` before keras is imported (KERAS_BACKEND is read at import time)."""
    for i, a in enumerate(argv):
        if a == "--backend" and i + 1 < len(argv):
            os.environ["KERAS_BACKEND"] = argv[i + 1]
        elif a.startswith("--backend="):
            os.environ["KERAS_BACKEND"] = a.split("=", 1)[1]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND"):
        import keras

        if keras.backend.backend() != os.environ["KERAS_BACKEND"]:
            raise RuntimeError(
                f"keras was already imported with backend {keras.backend.backend()!r}; "
                f"cannot switch to {os.environ['KERAS_BACKEND']!r} in this process."
            )


def base_parser(*, epochs, verbose=2, lr=1e-3, out_default=None, out_help=None, backend_choices=BACKENDS):
    """The argparse parent of every recipe: --epochs, --lr, --seed, --out, --backend, --verbose.

    Use as ``argparse.ArgumentParser(..., parents=[common.base_parser(epochs=5)])``; the defaults are the
    recipe's own.
    """
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=out_default, help=out_help or "output folder")
    p.add_argument("--backend", default=None, choices=backend_choices,
                   help="Keras backend (default: KERAS_BACKEND or tensorflow)")
    p.add_argument("--verbose", type=int, default=verbose, help="Keras fit verbosity (1 = progress bar)")
    return p


def parse_head_options(pairs):
    """['margin=0.5', 'easy_margin=True'] -> {'margin': 0.5, 'easy_margin': True}."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"--head-opt expects KEY=VALUE; got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()
    return out


# -- image classification data and models ----------------------------------------------------------------
def load_data(name, train_limit=None, test_limit=None):
    """(x_train, y_train), (x_test, y_test) as uint8 images [N, H, W] and int labels."""
    import zoo.data

    if name == "fashion_mnist":
        (xtr, ytr), (xte, yte) = zoo.data.fashion_mnist()
    elif name == "digits":
        (xtr, ytr), (xte, yte) = zoo.data.digits()
    else:
        raise ValueError(f"--dataset must be one of {DATASETS}; got {name!r}")
    if train_limit:
        xtr, ytr = xtr[:train_limit], ytr[:train_limit]
    if test_limit:
        xte, yte = xte[:test_limit], yte[:test_limit]
    return (xtr, ytr), (xte, yte)


def mean_std(x_train):
    """(mean, std) of the training pixels scaled to [0, 1]: the `normalize` of every recipe pipeline."""
    scaled = x_train.astype("float32") / 255.0
    return float(scaled.mean()), float(scaled.std())


def float_images(x, normalize):
    """uint8 [N, H, W(, C)] -> normalised float32 [N, H, W, C] (as zoo.data.make_dataset)."""
    import numpy as np

    x = x[..., None] if x.ndim == 3 else x
    return ((x.astype("float32") / 255.0 - normalize[0]) / normalize[1]).astype(np.float32)


def build_classifier(backbone, spec, input_shape):
    """Functional model image (+ label when the head needs it) -> scores."""
    import keras

    image = keras.Input(shape=input_shape, name="image")
    embedding = backbone(image)
    if spec.needs_labels:
        label = keras.Input(shape=(), dtype="int32", name="label")
        scores = spec.layer(embedding, labels=label)
        return keras.Model([image, label], scores, name="classifier")
    return keras.Model(image, spec.layer(embedding), name="classifier")


def make_optimizer(name, lr):
    """Adam (default), SGD with momentum 0.9, or AdamW."""
    import keras

    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9)
    if name == "adamw":
        return keras.optimizers.AdamW(lr)
    return keras.optimizers.Adam(lr)


# -- running, timing, summaries ---------------------------------------------------------------------------
def epoch_timer():
    """A Keras callback recording the wall time of every epoch in `.times` (seconds)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._t0)

    return EpochTimer()


def write_summary(out_dir, summary):
    """Write `summary` (a dict) to out_dir/metrics.json, with the backend and versions, and return the path."""
    import keras

    summary = dict(summary)
    summary.setdefault("backend", keras.backend.backend())
    summary.setdefault("keras", keras.__version__)
    summary.setdefault("python", platform.python_version())
    path = os.path.join(out_dir, SUMMARY_FILE)
    tmp = f"{path}.tmp-{os.getpid()}"  # same folder, then an atomic rename: a crash never leaves half a file
    try:
        with open(tmp, "w") as f:
            json.dump(summary, f, indent=2, sort_keys=True, default=float)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def read_summary(out_dir):
    """The dict a recipe wrote to out_dir/metrics.json."""
    with open(os.path.join(out_dir, SUMMARY_FILE)) as f:
        return json.load(f)


def run_recipe(name, argv, out_dir, backend=None):
    """Run ``python -m recipes.<name> <argv>`` in its own process and return its metrics.json summary.

    `out_dir` must be the run's `--out` (in `argv`); `backend` (default: this process's keras backend, or
    KERAS_BACKEND) is passed on. A failed run raises `subprocess.CalledProcessError`.
    """
    env = dict(os.environ)
    if backend is None and "keras" in sys.modules:
        backend = sys.modules["keras"].backend.backend()
    if backend:
        env["KERAS_BACKEND"] = backend
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    subprocess.run([sys.executable, "-m", f"recipes.{name}", *argv], env=env, check=True)
    return read_summary(out_dir)
