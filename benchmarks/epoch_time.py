"""Wall time of one Fashion-MNIST epoch of the default classification recipe on each Keras backend.

Runs `python -m recipes.classification` (LeNet, dim 64, softmax head, batch 128, 60,000 images) once per
backend in a fresh process, `--epochs 2`, and reports the second epoch (the first includes tracing /
compilation) next to the 1-minute load average, since timings on a shared machine mean little without it.
Prints the ratio of each backend to TensorFlow.

Usage:
    python benchmarks/epoch_time.py [--backends tensorflow jax torch] [--epochs 2]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"])
    p.add_argument("--epochs", type=int, default=2)
    args = p.parse_args()
    rows = []
    for backend in args.backends:
        with tempfile.TemporaryDirectory() as out:
            load_before = os.getloadavg()[0]
            cmd = [sys.executable, "-m", "recipes.classification", "--backend", backend, "--epochs", str(args.epochs),
                   "--verbose", "0", "--out", out]
            done = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if done.returncode != 0:
                sys.exit(f"epoch_time: the {backend} run failed (exit {done.returncode}): {' '.join(cmd)}\n"
                         + done.stderr[-4000:])
            with open(os.path.join(out, "metrics.json")) as f:
                m = json.load(f)
        rows.append({"backend": backend, "first_epoch_s": m["epoch_seconds"][0], "epoch_s": m["epoch_seconds"][-1],
                     "test_accuracy": m["test_accuracy"], "load_before": load_before, "load_after": os.getloadavg()[0]})
        print(json.dumps(rows[-1]), flush=True)
    base = next((r["epoch_s"] for r in rows if r["backend"] == "tensorflow"), rows[0]["epoch_s"])
    print("\n| backend | epoch (s) | first epoch incl. compile (s) | ratio to tensorflow | load avg before/after |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {r['epoch_s']:.1f} | {r['first_epoch_s']:.1f} | {r['epoch_s'] / base:.2f} | "
              f"{r['load_before']:.1f} / {r['load_after']:.1f} |")


if __name__ == "__main__":
    main()
