"""Cost of the task models' input checks (`zoo.models._inputs`) against the training they guard.

Two measurements on Fashion-MNIST (60,000 uint8 images, int labels), in one process on the current backend:

1. arrays: the host-side checks `fit(x, y)` runs once per call (images finite and in 0..255, labels whole and in
   [0, 10)) against one epoch of `ImageClassifier("lenet")` at batch 128;
2. tf.data: one pass over a batched dataset of raw images with and without the checking `map` (the asserts that
   name bad labels and pixel values run in the input pipeline, beside the train step, not inside it).

Prints the ratios; the 1-minute load average is printed beside them (the machine is shared).

Usage:
    python benchmarks/input_checks.py [--backend jax] [--repeats 5]
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default=None, choices=("tensorflow", "jax", "torch"))
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, ROOT)
    import keras
    import tensorflow as tf

    import zoo
    from zoo.models import _inputs

    (x, y), _ = zoo.data.fashion_mnist()
    load = os.getloadavg()[0]

    def host_checks():
        _inputs.check_images(x, "bench")
        _inputs.check_labels(y, 10, "bench", count=len(x))

    host = _median_seconds(host_checks, args.repeats)
    model = zoo.models.ImageClassifier("lenet", num_classes=10, input_shape=(28, 28))
    model.compile()
    model.fit(x[:1024], y[:1024], epochs=1, batch_size=128, verbose=0)  # compile outside the timing
    t0 = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=128, verbose=0)
    epoch = time.perf_counter() - t0

    raw = tf.data.Dataset.from_tensor_slices((x, y)).batch(128)
    checked = _inputs.feed(raw, None, num_classes=10, needs_labels=False, where="bench")[0]
    plain_pass = _median_seconds(lambda: [None for _ in raw], args.repeats)
    checked_pass = _median_seconds(lambda: [None for _ in checked], args.repeats)
    result = {
        "backend": keras.backend.backend(), "load_1min": load,
        "host_checks_s": round(host, 4), "epoch_s": round(epoch, 2), "host_checks_over_epoch": round(host / epoch, 4),
        "tfdata_plain_pass_s": round(plain_pass, 3), "tfdata_checked_pass_s": round(checked_pass, 3),
        "tfdata_check_overhead_over_epoch": round((checked_pass - plain_pass) / epoch, 4),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
