"""Image classification with any registered head: backbone -> embedding -> head -> scores.

Trains on Fashion-MNIST (default; offline from Debian's `dataset-fashion-mnist`) or scikit-learn's
digits, prints the test accuracy, writes the `.keras` model, TensorBoard logs and a metrics.json with
the per-epoch wall time.

Usage:
    python -m recipes.classification                      # LeNet, dim 64, softmax head, 5 epochs
    python -m recipes.classification --head softmax --embedding-dim 2 --epochs 10 --backend jax
    python -m recipes.classification --dataset digits --epochs 20

Heads come from `zoo.heads` (`--head NAME`, options with `--c`, `--margin`, `--scale` or
`--head-opt KEY=VALUE`), backbones from `zoo.backbones`.
"""

import argparse
import os
import sys

from recipes import common
from recipes.common import DATASETS, load_data, make_optimizer
from recipes.common import build_classifier as build_model

__all__ = ["DATASETS", "build_model", "build_parser", "head_options", "load_data", "main", "make_optimizer", "train"]


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m recipes.classification",
        description="Train backbone + geometric head on an image-classification dataset.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        parents=[common.base_parser(epochs=5, verbose=1,
                                    out_help="output folder (default runs/classification/<run name>)")],
    )
    p.add_argument("--dataset", default="fashion_mnist", choices=DATASETS)
    p.add_argument("--backbone", default="lenet", help="a name from zoo.backbones.available()")
    p.add_argument("--embedding-dim", "--dim", dest="embedding_dim", type=int, default=64)
    p.add_argument("--head", default="softmax", help="a name from zoo.heads.available()")
    p.add_argument("--c", type=float, default=None, help="curvature of hyperbolic heads")
    p.add_argument("--margin", type=float, default=None, help="margin of margin-based heads")
    p.add_argument("--scale", type=float, default=None, help="logit scale of cosine heads")
    p.add_argument("--head-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="any other head option (repeatable), value parsed as a Python literal")
    p.add_argument("--prototypes", default=None, help="prototype set of --head prototypes: uniform, etf or learned")
    p.add_argument("--imbalance", type=float, default=None,
                   help="train on a long-tailed subset (zoo.data.long_tail, smallest/largest class size, e.g. "
                        "0.01) and report head/medium/tail test accuracy")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", default="adam", choices=("adam", "sgd", "adamw"))
    p.add_argument("--augment", default="none", choices=("none", "flip", "crop", "flip_crop"))
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    p.add_argument("--test-limit", type=int, default=None, help="evaluate on the first N test images only")
    return p


def head_options(args):
    opts = common.parse_head_options(args.head_opt)
    for key in ("c", "margin", "scale", "prototypes"):
        value = getattr(args, key)
        if value is not None:
            opts[key] = value
    return opts


def train(args):
    """Run the recipe for parsed `args`; returns the summary dict (also written to metrics.json)."""
    import keras

    import zoo.backbones
    import zoo.heads

    keras.utils.set_random_seed(args.seed)
    run_name = f"{args.dataset}-{args.backbone}-{args.head}-d{args.embedding_dim}-{keras.backend.backend()}"
    out = args.out or os.path.join("runs", "classification", run_name)
    os.makedirs(out, exist_ok=True)

    (xtr, ytr), (xte, yte) = _training_data(args)
    num_classes = int(max(ytr.max(), yte.max()) + 1)
    normalize = common.mean_std(xtr)
    input_shape = tuple(xtr.shape[1:]) + ((1,) if xtr.ndim == 3 else ())

    spec = zoo.heads.get(args.head, num_classes, args.embedding_dim, **head_options(args))
    backbone = zoo.backbones.get(args.backbone, input_shape, args.embedding_dim)
    model = build_model(backbone, spec, input_shape)
    model.compile(optimizer=make_optimizer(args.optimizer, args.lr), loss=spec.loss, metrics=spec.metrics)
    train_ds, test_ds = _datasets(args, spec, (xtr, ytr), (xte, yte), normalize)

    timer = common.epoch_timer()
    # Head callbacks first: what they write into `logs` (e.g. `reassigned`) then reaches TensorBoard and history.
    # A head callback that changes the model between epochs (PrototypeReassignment) leaves it as it was trained
    # after the last one, so the test accuracy below comes from the assignment the features were trained with.
    callbacks = [timer] + list(spec.callbacks) + [keras.callbacks.TensorBoard(os.path.join(out, "logs"))]
    print(f"[classification] {run_name}: {len(xtr)} train / {len(xte)} test images, {num_classes} classes, "
          f"{model.count_params():,} parameters; head: {spec.description}")
    # The tf.data pipeline already reshuffles every epoch; shuffle=False only silences keras.
    history = model.fit(train_ds, epochs=args.epochs, callbacks=callbacks, verbose=args.verbose, shuffle=False)
    test_loss, test_acc = model.evaluate(test_ds, verbose=0, return_dict=False)[:2]
    long_tail = _long_tail_report(args, model, test_ds, yte)

    model_path = os.path.join(out, "model.keras")
    model.save(model_path)
    plot_path = _plot_2d(args, spec, backbone, xte, yte, normalize, out)
    summary = _summary(args, run_name, len(xtr), len(xte), test_acc, test_loss, history, timer, model_path, plot_path,
                       long_tail)
    common.write_summary(out, summary)
    print(f"[classification] test accuracy {test_acc:.4f} (loss {test_loss:.4f}); "
          f"median epoch {summary['median_epoch_seconds']:.1f} s on {keras.backend.backend()}; "
          f"wrote {model_path} and TensorBoard logs in {os.path.join(out, 'logs')}")
    return summary


# -- the steps of `train` ----------------------------------------------------------------------------------
def _training_data(args):
    """The dataset's arrays, the training split long-tailed with --imbalance."""
    import zoo.data

    (xtr, ytr), (xte, yte) = load_data(args.dataset, args.train_limit, args.test_limit)
    if args.imbalance is not None:
        xtr, ytr = zoo.data.long_tail((xtr, ytr), imbalance=args.imbalance, seed=args.seed)
    return (xtr, ytr), (xte, yte)


def _datasets(args, spec, train, test, normalize):
    """(train, test) tf.data pipelines; heads that need labels get ((x, y), y)."""
    import zoo.data

    augment = None if args.augment == "none" else args.augment
    train_ds = zoo.data.make_dataset(*train, batch_size=args.batch_size, shuffle=True, augment=augment,
                                     normalize=normalize, seed=args.seed)
    test_ds = zoo.data.make_dataset(*test, batch_size=512, normalize=normalize)
    if spec.needs_labels:
        train_ds = train_ds.map(lambda x, y: ((x, y), y))
        test_ds = test_ds.map(lambda x, y: ((x, y), y))
    return train_ds, test_ds


def _long_tail_report(args, model, test_ds, yte):
    """Head / medium / tail test accuracy with --imbalance, else None."""
    if args.imbalance is None:
        return None
    import zoo.metrics

    report = zoo.metrics.long_tail_accuracy(yte, model.predict(test_ds, verbose=0))
    print(f"[classification] long-tail (imbalance {args.imbalance}): head {report['head_accuracy']:.4f}, "
          f"medium {report['medium_accuracy']:.4f}, tail {report['tail_accuracy']:.4f}")
    return report


def _plot_2d(args, spec, backbone, xte, yte, normalize, out):
    """The head's 2-D picture of the test embeddings (dim 2 and a head that has one), else None."""
    if spec.plot is None or args.embedding_dim != 2:
        return None
    import zoo.data

    plot_path = os.path.join(out, "latent_2d.png")
    embeddings = backbone.predict(zoo.data.make_dataset(xte, batch_size=512, normalize=normalize), verbose=0)
    spec.plot(embeddings, yte, spec.layer, plot_path)
    print(f"[classification] wrote the 2-D picture {plot_path}")
    return plot_path


def _summary(args, run_name, train_images, test_images, test_acc, test_loss, history, timer, model_path, plot_path,
             long_tail):
    import numpy as np

    return {
        "run": run_name,
        "dataset": args.dataset,
        "backbone": args.backbone,
        "head": args.head,
        "head_options": head_options(args),
        "embedding_dim": args.embedding_dim,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "optimizer": args.optimizer,
        "train_images": int(train_images),
        "test_images": int(test_images),
        "test_accuracy": float(test_acc),
        "test_loss": float(test_loss),
        "final_train_loss": float(history.history["loss"][-1]),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "epoch_seconds": [round(t, 3) for t in timer.times],
        "median_epoch_seconds": float(np.median(timer.times)) if timer.times else None,
        "model_path": model_path,
        "plot_path": plot_path,
        "imbalance": args.imbalance,
        "long_tail": long_tail,
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    common.select_backend(argv)
    args = build_parser().parse_args(argv)
    return train(args)


if __name__ == "__main__":
    main()
