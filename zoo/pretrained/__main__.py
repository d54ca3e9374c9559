"""`python -m zoo.pretrained`: the published zoo from the command line (air-gapped machines included).

    python -m zoo.pretrained list [--task few_shot] [--json]
    python -m zoo.pretrained info lenet_fmnist_poincare_d64
    python -m zoo.pretrained fetch lenet_fmnist_poincare_d64 [more names] DIR   # then cache_dir=DIR elsewhere
    python -m zoo.pretrained path NAME_OR_SOURCE [--sha256 HEX] [--offline]
    python -m zoo.pretrained hash FILE                                            # sha256 and size
    KERAS_BACKEND=jax python -m zoo.pretrained evaluate NAME                      # reproduce the card's metric

Exit status 0 on success, 1 when a model cannot be obtained or its metric is not reproduced, 2 on bad usage.
"""

import argparse
import json
import os
import sys

from zoo._io import sha256_file
from zoo.pretrained import _cache, _download, _load, _manifest


def _metric_summary(entry):
    metrics = entry.get("metrics") or {}
    if not metrics:
        return "-"
    name = next(iter(metrics))
    value = metrics[name].get("value")
    return f"{name} {value:.4f}" if isinstance(value, (int, float)) else name


def _list(args):
    entries = _manifest.list_weights(task=args.task, dataset=args.dataset)
    if args.json:
        print(json.dumps(entries, indent=1, sort_keys=True))
        return 0
    if not entries:
        print("no published models" + (f" for task {args.task}" if args.task else ""))
        return 0
    rows = [(e["name"], e["task"], _metric_summary(e), f"{e['size'] / 1e6:.2f} MB") for e in entries]
    widths = [max(len(r[i]) for r in rows + [("name", "task", "metric", "size")]) for i in range(4)]
    for row in [("name", "task", "metric", "size")] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def _evaluate(args):
    import keras

    from zoo.pretrained import protocols

    entry = _manifest.info(args.name)
    model = _load.load(args.name, compile=False, offline=args.offline)
    result = protocols.evaluate(model, entry["protocol"], verbose=1)
    backend = keras.backend.backend()
    status = 0
    for metric, record in entry["metrics"].items():
        expected = record.get("by_backend", {}).get(backend, record.get("value"))
        got = result.get(metric)
        same = got is not None and expected is not None and float(got) == float(expected)
        status |= 0 if same else 1
        print(f"{metric}: {got} (card, {backend}: {expected}) {'reproduced' if same else 'NOT reproduced'}")
    return status


def build_parser():
    p = argparse.ArgumentParser(prog="python -m zoo.pretrained", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("list", help="the published models")
    s.add_argument("--task", choices=_manifest.TASKS)
    s.add_argument("--dataset")
    s.add_argument("--json", action="store_true", help="the full manifest entries as JSON")
    s = sub.add_parser("info", help="a model's manifest entry (JSON)")
    s.add_argument("name")
    s = sub.add_parser("fetch", help="verified copies of models into DIR, laid out as a cache")
    s.add_argument("names", nargs="+", metavar="NAME")
    s.add_argument("directory", metavar="DIR")
    s.add_argument("--offline", action="store_true", default=None)
    s = sub.add_parser("path", help="the verified local file of a name or source (downloads if needed)")
    s.add_argument("source")
    s.add_argument("--sha256")
    s.add_argument("--cache-dir")
    s.add_argument("--offline", action="store_true", default=None)
    s = sub.add_parser("hash", help="sha256 and size of a file")
    s.add_argument("file")
    s = sub.add_parser("evaluate", help="run a model's test protocol on this backend and compare with its card")
    s.add_argument("name")
    s.add_argument("--offline", action="store_true", default=None)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            return _list(args)
        if args.command == "info":
            print(json.dumps(_manifest.info(args.name), indent=1, sort_keys=True))
            return 0
        if args.command == "fetch":
            for file in _download.fetch(args.names, args.directory, offline=args.offline):
                print(file)
            print(f"copy {args.directory} to the other machine and load with "
                  f"zoo.pretrained.load(NAME, cache_dir=...) or {_cache.CACHE_ENV}=...")
            return 0
        if args.command == "path":
            print(_download.path(args.source, sha256=args.sha256, cache_dir=args.cache_dir, offline=args.offline))
            return 0
        if args.command == "hash":
            print(f"{sha256_file(args.file)}  {os.path.getsize(args.file)}  {args.file}")
            return 0
        return _evaluate(args)
    except (_download.WeightsUnavailableError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
