"""Image classification with any registered head, built as one `zoo.models.ImageClassifier`.

The model owns its preprocessing (channels, resize to the backbone's input, 1/255 and per-channel mean/std
adapted from the training images), so the pipeline feeds raw uint8 pixels and the saved `.keras` takes raw
images: `keras.saving.load_model(path).evaluate(x_test_uint8, y_test)` gives the recipe's test accuracy.

Data (`--dataset`): Fashion-MNIST (default; offline from Debian's `dataset-fashion-mnist`), scikit-learn's digits
(8x8, upsampled inside the model to `--image-size`, 28 for zoo backbones), any tensorflow_datasets name
(`cifar10`, `cifar100`, `caltech_birds2011`, ...: prepared data in `--data-dir`, a download only with
`--download`) or a folder of class subfolders (`root/train/<class>/` + `root/test/<class>/`, or one folder with
`--test-fraction` held out). Backbone: `--backbone` (a `zoo.backbones` name) or `--preset` (a keras-hub ResNet or
ViT preset name, handle or local preset directory; the model resizes and repeats channels as the preset needs).

Model selection: `--val-split F` holds out a stratified, seeded share F of each training class; the epoch with
the best validation accuracy is checkpointed and restored before the single test evaluation (the test set never
selects anything). Without it the last epoch is tested.

Paper knobs (issue 16): `--lr-schedule step|warmup_step|cosine` with `--lr-steps`, `--lr-gamma`, `--warmup-epochs`,
`--warmup-start` (`recipes.common.epoch_lr`, epoch-based, the rate logged as `learning_rate`); `--mixup ALPHA`
(`zoo.data.mixup` on the raw training batches, for `--head prototypes`, whose loss reads the packed labels; the
training accuracy is measured against y_a, as the reference logs it); DL2PA's long-tail feature BatchNorm with
`--head prototypes --head-opt feature_bn=True`. DL2PA long-tail: `--head prototypes --head-opt form='long_tail'
--head-opt feature_bn=True --mixup 1 --optimizer sgd --lr 0.1 --lr-schedule warmup_step --warmup-epochs 5
--lr-steps 160 180 --epochs 200`.

Writes `model.keras` (the tested model), TensorBoard logs and `metrics.json` (per-epoch history, validation
accuracy per epoch, the selected epoch, the test accuracy of the restored model, the papers' test measures
(`test_ece`, DL2PA's 15-bin ECE; for DistArc `test_accuracy_nearest_proxy`, `test_accuracy_accuracy1`,
`test_accuracy_angular`; from
`recipes._measures`), per-epoch wall time).

Usage:
    python -m recipes.classification                      # LeNet, dim 64, softmax head, 5 epochs
    python -m recipes.classification --head arcface --embedding-dim 2 --epochs 10 --backend jax
    python -m recipes.classification --dataset digits --epochs 20 --val-split 0.1
    python -m recipes.classification --dataset cifar10 --data-dir ~/tensorflow_datasets --backbone resnet20 \\
        --augment flip_crop --val-split 0.1
    python -m recipes.classification --dataset path/to/folder --image-size 64 --preset resnet_18_imagenet
    JAX_NUM_CPU_DEVICES=2 python -m recipes.classification --backend jax --distribute data_parallel --devices 2

Heads come from `zoo.heads` (`--head NAME`, options with `--c`, `--margin`, `--scale` or
`--head-opt KEY=VALUE`), backbones from `zoo.backbones`.
"""

import argparse
import os
import sys

from recipes import common
from recipes.common import DATASETS, load_data, make_optimizer

__all__ = ["DATASETS", "build_model", "build_parser", "head_options", "load_data", "main", "make_optimizer", "train"]

#: Batch size of evaluation and prediction.
EVAL_BATCH = 512
#: File of the best-epoch weights while training with --val-split (in the output folder).
BEST_WEIGHTS = "best.weights.h5"


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m recipes.classification",
        description="Train backbone + geometric head on an image-classification dataset.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        parents=[common.base_parser(epochs=5, verbose=1,
                                    out_help="output folder (default runs/classification/<run name>)"),
                 common.dataset_parser(), common.resume_parser(), common.distribute_parser(),
                 common.lr_schedule_parser()],
    )
    p.add_argument("--backbone", default="lenet", help="a name from zoo.backbones.available()")
    p.add_argument("--preset", default=None,
                   help="a keras-hub ResNet/ViT preset name, kaggle:// / hf:// handle or local preset directory "
                        "(used instead of --backbone)")
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
    p.add_argument("--augment", default="none", choices=("none",) + common.AUGMENTATIONS)
    p.add_argument("--mixup", type=non_negative_float, default=0.0, metavar="ALPHA",
                   help="mix every training batch with lam ~ Beta(ALPHA, ALPHA) (zoo.data.mixup; DL2PA long-tail: "
                        "1.0); 0 = off. Heads whose loss reads the packed (y_a, y_b, lam) labels only (prototypes)")
    return p


def non_negative_float(text):
    """argparse type: a finite number >= 0."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0; got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0; got {text!r}")
    return value


def head_options(args):
    opts = common.parse_head_options(args.head_opt)
    for key in ("c", "margin", "scale", "prototypes"):
        value = getattr(args, key)
        if value is not None:
            opts[key] = value
    return opts


def build_model(args, input_shape, num_classes):
    """The recipe's `zoo.models.ImageClassifier` for parsed `args` and raw images of `input_shape`."""
    import zoo.models

    return zoo.models.ImageClassifier(args.preset or args.backbone, head=args.head, num_classes=num_classes,
                                      input_shape=input_shape, embedding_dim=args.embedding_dim,
                                      image_size=common.model_image_size(args, preset=bool(args.preset)),
                                      head_options=head_options(args))


def train(args):
    """Run the recipe for parsed `args`; returns the summary dict (also written to metrics.json).

    Every finished epoch is checkpointed in `<out>/backup` (and the history in `<out>/progress.json`); Ctrl-C stops
    after the current batch and writes a partial metrics.json, and `--resume` continues from the last finished epoch.
    With --distribute data_parallel the model is built, trained and evaluated inside `zoo.distribute.data_parallel`
    (`common.distribution`); --batch-size must be a multiple of the device count.
    """
    with common.distribution(args, "recipes.classification") as dist:
        return _train(args, dist)


def _train(args, dist):
    import keras

    import zoo.callbacks

    dist.check_batch(args.batch_size, "--batch-size")
    schedule = common.lr_schedule_callbacks(args)  # checks the schedule flags before any data is loaded
    eval_batch = dist.eval_batch(EVAL_BATCH)
    keras.utils.set_random_seed(args.seed)
    run_name = f"{_tag(args.dataset)}-{_tag(args.preset or args.backbone)}-{args.head}-d{args.embedding_dim}-" \
               f"{keras.backend.backend()}"
    out = args.out or os.path.join("runs", "classification", run_name)
    os.makedirs(out, exist_ok=True)

    data, (xtr, ytr), val, (xte, yte) = _training_data(args)
    model = build_model(args, xtr.shape[1:], data.num_classes)
    _check_mixup(args, model)
    model.compile(optimizer=make_optimizer(args.optimizer, args.lr),
                  metrics=[_mixup_accuracy()] if args.mixup else "auto")
    model.adapt(xtr)  # normalisation statistics of the training images (not of the augmented batches)

    timer = common.epoch_timer()
    progress = common.RunProgress(out, resume=args.resume)
    # Epoch e's batches depend on (seed, e) only, so a resumed run continues with the batches the run would have seen.
    train_ds, steps = common.epoch_image_dataset(xtr, ytr, args.batch_size, seed=args.seed,
                                                 first_epoch=progress.initial_epoch, augment=_augment(args),
                                                 drop_remainder=dist.parallel)
    if args.mixup:
        train_ds = _mixed(train_ds, args, progress.initial_epoch)
    best_path = os.path.join(out, BEST_WEIGHTS)
    # The best-epoch checkpoint comes before the head's callbacks, so it saves the weights that were just validated
    # (a callback that changes the model between epochs, PrototypeReassignment, runs after it); the latest-epoch
    # backup comes after them, so a resumed run starts from the state the next epoch would have seen. Head callbacks
    # come before TensorBoard: what they write into `logs` (e.g. `reassigned`) then reaches TensorBoard and history.
    checkpoint = [] if val is None else [zoo.callbacks.AtomicModelCheckpoint(
        best_path, monitor="val_accuracy", mode="max", save_best_only=True, save_weights_only=True, verbose=0,
        initial_value_threshold=progress.best("val_accuracy"))]
    callbacks = ([timer] + schedule + checkpoint + model.head_callbacks() + progress.callbacks()
                 + [keras.callbacks.TensorBoard(os.path.join(out, "logs"))])
    print(f"[classification] {run_name}: {len(xtr)} train / {0 if val is None else len(val[0])} validation / "
          f"{len(xte)} test images, {data.num_classes} classes, {model.count_params():,} parameters; "
          f"head: {model.spec.description}")
    sizes = (len(xtr), len(xte), 0 if val is None else len(val[0]))
    partial = {"run": run_name, "dataset": args.dataset, "head": args.head, "epochs": args.epochs,
               "train_images": int(sizes[0]), "val_images": int(sizes[2]), "test_images": int(sizes[1]),
               "distribute": dist.summary()}
    try:
        model.fit(train_ds, epochs=args.epochs, steps_per_epoch=steps, callbacks=callbacks,
                            verbose=args.verbose, validation_data=val, validation_batch_size=eval_batch)
    except KeyboardInterrupt:
        progress.interrupted(partial, "classification")
        raise
    full_history = progress.finished_epochs()
    if args.mixup:  # the saved model and the test evaluation use the head's own metrics
        model.compile(optimizer=model.optimizer)
    try:
        selection = _restore_best(model, full_history, val, best_path, eval_batch)
        test = model.evaluate(xte, yte, batch_size=eval_batch, verbose=0, return_dict=True)
        measures = _test_measures(model, xte, yte, eval_batch)
        long_tail = _long_tail_report(args, model, xte, yte, eval_batch)
        if long_tail is not None:
            long_tail["ece"] = measures["test_ece"]  # DL2PA's long-tail tables report it next to head/medium/tail
        model_path = os.path.join(out, "model.keras")
        model.save(model_path)
        plot_path = _plot_2d(args, model, xte, yte, out, eval_batch)
    except Exception as e:
        common.write_summary(out, {**partial, "status": "failed after training", "error": f"{type(e).__name__}: {e}",
                                   "history": full_history})
        raise
    summary = _summary(args, run_name, data, sizes, test, full_history, timer, model, model_path, plot_path,
                       long_tail, selection)
    summary["distribute"] = dist.summary()
    summary.update(measures)
    common.write_summary(out, summary)
    progress.finish()
    chosen = "" if val is None else (f" (epoch {selection['selected_epoch']} of {args.epochs}, validation accuracy "
                                     f"{selection['best_val_accuracy']:.4f})")
    print(f"[classification] test accuracy {summary['test_accuracy']:.4f}{chosen} (loss {summary['test_loss']:.4f}); "
          f"median epoch {summary['median_epoch_seconds']:.1f} s on {keras.backend.backend()}; "
          f"wrote {model_path} and TensorBoard logs in {os.path.join(out, 'logs')}")
    return summary


# -- the steps of `train` ----------------------------------------------------------------------------------
def _training_data(args):
    """(dataset, train arrays, validation arrays or None, test arrays); --imbalance long-tails the training split
    before the validation share is held out of it."""
    import zoo.data

    if args.val_split and not 0.0 < args.val_split < 1.0:
        raise ValueError(f"--val-split must be in (0, 1) (or 0 for none); got {args.val_split}.")
    data = common.load_dataset(args)
    (xtr, ytr), (xte, yte) = data.train, data.test
    if args.imbalance is not None:
        xtr, ytr = zoo.data.long_tail((xtr, ytr), imbalance=args.imbalance, seed=args.seed)
    (xtr, ytr), val = common.split_validation(xtr, ytr, args.val_split, args.seed)
    return data, (xtr, ytr), val, (xte, yte)


def _augment(args):
    return None if args.augment == "none" else args.augment


def _check_mixup(args, model):
    """--mixup needs a head whose loss reads the packed (y_a, y_b, lam) labels of `zoo.data.mixup`."""
    import zoo.losses

    if args.mixup and not isinstance(model.default_loss(), zoo.losses.PrototypeRegressionLoss):
        raise ValueError(f"recipes.classification: --mixup {args.mixup} needs a head whose loss takes mixup-packed "
                         f"labels (y_a, y_b, lam): --head prototypes; --head {args.head} trains on integer labels.")


def _mixed(train_ds, args, first_epoch):
    """The training batches mixed by `zoo.data.mixup` (raw pixels stay in 0..255: a convex combination).

    The lam and permutation draws come from a stream seeded by (--seed, first epoch of this process): a resumed run
    draws fresh ones (statistically, not bitwise, the uninterrupted run, as with --augment)."""
    import zoo.data

    return zoo.data.mixup(train_ds, alpha=args.mixup, seed=(int(args.seed) * 100_003 + int(first_epoch)) % (2 ** 31))


def _mixup_accuracy():
    """Accuracy against y_a of mixup-packed labels [B, 3] (the reference logs it so), or against int labels."""
    import keras

    def accuracy(y_true, y_pred):
        y_true = keras.ops.convert_to_tensor(y_true)
        if len(y_true.shape) == 2 and y_true.shape[-1] == 3:
            y_true = y_true[:, 0]
        return keras.metrics.sparse_categorical_accuracy(y_true, y_pred)

    return keras.metrics.MeanMetricWrapper(accuracy, name="accuracy")


def _restore_best(model, history, val, best_path, eval_batch=EVAL_BATCH):
    """With a validation split: load the best epoch's weights (ties: the first) and check them on validation."""
    import numpy as np

    if val is None:
        return {"val_accuracy": None, "selected_epoch": len(history.get("loss", [])), "best_val_accuracy": None,
                "restored_val_accuracy": None}
    accuracies = [float(v) for v in history["val_accuracy"]]
    best = int(np.argmax(accuracies))
    model.load_weights(best_path)
    restored = model.evaluate(val[0], val[1], batch_size=eval_batch, verbose=0, return_dict=True)["accuracy"]
    return {"val_accuracy": accuracies, "selected_epoch": best + 1, "best_val_accuracy": accuracies[best],
            "restored_val_accuracy": float(restored)}


def _test_measures(model, xte, yte, eval_batch=EVAL_BATCH):
    """The papers' measures of the restored model on the test set (`recipes._measures.classification_measures`:
    ECE, DistArc's prediction accuracies), keys prefixed `test_` (`test_ece`, `test_accuracy_nearest_proxy`, ...)."""
    from recipes._measures import classification_measures

    measures = {f"test_{k}": v for k, v in classification_measures(model, xte, yte, batch_size=eval_batch).items()}
    print(f"[classification] test ECE {measures['test_ece']:.4f} ({measures['test_ece_bins']} bins, softmax of "
          f"{measures['test_ece_logits']})")
    return measures


def _long_tail_report(args, model, xte, yte, eval_batch=EVAL_BATCH):
    """Head / medium / tail test accuracy with --imbalance, else None."""
    if args.imbalance is None:
        return None
    import zoo.metrics

    report = zoo.metrics.long_tail_accuracy(yte, model.predict(xte, batch_size=eval_batch, verbose=0))
    print(f"[classification] long-tail (imbalance {args.imbalance}): head {report['head_accuracy']:.4f}, "
          f"medium {report['medium_accuracy']:.4f}, tail {report['tail_accuracy']:.4f}")
    return report


def _plot_2d(args, model, xte, yte, out, eval_batch=EVAL_BATCH):
    """The head's 2-D picture of the test embeddings (dim 2 and a head that has one), else None."""
    if model.spec.plot is None or model.embedding_dim != 2:
        return None
    import keras
    import numpy as np

    plot_path = os.path.join(out, "latent_2d.png")
    embeddings = np.concatenate([keras.ops.convert_to_numpy(model.features(xte[i:i + eval_batch]))
                                 for i in range(0, len(xte), eval_batch)])
    model.spec.plot(embeddings, yte, model.head, plot_path)
    print(f"[classification] wrote the 2-D picture {plot_path}")
    return plot_path


def _tag(name):
    """A file-name-safe short name of a dataset / backbone / preset argument."""
    name = os.path.basename(os.path.normpath(name)) if os.path.isdir(name) else name
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def _summary(args, run_name, data, sizes, test, history, timer, model, model_path, plot_path, long_tail,
             selection):
    import numpy as np

    return {
        "run": run_name,
        "dataset": args.dataset,
        "num_classes": data.num_classes,
        "backbone": args.preset or args.backbone,
        "preset": args.preset,
        "image_size": model.image_size,
        "input_shape": list(model.raw_input_shape),
        "head": args.head,
        "head_options": head_options(args),
        "embedding_dim": args.embedding_dim,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "optimizer": args.optimizer,
        "augment": args.augment,
        "mixup": args.mixup,
        "lr_schedule": common.lr_schedule_summary(args),
        "train_images": int(sizes[0]),
        "val_split": args.val_split,
        "val_images": int(sizes[2]),
        "test_images": int(sizes[1]),
        "test_accuracy": float(test["accuracy"]),
        "test_loss": float(test["loss"]),
        **selection,
        "status": "complete",
        "final_train_loss": float(history["loss"][-1]),
        "history": history,
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
