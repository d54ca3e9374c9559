"""DL2PA experiment grid on Fashion-MNIST: softmax vs fixed prototypes vs ETF vs dynamic assignment.

Runs `python -m recipes.classification ...` (a `zoo.models.ImageClassifier` per run) once per row, one run at
a time, each in its own process (`recipes.common.run_recipe`, which returns the run's metrics.json), appends every
result to a JSON-lines file as soon as it finishes (a cut-off grid keeps what it has; rows already in the file
are skipped on a re-run), and writes the markdown tables from that file.

- balanced: embedding dim in `--dims` (default 2 3 5 9: fewer dimensions than classes, where the choice
  of prototypes and of the assignment matters; the ETF of 10 classes needs d >= 9);
- long-tail: `--imbalance` (default 0.01 0.02) at dim `--lt-dim` (default 64, the paper's 10-class LT
  dimension), with head/medium/tail test accuracy; the prototype rows use the long-tail loss form.

Usage:
    python -m recipes.prototype_experiments --epochs 5 --out runs/prototypes
    python -m recipes.prototype_experiments --table-only --out runs/prototypes
    python -m recipes.prototype_experiments --backend jax --distribute data_parallel --devices 2   # runs on 2 devices
"""

import argparse
import json
import os
import sys

from recipes import common

# (row label, recipe arguments besides dim/epochs/...); "{form}" is replaced by the loss form.
METHODS = [
    ("softmax (CE)", ["--head", "softmax"]),
    ("fixed uniform prototypes, no reassignment", ["--head", "prototypes", "--head-opt", "reassign=False",
                                                   "--head-opt", "form='{form}'"]),
    ("ETF, no reassignment", ["--head", "prototypes", "--prototypes", "etf", "--head-opt", "reassign=False",
                              "--head-opt", "form='{form}'"]),
    ("uniform prototypes + dynamic assignment (DL2PA)", ["--head", "prototypes", "--head-opt", "form='{form}'"]),
    ("uniform prototypes + dynamic assignment every 50 steps", ["--head", "prototypes", "--head-opt", "form='{form}'",
                                                               "--head-opt", "every_n_steps=50",
                                                               "--head-opt", "verbose=0"]),
]


def build_parser():
    p = argparse.ArgumentParser(prog="python -m recipes.prototype_experiments", description=__doc__.splitlines()[0],
                                parents=[common.base_parser(epochs=5, verbose=0,
                                                            out_default=os.path.join("runs", "prototypes"),
                                                            out_help="output folder of the grid"),
                                         common.distribute_parser()])
    p.add_argument("--dims", type=int, nargs="*", default=[2, 3, 5, 9])
    p.add_argument("--imbalance", type=float, nargs="*", default=[0.01, 0.02])
    p.add_argument("--lt-dim", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--backbone", default="lenet")
    p.add_argument("--val-split", type=float, default=0.0,
                   help="passed on: model selection on a validation share of the training set")
    p.add_argument("--table-only", action="store_true")
    return p


def _runs(args):
    # long-tail first: its training sets are 4x smaller, so its rows come in quickly
    for rho in args.imbalance:
        for label, extra in METHODS:
            if "etf" in extra and args.lt_dim < 9:
                continue
            yield "long_tail", rho, args.lt_dim, label, [a.replace("{form}", "long_tail") for a in extra]
    for dim in args.dims:
        for label, extra in METHODS:
            if "etf" in extra and dim < 9:
                continue
            yield "balanced", None, dim, label, [a.replace("{form}", "balanced") for a in extra]


def _key(kind, rho, dim, label):
    return f"{kind}|{rho}|{dim}|{label}"


def _command(args, dim, rho, extra, out):
    argv = ["--dataset", "fashion_mnist", "--backbone", args.backbone, "--embedding-dim", str(dim),
            "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--lr", str(args.lr),
            "--seed", str(args.seed), "--out", out, "--verbose", str(args.verbose)] + list(extra)
    if rho is not None:
        argv += ["--imbalance", str(rho)]
    if args.val_split:
        argv += ["--val-split", str(args.val_split)]
    return argv + common.distribute_argv(args)  # every run on the grid's --distribute / --devices


def _load(path):
    rows = {}
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    rows[r["key"]] = r
    return rows


def tables(args, rows):
    out = []
    dims = [d for d in args.dims]
    if dims:
        out.append("| method | " + " | ".join(f"d = {d}" for d in dims) + " |")
        out.append("|---|" + "---|" * len(dims))
        for label, _ in METHODS:
            cells = []
            for d in dims:
                r = rows.get(_key("balanced", None, d, label))
                cells.append("n/a (needs d ≥ 9)" if r is None and label.startswith("ETF") and d < 9
                             else ("not run" if r is None else f"{100 * r['test_accuracy']:.2f}"))
            out.append(f"| {label} | " + " | ".join(cells) + " |")
    for rho in args.imbalance:
        out.append("")
        out.append(f"Long-tail, imbalance {rho} (d = {args.lt_dim}), test accuracy % (all / head / medium / tail):")
        out.append("")
        out.append("| method | all | head (0-2) | medium (3-6) | tail (7-9) | train images |")
        out.append("|---|---|---|---|---|---|")
        for label, _ in METHODS:
            r = rows.get(_key("long_tail", rho, args.lt_dim, label))
            if r is None:
                out.append(f"| {label} | not run | | | | |")
                continue
            lt = r["long_tail"]
            out.append(f"| {label} | {100 * r['test_accuracy']:.2f} | {100 * lt['head_accuracy']:.2f} | "
                       f"{100 * lt['medium_accuracy']:.2f} | {100 * lt['tail_accuracy']:.2f} | {r['train_images']} |")
    return "\n".join(out) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    common.select_backend(argv)
    args = build_parser().parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    results = os.path.join(args.out, "results.jsonl")
    rows = _load(results)
    if not args.table_only:
        for kind, rho, dim, label, extra in _runs(args):
            key = _key(kind, rho, dim, label)
            if key in rows:
                continue
            run_dir = os.path.join(args.out, key.replace("|", "_").replace(" ", "_").replace(",", "")
                                   .replace("(", "").replace(")", "").replace("+", "plus"))
            cmd = _command(args, dim, rho, extra, run_dir)
            print("[prototype_experiments] python -m recipes.classification " + " ".join(cmd), flush=True)
            summary = common.run_recipe("classification", cmd, run_dir)
            record = {"key": key, "kind": kind, "imbalance": rho, "dim": dim, "method": label,
                      "command": "python -m recipes.classification " + " ".join(cmd),
                      **{k: summary[k] for k in ("test_accuracy", "final_train_loss", "epoch_seconds",
                                                 "train_images", "long_tail")},
                      "backend": summary["backend"], "distribute": summary.get("distribute")}
            common.append_jsonl(results, record)
            rows[key] = record
    text = tables(args, rows)
    common.write_text(os.path.join(args.out, "tables.md"), text)
    print(text)
    return rows


if __name__ == "__main__":
    main()
