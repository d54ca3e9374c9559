"""Shared plumbing of the recipes: backend selection before keras is imported, output folders,
epoch timing, option parsing and the run summary (metrics.json)."""

import ast
import json
import os
import platform
import sys
import time


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
    """Write `summary` (a dict) to out_dir/metrics.json and return the path."""
    import keras

    summary = dict(summary)
    summary.setdefault("backend", keras.backend.backend())
    summary.setdefault("keras", keras.__version__)
    summary.setdefault("python", platform.python_version())
    path = os.path.join(out_dir, "metrics.json")
    with open(path, "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True, default=float)
    return path
