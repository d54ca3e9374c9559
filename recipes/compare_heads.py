"""Comparison grid of the hyperspherical heads on one backbone and budget, written as a markdown table.

Runs `python -m recipes.classification ...` (a `zoo.models.ImageClassifier` per run) once per (head,
dimension), one run at a time, each in its own process (`recipes.common.run_recipe`, which returns the run's
metrics.json), appends every result to a JSON-lines file as soon as it finishes (so a cut-off grid keeps what it
has), and writes the markdown tables (main comparison and the HyperSpaceX ablation) from that file.

For DistArc rows it also reloads the saved model and reports the accuracy of argmax cos θ (angular)
next to the head's own nearest-radial-proxy accuracy: the ablation rows without δ do not train the
norms, so their radial prediction is not meaningful on its own.

Usage:
    python -m recipes.compare_heads --epochs 3 --dims 2 128 --out runs/compare
    python -m recipes.compare_heads --table-only --out runs/compare     # rewrite the tables
    python -m recipes.compare_heads --backend jax --distribute data_parallel --devices 2   # every run on 2 devices
"""

import argparse
import json
import os
import sys

from recipes import common

# (row label, head, head options); the DistArc default is the poster's "cos θ + cos φ + δ" row.
MAIN_ROWS = [
    ("softmax (CE)", "softmax", []),
    ("ArcFace", "arcface", []),
    ("CosFace", "cosface", []),
    ("SphereFace", "sphereface", []),
    ("SphereFace2", "sphereface2", []),
    ("softmax + center", "center", []),
    ("DistArc", "distarc", []),
    ("DistArc, released-code form (CE + λδ_y, s = 2, no cos φ)", "distarc",
     ["form='code'", "scale=2.0", "use_cos_phi=False"]),
]
ABLATION_ROWS = [
    ("cos θ", "distarc", ["lam=0", "use_cos_phi=False"]),
    ("cos θ + cos φ", "distarc", ["lam=0"]),
    ("cos θ + δ", "distarc", ["use_cos_phi=False"]),
    ("cos θ + cos φ + δ", "distarc", []),
]


def run_key(head, opts, dim):
    return f"{head}|{','.join(opts)}|d{dim}"


def build_parser():
    p = argparse.ArgumentParser(prog="python -m recipes.compare_heads", description=__doc__.splitlines()[0],
                                parents=[common.base_parser(epochs=3, verbose=2,
                                                            out_default=os.path.join("runs", "compare"),
                                                            out_help="output folder of the grid"),
                                         common.distribute_parser()])
    p.add_argument("--dims", type=int, nargs="+", default=[2, 128])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--backbone", default="lenet")
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--train-limit", type=common.positive_int, default=None)
    p.add_argument("--test-limit", type=common.positive_int, default=None)
    p.add_argument("--val-split", type=float, default=0.0,
                   help="passed on: model selection on a validation share of the training set")
    p.add_argument("--only", nargs="*", default=None, help="run only these heads")
    p.add_argument("--skip-ablation", action="store_true")
    p.add_argument("--table-only", action="store_true", help="only rewrite the tables from results.jsonl")
    return p


def angular_accuracy(model_path, dataset, train_limit=None, test_limit=None):
    """Accuracy of argmax cos θ of a saved DistArc task model on the raw test images (None if not DistArc)."""
    import keras
    import numpy as np

    import zoo  # noqa: F401  (registers the layers)
    from zoo.layers import DistArcHead

    _, (xte, yte) = common.load_data(dataset, train_limit, test_limit)
    model = keras.saving.load_model(model_path, compile=False)
    if not isinstance(getattr(model, "head", None), DistArcHead):
        return None
    # model(x) is the head's packed output [δ | cos θ | cos φ | ...] (predict keeps the class scores only)
    cos_theta = [keras.ops.convert_to_numpy(DistArcHead.unpack(model(xte[i:i + 512], training=False))[1])
                 for i in range(0, len(xte), 512)]
    return float(np.mean(np.argmax(np.concatenate(cos_theta), -1) == yte))


def run_grid(args, rows, results_path, done):
    for dim in args.dims:
        for label, head, opts in rows:
            if args.only and head not in args.only:
                continue
            key = run_key(head, opts, dim)
            if key in done:
                continue
            tag = "".join(ch for ch in "-".join(opts) if ch.isalnum() or ch in "-_.")
            out = os.path.join(args.out, f"{head}{'-' + tag if tag else ''}-d{dim}")
            argv = ["--head", head, "--embedding-dim", str(dim), "--epochs", str(args.epochs),
                    "--batch-size", str(args.batch_size), "--lr", str(args.lr), "--optimizer", args.optimizer,
                    "--backbone", args.backbone, "--dataset", args.dataset, "--seed", str(args.seed),
                    "--out", out, "--verbose", str(args.verbose)]
            for o in opts:
                argv += ["--head-opt", o]
            argv += common.distribute_argv(args)  # every run on the grid's --distribute / --devices
            for flag, value in (("--train-limit", args.train_limit), ("--test-limit", args.test_limit),
                                ("--val-split", args.val_split)):
                if value:
                    argv += [flag, str(value)]
            print(f"[compare] python -m recipes.classification {' '.join(argv)}", flush=True)
            summary = common.run_recipe("classification", argv, out)
            rec = {"key": key, "label": label, "head": head, "opts": opts, "dim": dim,
                   "test_accuracy": summary["test_accuracy"], "final_train_loss": summary["final_train_loss"],
                   "median_epoch_seconds": summary["median_epoch_seconds"], "epochs": args.epochs,
                   "command": "python -m recipes.classification " + " ".join(argv),
                   "plot_path": summary.get("plot_path"), "distribute": summary.get("distribute")}
            if head == "distarc":
                rec["angular_accuracy"] = angular_accuracy(summary["model_path"], args.dataset, args.train_limit,
                                                           args.test_limit)
            common.append_jsonl(results_path, rec)
            done[key] = rec


def load_results(path):
    done = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    done[rec["key"]] = rec
    return done


def fmt(x):
    return "—" if x is None else f"{100 * x:.2f}"


def tables(done, dims):
    lines = ["| head | " + " | ".join(f"dim {d}" for d in dims) + " |",
             "|---|" + "---:|" * len(dims)]
    for label, head, opts in MAIN_ROWS:
        cells = [fmt(done.get(run_key(head, opts, d), {}).get("test_accuracy")) for d in dims]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "| DistArc components | " + " | ".join(
        f"dim {d} radial (argmin δ) | dim {d} angular (argmax cos θ)" for d in dims) + " |",
        "|---|" + "---:|---:|" * len(dims)]
    for label, head, opts in ABLATION_ROWS:
        cells = []
        for d in dims:
            rec = done.get(run_key(head, opts, d), {})
            cells += [fmt(rec.get("test_accuracy")), fmt(rec.get("angular_accuracy"))]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    common.select_backend(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    known = sorted({head for _, head, _ in MAIN_ROWS + ABLATION_ROWS})
    unknown = sorted(set(args.only or []) - set(known))
    if unknown:  # a typo would otherwise run nothing and exit 0
        parser.error(f"--only: unknown head(s) {unknown}; the grid has {known}")
    os.makedirs(args.out, exist_ok=True)
    results_path = os.path.join(args.out, "results.jsonl")
    done = load_results(results_path)
    if not args.table_only:
        run_grid(args, MAIN_ROWS, results_path, done)
        if not args.skip_ablation:
            run_grid(args, ABLATION_ROWS, results_path, done)
    table = tables(done, args.dims)
    common.write_text(os.path.join(args.out, "table.md"), table + "\n")
    print(table)
    return done


if __name__ == "__main__":
    main()
