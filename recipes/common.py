"""Shared plumbing of the recipes: backend selection before keras is imported, the argparse parent of
every recipe, the data-parallel flags (`--distribute`, `--devices`) and the context a run trains in, the
image-classification data flags and raw-pixel pipelines (the loading itself lives in `recipes._datasets`), epoch
timing, the run summary (metrics.json) and running another recipe as its own process.

Recipes never import each other: what two of them share lives here, and a grid of runs of one recipe
(`compare_heads`, `prototype_experiments`) starts it with `run_recipe` and reads its metrics.json.
"""

import argparse
import ast
import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import time

from recipes import _datasets

#: Offline datasets of the image-classification recipes (Debian's Fashion-MNIST, scikit-learn's digits); `--dataset`
#: also takes tfds names and folders (`recipes._datasets`).
DATASETS = _datasets.BUILTIN_DATASETS
#: Size zoo backbones are built for on the 8x8 digits (the model upsamples them; lenet/conv4 need >= 16).
DIGITS_IMAGE_SIZE = 28
#: `--augment` presets of raw-pixel pipelines (`raw_image_dataset`).
AUGMENTATIONS = ("flip", "crop", "flip_crop")
#: Padding (pixels per side) of the "crop" preset (the usual pad-4 random crop of CIFAR training).
PAD_CROP_PIXELS = 4
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
    p.add_argument("--epochs", type=positive_int, default=epochs)
    p.add_argument("--lr", type=positive_float, default=lr)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--out", default=out_default, help=out_help or "output folder")
    p.add_argument("--backend", default=None, choices=backend_choices,
                   help="Keras backend (default: KERAS_BACKEND or tensorflow)")
    p.add_argument("--verbose", type=int, default=verbose, help="Keras fit verbosity (1 = progress bar)")
    return p


# -- data parallelism: --distribute, --devices --------------------------------------------------------------
#: `--distribute` values: one device, or `zoo.distribute.data_parallel` (JAX `keras.distribution.DataParallel`,
#: TensorFlow `tf.distribute.MirroredStrategy`; Keras 3.15 has no data-parallel `fit` on torch).
DISTRIBUTE = ("none", "data_parallel")


def distribute_parser():
    """The argparse parent of every training recipe's data-parallel flags: --distribute, --devices.

    `distribution(args, where)` turns them into the context the run builds, compiles, fits and evaluates in.
    """
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("data parallelism (zoo.distribute)")
    g.add_argument("--distribute", default="none", choices=DISTRIBUTE,
                   help="none: one device; data_parallel: the global batch split over --devices devices (JAX "
                        "keras.distribution.DataParallel, exact: the step sees the global batch; TensorFlow "
                        "MirroredStrategy: per-replica losses and head state; not on torch). The global batch must "
                        "be a multiple of the device count; the last partial training batch of an epoch is dropped. "
                        "CPU-only JAX: set JAX_NUM_CPU_DEVICES=N before starting")
    g.add_argument("--devices", type=positive_int, default=None, metavar="N",
                   help="with --distribute data_parallel: the first N devices (default: all visible ones)")
    return p


class RunDistribution:
    """What `distribution(args, where)` yields: the run's strategy, its device count and the batch-size checks.

    Attributes:
        strategy: "none" or "data_parallel". devices: global device (replica) count, 1 without data parallelism.
        processes, process_index: of a multi-process JAX run (1, 0 otherwise). backend: the Keras backend.

    `check_batch(size, flag)` stops the recipe unless the global batch `size` is a multiple of `devices`;
    `check_pk(p, k)` does it for P x K identity batches (on TensorFlow each replica's loss sees only its slice,
    so P must be a multiple too: every replica then holds whole identities); `eval_batch(size)` rounds an
    evaluation batch up to a multiple of the device count; `summary()` is the metrics.json entry.
    """

    def __init__(self, strategy="none", where="recipe", context=None, backend=None):
        self.strategy = strategy
        self.where = where
        self.devices = int(getattr(context, "num_replicas", 1)) if context is not None else 1
        self.processes = int(getattr(context, "num_processes", 1)) if context is not None else 1
        self.process_index = int(getattr(context, "process_index", 0)) if context is not None else 0
        if backend is None:
            import keras

            backend = keras.backend.backend()
        self.backend = backend

    @property
    def parallel(self):
        """True under --distribute data_parallel (even on one device: the partial last batch is dropped)."""
        return self.strategy != "none"

    def check_batch(self, size, flag):
        """`size` (the global batch set by `flag`, e.g. "--batch-size") unchanged; SystemExit naming both numbers
        unless it is a multiple of the device count."""
        size = int(size)
        if size % self.devices:
            lower, upper = size - size % self.devices, size - size % self.devices + self.devices
            hint = f"{lower} or {upper}" if lower else f"{upper}"
            raise SystemExit(f"{self.where}: the global batch {flag} {size} is not divisible by the {self.devices} "
                             f"devices of --distribute data_parallel (every device takes an equal share of the "
                             f"batch); use a multiple of {self.devices} (e.g. {hint}) or other --devices.")
        return size

    def check_pk(self, p, k, flag_p="--p", flag_k="--k"):
        """The global batch P·K of identity batches (`flag_p` identities x `flag_k` images), checked as
        `check_batch`; on TensorFlow also P, so that each replica's loss sees whole identities."""
        self.check_batch(p * k, f"{flag_p} x {flag_k} = {p} x {k} =")
        if self.backend == "tensorflow" and self.devices > 1 and p % self.devices:
            raise SystemExit(f"{self.where}: {flag_p} {p} identities per batch are not divisible by the "
                             f"{self.devices} devices of --distribute data_parallel: TensorFlow's MirroredStrategy "
                             f"gives each replica a slice of the batch and the loss of each replica must see whole "
                             f"identities; use a multiple of {self.devices} for {flag_p}.")
        return p * k

    def eval_batch(self, size):
        """`size` rounded up to a multiple of the device count (evaluation and prediction batches)."""
        return -(-int(size) // self.devices) * self.devices

    def summary(self):
        """The run's `"distribute"` entry of metrics.json."""
        return {"strategy": self.strategy, "devices": self.devices, "backend": self.backend,
                "processes": self.processes}


@contextlib.contextmanager
def distribution(args, where):
    """The context a recipe run builds, compiles, fits and evaluates its model in, from --distribute/--devices.

    "none": no distribution (yields a `RunDistribution` of one device). "data_parallel":
    `zoo.distribute.data_parallel(devices=args.devices)` for the whole block (entered before the model is built;
    the previous distribution is restored on exit). An engine without it (torch) or too few devices stop the
    recipe with the engine's message (SystemExit). `where` ("recipes.classification") prefixes every message.
    One host only: with KERAS_DISTRIBUTION_NUM_PROCESSES > 1 in the environment the recipe stops (it does not join
    a multi-process job).
    """
    strategy = getattr(args, "distribute", "none") or "none"
    devices = getattr(args, "devices", None)
    if strategy not in DISTRIBUTE:
        raise SystemExit(f"{where}: --distribute must be one of {DISTRIBUTE}; got {strategy!r}.")
    if strategy == "none":
        if devices not in (None, 1):
            raise SystemExit(f"{where}: --devices {devices} needs --distribute data_parallel (without it the run "
                             "uses one device).")
        yield RunDistribution("none", where)
        return
    flags = f"--distribute data_parallel{'' if devices is None else f' --devices {devices}'}"
    if int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES") or 1) > 1:
        raise SystemExit(f"{where}: {flags} runs on the devices of one host; KERAS_DISTRIBUTION_NUM_PROCESSES is set, "
                         "but the recipes do not join a multi-process job (each process would train alone and write "
                         "the same --out): for several hosts call zoo.distribute.initialize() in your own script "
                         "(docs/scaling.md).")
    import zoo.distribute

    with contextlib.ExitStack() as stack:
        try:
            context = stack.enter_context(zoo.distribute.data_parallel(devices=devices))
        except (RuntimeError, ValueError) as e:
            raise SystemExit(f"{where}: {flags}: {e}") from e
        run = RunDistribution(strategy, where, context)
        print(f"[{where}] data parallel over {run.devices} {run.backend} device(s)"
              + (f", {run.processes} processes" if run.processes > 1 else ""), flush=True)
        yield run


def distribute_argv(args):
    """The --distribute/--devices flags of parsed `args` as an argv list (a grid passes them to its runs);
    --devices without --distribute data_parallel stops the grid before its first run."""
    if getattr(args, "distribute", "none") == "none" and getattr(args, "devices", None) not in (None, 1):
        raise SystemExit(f"--devices {args.devices} needs --distribute data_parallel (without it every run uses one "
                         "device).")
    argv = []
    if getattr(args, "distribute", "none") != "none":
        argv += ["--distribute", args.distribute]
    if getattr(args, "devices", None) is not None:
        argv += ["--devices", str(args.devices)]
    return argv


# -- argparse types: a nonsense value stops the recipe with a usage message instead of training on it ------------
def positive_int(text):
    """argparse type: an int >= 1 (`--epochs 0` or `--train-limit -5` is an error, not a silent no-op)."""
    return _number(text, int, lambda v: v >= 1, "an integer >= 1")


def non_negative_int(text):
    """argparse type: an int >= 0."""
    return _number(text, int, lambda v: v >= 0, "an integer >= 0")


def positive_float(text):
    """argparse type: a finite number > 0 (`--lr -1` or `--lr nan` is an error)."""
    return _number(text, float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")


def fraction(text):
    """argparse type: a number in [0, 1)."""
    return _number(text, float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def open_fraction(text):
    """argparse type: a number in (0, 1)."""
    return _number(text, float, lambda v: 0 < v < 1, "a number in (0, 1)")


def _number(text, kind, ok, what):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {what}; got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {what}; got {text!r}")
    return value


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
def dataset_parser(default="fashion_mnist"):
    """The argparse parent of the image-classification data flags: --dataset, --data-dir, --download,
    --image-size, --test-fraction, --train-split, --test-split, --val-split, --train-limit, --test-limit."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--dataset", default=default,
                   help=f"{' or '.join(DATASETS)}, a tensorflow_datasets name (cifar10, cifar100, caltech_birds2011, "
                        "...; prepared in --data-dir) or a folder of class subfolders")
    p.add_argument("--data-dir", default=None,
                   help="tfds data folder (default $TFDS_DATA_DIR or ~/tensorflow_datasets)")
    p.add_argument("--download", action="store_true", help="let tfds download a dataset that is not prepared")
    p.add_argument("--image-size", default=None, metavar="N|HxW",
                   help="size the backbone is built for (the model resizes raw images to it); folders and tfds "
                        f"sets of varying image size are also loaded at it (default {_datasets.DEFAULT_IMAGE_SIZE}; "
                        f"digits: {DIGITS_IMAGE_SIZE} for zoo backbones)")
    p.add_argument("--test-fraction", type=open_fraction, default=0.2,
                   help="share of each class held out for test from a folder without a test/ subfolder")
    p.add_argument("--train-split", default="train", help="tfds split to train on")
    p.add_argument("--test-split", default="test", help="tfds split to test on")
    p.add_argument("--val-split", type=fraction, default=0.0,
                   help="share of each training class held out for validation (stratified, seeded): the best "
                        "epoch on validation accuracy is restored before the single test evaluation")
    p.add_argument("--train-limit", type=positive_int, default=None, help="use only the first N training images")
    p.add_argument("--test-limit", type=positive_int, default=None, help="evaluate on the first N test images only")
    return p


def load_dataset(args):
    """A `recipes._datasets.ClassificationData` (uint8 images, int32 labels) for the flags of `dataset_parser`."""
    return _datasets.load_classification_data(
        args.dataset, data_dir=getattr(args, "data_dir", None), download=getattr(args, "download", False),
        image_size=_datasets.parse_image_size(getattr(args, "image_size", None)),
        train_limit=getattr(args, "train_limit", None), test_limit=getattr(args, "test_limit", None),
        test_fraction=getattr(args, "test_fraction", 0.2), seed=getattr(args, "seed", 0),
        train_split=getattr(args, "train_split", "train"), test_split=getattr(args, "test_split", "test"))


def load_data(name, train_limit=None, test_limit=None, **options):
    """(x_train, y_train), (x_test, y_test) as uint8 images (0..255) and int32 labels.

    `name` is anything `--dataset` takes (see `recipes._datasets`); `options` are the keyword arguments of
    `recipes._datasets.load_classification_data` (data_dir, download, image_size, ...).
    """
    data = _datasets.load_classification_data(name, train_limit=train_limit, test_limit=test_limit, **options)
    return data.train, data.test


def model_image_size(args, preset=False):
    """`image_size` of a task model for the flags of `dataset_parser`: --image-size, else 28x28 for the 8x8 digits
    with a zoo backbone (`preset` False), else None (the images' own size)."""
    size = _datasets.parse_image_size(getattr(args, "image_size", None))
    if size is None and args.dataset == "digits" and not preset:
        size = (DIGITS_IMAGE_SIZE, DIGITS_IMAGE_SIZE)
    return size


def split_validation(x, y, fraction, seed):
    """((x_train, y_train), (x_val, y_val)): `fraction` of each class held out (stratified, seeded);
    `fraction` 0 gives ((x, y), None)."""
    if not fraction:
        return (x, y), None
    kept, held = _datasets.stratified_split(y, fraction, seed)
    return (x[kept], y[kept]), (x[held], y[held])


def raw_image_dataset(x, y, batch_size, shuffle=False, augment=None, seed=0, drop_remainder=False):
    """A tf.data pipeline of raw uint8 pixels for a task model: shuffle (each epoch), batch, augment in 0..255.

    `augment`: None or "flip", "crop" (pad-4 random crop: integer shifts up to 4 pixels, zero fill, per image),
    "flip_crop". No scaling or normalisation here: the model owns its preprocessing. Labels int32.
    `drop_remainder`: leave out the last partial batch (data-parallel training: every batch splits evenly).
    """
    import tensorflow as tf

    if drop_remainder and len(x) < int(batch_size):
        raise ValueError(f"raw_image_dataset: {len(x)} images are fewer than one batch of {int(batch_size)} "
                         "(drop_remainder=True would leave no batch).")
    layers = _augment_layers(augment, x.shape[1], x.shape[2], seed)
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype("int32")))
    if shuffle:
        ds = ds.shuffle(len(x), seed=int(seed), reshuffle_each_iteration=True)
    ds = ds.batch(int(batch_size), drop_remainder=bool(drop_remainder))
    if layers:
        ds = ds.map(lambda images, labels: _augmented(images, labels, layers, x.ndim))
    return ds.prefetch(tf.data.AUTOTUNE)


def epoch_image_dataset(x, y, batch_size, seed=0, first_epoch=0, augment=None, drop_remainder=False):
    """The training pipeline of raw pixels whose epoch e is a function of (seed, e) alone: `(dataset, steps)`.

    Epoch e visits the images in the order `stateless_shuffle(range(N), seed=(seed, e))`, batched; the dataset
    starts at `first_epoch` and never ends (pass `steps_per_epoch=steps` to `fit`). A run resumed at epoch k
    (`--resume`) therefore sees the same batches as the uninterrupted run did from epoch k on, which
    `reshuffle_each_iteration` cannot give (its order depends on how many epochs this process has run).
    Augmentation ("flip", "crop", "flip_crop") uses Keras' random layers, whose draws are not tied to the epoch:
    with it a resumed run is statistically, not bitwise, the same. `drop_remainder`: every batch is full (the
    last `N mod batch_size` images of each epoch's order are left out: data-parallel training splits every batch
    evenly over the devices).
    """
    import math

    import tensorflow as tf

    n = len(x)
    steps = n // int(batch_size) if drop_remainder else math.ceil(n / int(batch_size))
    if steps == 0:
        raise ValueError(f"epoch_image_dataset: {n} images give no {'full ' if drop_remainder else ''}batch of "
                         f"{int(batch_size)}.")
    images, labels = tf.constant(x), tf.constant(y.astype("int32"))

    def epoch(e):
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64),
                                                         seed=tf.stack([tf.constant(int(seed), tf.int64), e]))
        return tf.data.Dataset.from_tensor_slices(order).batch(int(batch_size), drop_remainder=bool(drop_remainder))

    ds = tf.data.Dataset.range(int(first_epoch), 2 ** 62).flat_map(epoch)
    ds = ds.map(lambda idx: (tf.gather(images, idx), tf.gather(labels, idx)))
    layers = _augment_layers(augment, x.shape[1], x.shape[2], seed)
    if layers:
        ds = ds.map(lambda im, lab: _augmented(im, lab, layers, x.ndim))
    return ds.prefetch(tf.data.AUTOTUNE), steps


def _augmented(images, labels, layers, ndim):
    import tensorflow as tf

    images = tf.cast(images, tf.float32)
    if len(images.shape) == 3:
        images = images[..., None]
    for layer in layers:
        images = tf.convert_to_tensor(layer(images, training=True))
    images = tf.cast(tf.clip_by_value(tf.round(images), 0.0, 255.0), tf.uint8)
    return (images[..., 0] if ndim == 3 else images), labels


def _augment_layers(augment, height, width, seed):
    import keras

    if augment in (None, "none"):
        return []
    if augment not in AUGMENTATIONS:
        raise ValueError(f"--augment must be one of {('none',) + AUGMENTATIONS}; got {augment!r}.")
    layers = []
    if "flip" in augment:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if "crop" in augment:
        layers.append(keras.layers.RandomTranslation(PAD_CROP_PIXELS / height, PAD_CROP_PIXELS / width,
                                                     fill_mode="constant", fill_value=0.0, interpolation="nearest",
                                                     seed=seed + 1))
    return layers


def mean_std(x_train):
    """(mean, std) of the training pixels scaled to [0, 1]: the `normalize` of every recipe pipeline."""
    scaled = x_train.astype("float32") / 255.0
    return float(scaled.mean()), float(scaled.std())


def float_images(x, normalize):
    """uint8 [N, H, W(, C)] -> normalised float32 [N, H, W, C] (as zoo.data.make_dataset)."""
    import numpy as np

    x = x[..., None] if x.ndim == 3 else x
    return ((x.astype("float32") / 255.0 - normalize[0]) / normalize[1]).astype(np.float32)


def make_optimizer(name, lr):
    """Adam (default), SGD with momentum 0.9, or AdamW."""
    import keras

    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9)
    if name == "adamw":
        return keras.optimizers.AdamW(lr)
    return keras.optimizers.Adam(lr)


# -- learning-rate schedules: --lr-schedule, --lr-steps, --lr-gamma, --warmup-epochs, --warmup-start ------------
#: `--lr-schedule` values (`epoch_lr`).
LR_SCHEDULES = ("constant", "step", "warmup_step", "cosine")


def lr_schedule_parser(gamma=0.1):
    """The argparse parent of the epoch learning-rate schedule flags (any recipe: classification, fewshot,
    metric_learning, reid): --lr-schedule, --lr-steps, --lr-gamma (default `gamma`), --warmup-epochs,
    --warmup-start. `lr_schedule_callbacks(args)` turns them into the run's callback, `lr_schedule_summary(args)`
    into its metrics.json entry."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("learning-rate schedule (epoch-based, as the papers)")
    g.add_argument("--lr-schedule", default="constant", choices=LR_SCHEDULES,
                   help="constant: --lr throughout; step: x--lr-gamma at each of --lr-steps; warmup_step: linear "
                        "warm-up over --warmup-epochs, then the steps if any (DL2PA long-tail: --lr 0.1 "
                        "--warmup-epochs 5 --lr-steps 160 180; BoT re-ID: --warmup-epochs 10 --warmup-start 0.01 "
                        "--lr-steps 40 70); "
                        "cosine: (optional warm-up, then) half a cosine from --lr to 0 over the remaining --epochs")
    g.add_argument("--lr-steps", type=positive_int, nargs="+", default=None, metavar="E",
                   help="epochs (counted from 0: E = after E finished epochs) from which the lr is multiplied by "
                        "--lr-gamma once more (DL2PA balanced: 100 200)")
    g.add_argument("--lr-gamma", type=positive_float, default=gamma, help="factor of each step")
    g.add_argument("--warmup-epochs", type=non_negative_int, default=0, metavar="N",
                   help="linear warm-up epochs of warmup_step / cosine: epoch k = 1..N uses lr*k/N (DL2PA's "
                        "long-tail code), or lr*(F + (1-F)(k-1)/N) with --warmup-start F")
    g.add_argument("--warmup-start", type=open_fraction, default=None, metavar="F",
                   help="start the warm-up at F*lr in the first epoch (BoT re-ID: 0.01; DL2PA ImageNet: 0.01); "
                        "default: lr/N, DL2PA long-tail")
    return p


def epoch_lr(epoch, lr, schedule="constant", steps=(), gamma=0.1, warmup_epochs=0, warmup_start=None, epochs=None):
    """The learning rate of epoch `epoch` (counted from 0) under an epoch schedule: a pure function of the epoch.

        warm-up (epoch e < N, k = e + 1):  lr·k/N                     (warmup_start None: DL2PA long-tail code)
                                           lr·(F + (1 − F)·e/N)       (warmup_start F: BoT re-ID, DL2PA ImageNet)
        step / warmup_step (after it):     lr·γ^#{s in steps: e >= s}
        cosine (after it):                 lr·½(1 + cos(π·(e − N)/(epochs − N)))
        constant:                          lr

    Args:
        epoch: int >= 0. lr: the base rate (> 0). schedule: one of `LR_SCHEDULES`.
        steps: epochs s (from 0) at which the rate is multiplied by `gamma` (step, warmup_step).
        gamma: step factor (> 0). warmup_epochs: N >= 0 (warmup_step, cosine).
        warmup_start: None or F in (0, 1). epochs: total epochs (cosine).

    Returns:
        float.

    Raises:
        ValueError: an unknown schedule, steps with constant/cosine, warm-up with constant/step, cosine without
            `epochs` or with warmup_epochs >= epochs, bad numbers; each names the argument.

    Example:
        >>> recipes.common.epoch_lr(2, 0.1, "warmup_step", steps=(160, 180), warmup_epochs=5)   # 0.1·3/5
        0.06

    Reference:
        DL2PA (Saadabadi et al., CVPR 2024) code: long-tail `adjust_learning_rate` (lr·epoch/5 for 1-indexed epochs
        <= 5, ×0.1 after 160, ×0.01 after 180), balanced ×0.1 at 100 and 200, ImageNet 5-epoch warm-up from
        ×0.01 then cosine; BoT re-ID (Luo et al., 2019): warm-up from 0.01·lr over 10 epochs, ×0.1 at 40 and 70.

    Departures from the reference code:
        The ImageNet code steps its cosine per iteration; here per epoch. With a warm-up the step factors
        multiply the warm-up factor (the references never step inside their warm-up).
    """
    check_lr_schedule(schedule, steps, warmup_epochs, warmup_start, epochs, gamma, where="epoch_lr")
    if not (isinstance(epoch, int) or hasattr(epoch, "__index__")) or int(epoch) < 0:
        raise ValueError(f"epoch_lr: `epoch` must be an int >= 0; got {epoch!r}.")
    e, n = int(epoch), int(warmup_epochs or 0)
    factor = 1.0
    if n and e < n:
        factor = (e + 1) / n if warmup_start is None else warmup_start + (1.0 - warmup_start) * e / n
    if schedule in ("step", "warmup_step"):
        factor *= gamma ** sum(e >= int(s) for s in steps or ())
    elif schedule == "cosine" and e >= n:
        factor = 0.5 * (1.0 + math.cos(math.pi * (e - n) / (int(epochs) - n)))
    return float(lr) * factor


def check_lr_schedule(schedule, steps, warmup_epochs, warmup_start, epochs, gamma=0.1, where="--lr-schedule"):
    """ValueError naming the flag when the schedule flags do not fit together."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"{where}: --lr-schedule must be one of {LR_SCHEDULES}; got {schedule!r}.")
    if steps and schedule not in ("step", "warmup_step"):
        raise ValueError(f"{where}: --lr-steps {list(steps)} needs --lr-schedule step or warmup_step (got "
                         f"{schedule}).")
    if schedule == "step" and not steps:
        raise ValueError(f"{where}: --lr-schedule step needs --lr-steps E [E ...].")
    if warmup_epochs and schedule not in ("warmup_step", "cosine"):
        raise ValueError(f"{where}: --warmup-epochs {warmup_epochs} needs --lr-schedule warmup_step or cosine (got "
                         f"{schedule}).")
    if schedule == "warmup_step" and not warmup_epochs:
        raise ValueError(f"{where}: --lr-schedule warmup_step needs --warmup-epochs N >= 1.")
    if warmup_start is not None and not (0.0 < warmup_start < 1.0):
        raise ValueError(f"{where}: --warmup-start must be in (0, 1); got {warmup_start}.")
    if warmup_start is not None and not warmup_epochs:
        raise ValueError(f"{where}: --warmup-start {warmup_start} needs --warmup-epochs N >= 1.")
    if not (math.isfinite(gamma) and gamma > 0):
        raise ValueError(f"{where}: --lr-gamma must be a finite number > 0; got {gamma}.")
    if schedule == "cosine":
        if epochs is None:
            raise ValueError(f"{where}: --lr-schedule cosine needs the number of --epochs.")
        if int(warmup_epochs or 0) >= int(epochs):
            raise ValueError(f"{where}: --warmup-epochs {warmup_epochs} must be fewer than --epochs {epochs} with "
                             "--lr-schedule cosine.")


def lr_schedule_callbacks(args, lr=None):
    """[] for --lr-schedule constant, else [keras.callbacks.LearningRateScheduler] setting `epoch_lr` of the flags
    of `lr_schedule_parser` at the start of each epoch (a function of the epoch alone, so a `--resume`d run, which
    restarts at its epoch, gets the same rates; the rate is logged as `learning_rate`). `lr`: default args.lr.
    Call it before any data is loaded: it checks the flags."""
    import keras

    options = lr_schedule_options(args)
    base = float(args.lr if lr is None else lr)
    if options["schedule"] == "constant":
        return []
    return [keras.callbacks.LearningRateScheduler(lambda epoch, _lr: epoch_lr(epoch, base, **options))]


def lr_schedule_options(args):
    """The keyword arguments of `epoch_lr` (all but epoch and lr) from parsed flags, checked."""
    options = {"schedule": getattr(args, "lr_schedule", "constant") or "constant",
               "steps": tuple(getattr(args, "lr_steps", None) or ()), "gamma": float(getattr(args, "lr_gamma", 0.1)),
               "warmup_epochs": int(getattr(args, "warmup_epochs", 0) or 0),
               "warmup_start": getattr(args, "warmup_start", None), "epochs": getattr(args, "epochs", None)}
    check_lr_schedule(where="recipe", **options)
    return options


def lr_schedule_summary(args):
    """The run's `"lr_schedule"` entry of metrics.json: the schedule flags (and the base --lr)."""
    options = lr_schedule_options(args)
    options.pop("epochs")
    return {**options, "steps": list(options["steps"]), "lr": float(args.lr)}


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


# -- checkpoints and resuming -----------------------------------------------------------------------------------
#: Sub-folder of a run with the latest checkpoint (weights, optimizer and layer state, epoch reached).
BACKUP_DIR = "backup"
#: The per-epoch history of a run so far (written atomically after every epoch; read by --resume).
PROGRESS_FILE = "progress.json"


def resume_parser():
    """The argparse parent of --resume."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in --out from its last finished epoch (weights, optimizer and "
                        "head state, epoch counter, history)")
    return p


class RunProgress:
    """The checkpoint plumbing of a recipe run in `out`: latest-epoch backup, per-epoch history, resume.

    `callbacks()` gives `zoo.callbacks.AtomicBackupAndRestore(out/backup)` (every epoch) and a logger that writes the
    history so far to out/progress.json after every epoch (atomically). Without `resume` a folder holding an
    unfinished run is refused (its work would be overwritten); with it, `fit` continues from the last finished
    epoch and `finished_epochs()` holds the epochs run before it too. `finish()` removes the backup of a completed run.
    """

    def __init__(self, out, resume=False):
        import zoo.callbacks

        self.out = out
        self.backup = zoo.callbacks.AtomicBackupAndRestore(os.path.join(out, BACKUP_DIR))
        done = self.backup.resumable_epoch
        if done and not resume:
            raise SystemExit(f"{out} holds an unfinished run ({done} epoch(s) done): pass --resume to continue it, or "
                             f"choose another --out (or delete {os.path.join(out, BACKUP_DIR)}).")
        if resume and not done:
            print(f"[resume] nothing to resume in {out}: starting from epoch 1")
        self.previous = {}
        if done:
            with open(os.path.join(out, PROGRESS_FILE)) as f:
                self.previous = {k: v[:done] for k, v in json.load(f)["history"].items()}
            print(f"[resume] continuing {out} after epoch {done}")
        self.initial_epoch = done

    def best(self, key, mode="max"):
        """Best value of `key` over the epochs run before a resume (None if none): a checkpoint's threshold."""
        values = self.previous.get(key) or []
        return (max(values) if mode == "max" else min(values)) if values else None

    def callbacks(self):
        import keras

        from zoo._io import atomic_write_text
        from zoo.callbacks import StopOnInterrupt

        progress = self

        class ProgressLog(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.epochs = {}

            def on_epoch_end(self, epoch, logs=None):
                if StopOnInterrupt.stopped(self.model):  # a Ctrl-C cut this epoch short: not a finished epoch
                    return
                for k, v in (logs or {}).items():
                    self.epochs.setdefault(k, []).append(float(v))
                merged = {k: list(progress.previous.get(k, [])) + vs for k, vs in self.epochs.items()}
                atomic_write_text(os.path.join(progress.out, PROGRESS_FILE),
                                  json.dumps({"epochs_done": epoch + 1, "history": merged}, indent=1))

        self.log = ProgressLog()
        return [self.backup, self.log]

    def interrupted(self, summary, recipe):
        """After Ctrl-C: write metrics.json with `summary`, status "interrupted" and the finished epochs' history,
        and say how to resume."""
        write_summary(self.out, {**summary, "status": "interrupted", "history": self.finished_epochs(),
                                 "resume": f"add --resume --out {self.out} to the same command"})
        print(f"[{recipe}] interrupted: the finished epochs are checkpointed in {self.out}; add --resume to continue")

    def finished_epochs(self):
        """The history of the finished epochs only (an epoch cut short by Ctrl-C is left out)."""
        logged = getattr(self, "log", None)
        new = {} if logged is None else logged.epochs
        keys = set(self.previous) | set(new)
        return {k: [float(v) for v in self.previous.get(k, [])] + list(new.get(k, [])) for k in keys}

    def finish(self):
        """The run completed: drop the backup (the saved model is the final state)."""
        import shutil

        shutil.rmtree(os.path.join(self.out, BACKUP_DIR), ignore_errors=True)


def provenance():
    """How this process was started and from which code: `command` (the `python -m recipes.X ...` line that
    reproduces the run), `commit` (git HEAD of the checkout, None outside one) and `dirty` (uncommitted changes
    to tracked files). Published models carry these in their manifest entry and card."""
    import shlex

    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    program = f"python -m {spec.name}" if spec is not None and spec.name else f"python {sys.argv[0]}"
    command = " ".join([program] + [shlex.quote(a) for a in sys.argv[1:]])

    def git(*args):
        try:
            out = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"command": command, "commit": commit, "dirty": bool(status) if commit else None}


def write_summary(out_dir, summary):
    """Write `summary` (a dict) to out_dir/metrics.json, with the backend and versions, and return the path."""
    import keras

    summary = dict(summary)
    for key, value in provenance().items():
        summary.setdefault(key, value)
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


def append_jsonl(path, record):
    """Add one JSON record as a line of `path`, rewriting the file atomically (a crash never leaves half a line)."""
    from zoo._io import atomic_write_text

    text = open(path).read() if os.path.exists(path) else ""
    if text and not text.endswith("\n"):
        text += "\n"
    atomic_write_text(path, text + json.dumps(record) + "\n")


def write_text(path, text):
    """Write a text file (tables, reports) atomically."""
    from zoo._io import atomic_write_text

    return atomic_write_text(path, text)


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
