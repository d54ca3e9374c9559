"""Few-shot classification with Prototypical Networks in any geometry (Khrulkov et al., CVPR 2020, §6.2).

Trains a `zoo.models.ProtoNet` episodically (N-way K-shot Q-query episodes of raw pixels in the reference's
shot-major layout; the model normalises them itself, so the saved model takes raw images) in Euclidean space
(Snell et al.: arithmetic-mean prototypes, negative squared distance), on the sphere (normalised mean, cosine)
or in the Poincaré ball (backbone -> `ToPoincare(c)` with the Riemannian gradient rescale, Einstein-midpoint
prototypes, negative hyperbolic distance, one curvature), selects the epoch with the best validation accuracy
(`FewShotEvaluation`) when the dataset has a validation split, and reports the test accuracy as
mean ± 1.96·std/√n over `--test-episodes` episodes (`ProtoNet.evaluate_episodes`). It writes `model.keras`,
`metrics.json`, TensorBoard logs and `curves.png` (per-epoch train and validation accuracy) into `--out`.

Datasets (`zoo.data.fewshot_splits`): `fashion_mnist` (offline demonstration split: classes 0-4 train,
5-9 test, no validation split), `mini_imagenet` (`--data-dir` holding images/ and train/val/test.csv),
`omniglot` and `caltech_birds2011` (tensorflow_datasets; `--data-dir` is the tfds data_dir, `--download`
allows fetching), `folder` (`--data-dir`/{train,val,test}/<class>/<images>).

Usage:
    python -m recipes.fewshot --geometry poincare --c 0.01 --shot 1 --way 5 --train-way 5
    python -m recipes.fewshot --dataset mini_imagenet --data-dir /data/mini --geometry poincare \\
        --c 0.01 --shot 1 --train-way 30 --lr 5e-3 --lr-step 80 --lr-gamma 0.5 --epochs 200
    python -m recipes.fewshot --backend jax --distribute data_parallel --devices 2 --way 4   # 64 images, 60 labels
    python -m recipes.fewshot --help

Model selection without a validation split (fashion_mnist): `--val-classes N` holds the last N training classes out
(classes 3-4 of 0-4 for N = 2; deterministic) and selects the epoch on validation episodes of min(--way, N) classes.
`--augment reference` applies the reference's training transform (resized crop, colour jitter 0.4, h-flip;
`reference_augmentation`) to the training episodes only. LR schedules: `--lr-step N` (the reference's StepLR) or
the shared `--lr-schedule` flags (`recipes.common.epoch_lr`).

Reference settings (Khrulkov et al.'s few-shot code): conv4 with dim 1600, 15 queries, 100 train episodes per epoch,
500 validation and 10,000 test episodes, Adam with a step schedule, train way 30 (1-shot) / 20 (5-shot)
on MiniImageNet. The reference steps its scheduler at the start of each epoch (so its schedule runs one
epoch early); here epoch e (from 0) uses lr·γ^⌊e/step⌋.
"""

import argparse
import os
import sys

from recipes import common

DEFAULT_IMAGE_SIZE = {"fashion_mnist": 28, "omniglot": 28, "mini_imagenet": 84, "caltech_birds2011": 84,
                      "folder": 84}
DEFAULT_DIM = {"conv4": 1600, "resnet12": 512}
IMAGENET_MEAN_STD = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
#: `--augment` values: none, or the reference's training transform (`reference_augmentation`).
AUGMENTS = ("none", "reference")
#: torchvision RandomResizedCrop defaults (the reference's): area share and aspect-ratio range of the crop.
CROP_SCALE = (0.08, 1.0)
CROP_RATIO = (3.0 / 4.0, 4.0 / 3.0)
#: torchvision ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4): factors uniform in [1 - 0.4, 1 + 0.4].
JITTER = 0.4
#: ITU-R 601-2 luma weights of torchvision's rgb_to_grayscale (contrast mean, saturation blend).
LUMA = (0.299, 0.587, 0.114)


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m recipes.fewshot",
        description="Episodic few-shot training and evaluation of Prototypical Networks in any geometry.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        parents=[common.base_parser(epochs=20, verbose=2, out_help="output folder (default runs/fewshot/<run name>)"),
                 common.resume_parser(), common.distribute_parser(), common.lr_schedule_parser(gamma=0.5)],
    )
    p.add_argument("--dataset", default="fashion_mnist",
                   choices=("fashion_mnist", "mini_imagenet", "omniglot", "caltech_birds2011", "folder"))
    p.add_argument("--data-dir", default=None,
                   help="dataset root (mini_imagenet, folder) or tensorflow_datasets data_dir")
    p.add_argument("--download", action="store_true", help="let tensorflow_datasets download and prepare")
    p.add_argument("--geometry", default="euclidean", choices=("euclidean", "sphere", "poincare"))
    p.add_argument("--c", type=float, default=0.01, help="curvature of the Poincaré ball (c > 0)")
    p.add_argument("--temperature", type=float, default=None,
                   help="logit temperature T (logits = -distance / T); default: the head's default")
    p.add_argument("--no-riemannian", action="store_true",
                   help="switch off ToPoincare's Riemannian gradient rescale (the reference keeps it on)")
    p.add_argument("--way", type=int, default=5, help="classes per test/validation episode")
    p.add_argument("--train-way", type=int, default=None, help="classes per training episode (default: --way)")
    p.add_argument("--shot", type=int, default=1)
    p.add_argument("--query", type=int, default=15)
    p.add_argument("--backbone", default="conv4", help="a zoo.backbones name (conv4, resnet12, ...)")
    p.add_argument("--dim", type=int, default=None,
                   help="embedding dimension; default 1600 for conv4 (the channels of its last block, as the "
                        "reference), 512 for resnet12 (fixed by its channels), 64 otherwise")
    p.add_argument("--image-size", type=int, default=None, help="default: 28 (fashion_mnist, omniglot), 84 otherwise")
    p.add_argument("--episodes-per-epoch", type=int, default=100)
    p.add_argument("--val-episodes", type=int, default=500)
    p.add_argument("--test-episodes", type=int, default=600)
    p.add_argument("--lr-step", type=int, default=None,
                   help="multiply the lr by --lr-gamma every N epochs (the reference's StepLR; shorthand of "
                        "--lr-schedule step --lr-steps N 2N ...)")
    p.add_argument("--augment", default="none", choices=AUGMENTS,
                   help="training episodes only (support and queries): reference = the reference's RandomResizedCrop "
                        "(scale 0.08-1, ratio 3/4-4/3), colour jitter 0.4 (brightness, contrast, saturation; grey "
                        "images: brightness and contrast only, as torchvision) and horizontal flip")
    p.add_argument("--val-classes", type=int, default=None, metavar="N",
                   help="for datasets without a validation split (fashion_mnist): hold the last N training classes "
                        "out as validation classes; the epoch is selected on validation episodes of min(--way, N) "
                        "classes")
    return p


def check_args(args):
    """Fail early, naming the argument, before any data is loaded."""
    if args.dim is None:
        args.dim = DEFAULT_DIM.get(args.backbone.replace("-", "_").lower(), 64)
    for name in ("way", "shot", "query", "dim", "epochs", "episodes_per_epoch", "test_episodes"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1; got {getattr(args, name)}.")
    if args.train_way is not None and args.train_way < 1:
        raise ValueError(f"--train-way must be >= 1; got {args.train_way}.")
    if args.val_episodes < 0:
        raise ValueError(f"--val-episodes must be >= 0; got {args.val_episodes}.")
    if args.c <= 0:
        raise ValueError(f"--c must be > 0; got {args.c}.")
    if args.temperature is not None and args.temperature <= 0:
        raise ValueError(f"--temperature must be > 0; got {args.temperature}.")
    if args.lr <= 0:
        raise ValueError(f"--lr must be > 0; got {args.lr}.")
    if args.lr_step is not None and args.lr_step < 1:
        raise ValueError(f"--lr-step must be >= 1; got {args.lr_step}.")
    if args.lr_step is not None:
        if args.lr_schedule != "constant":
            raise ValueError(f"--lr-step {args.lr_step} is the shorthand of --lr-schedule step; do not combine it with "
                             f"--lr-schedule {args.lr_schedule}.")
        args.lr_steps = list(range(args.lr_step, args.epochs, args.lr_step)) or None
        args.lr_schedule = "step" if args.lr_steps else "constant"
    common.lr_schedule_options(args)  # the schedule flags fit together
    if args.val_classes is not None and args.val_classes < 2:
        raise ValueError(f"--val-classes must be >= 2 (validation episodes of at least 2 classes); got "
                         f"{args.val_classes}.")
    if args.dataset in ("mini_imagenet", "folder") and not args.data_dir:
        raise ValueError(f"--data-dir is required for --dataset {args.dataset}.")


def load_splits(args):
    import zoo.data

    size = args.image_size or DEFAULT_IMAGE_SIZE[args.dataset]
    kwargs = {}
    if args.dataset in ("mini_imagenet", "folder"):
        kwargs = {"root": args.data_dir, "image_size": size}
    elif args.dataset in ("omniglot", "caltech_birds2011"):
        kwargs = {"data_dir": args.data_dir, "download": args.download, "image_size": size}
    splits = zoo.data.fewshot_splits(args.dataset, **kwargs)
    return splits


def normalisation(dataset, channels):
    import zoo.data

    if dataset == "fashion_mnist":
        return zoo.data.FASHION_MNIST_MEAN_STD
    if channels == 3:
        return IMAGENET_MEAN_STD
    return None


def build_model(args, input_shape, normalize=None):
    """A `zoo.models.ProtoNet`: preprocessing -> backbone -> (ToPoincare) -> PrototypicalHead, one ball; one
    model for every way (way comes from the batch), any shot at evaluation (`evaluate_episodes`)."""
    from zoo.models.protonet import ProtoNet

    return ProtoNet(
        args.backbone, geometry=args.geometry, c=args.c if args.geometry == "poincare" else None,
        input_shape=input_shape, embedding_dim=args.dim, shot=args.shot, query=args.query,
        temperature=args.temperature, riemannian=not args.no_riemannian, normalize=normalize,
        name=f"protonet_{args.geometry}")


def plot_curves(history, path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    epochs = range(1, len(history.get("sparse_categorical_accuracy", [])) + 1)
    if "sparse_categorical_accuracy" in history:
        ax.plot(epochs, history["sparse_categorical_accuracy"], label="train episodes")
    if "val_fewshot_accuracy" in history:
        ax.plot(epochs, history["val_fewshot_accuracy"], label="validation episodes")
    ax.set_xlabel("epoch")
    ax.set_ylabel("query accuracy")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    from zoo._io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    common.select_backend(argv)
    args = build_parser().parse_args(argv)
    check_args(args)
    with common.distribution(args, "recipes.fewshot") as dist:
        return _run(args, dist)


def check_distribution(args, dist):
    """Data parallelism splits each episode (one batch) over the devices: its image and query-label counts must be
    multiples of the device count, and TensorFlow, whose replicas would each see a slice of an episode, is
    refused."""
    if not dist.parallel:
        return
    if dist.backend == "tensorflow" and dist.devices > 1:
        raise SystemExit("recipes.fewshot: --distribute data_parallel on TensorFlow gives each MirroredStrategy "
                         "replica a slice of the episode, which breaks its support/query layout (a replica's "
                         "prototypes would miss classes); use --backend jax, whose DataParallel step sees the "
                         "whole episode, or --devices 1.")
    # an episode batch is (images [way·(shot + query)], query labels [way·query]): both are split over the devices
    for way, flag, used in ((args.train_way or args.way, "--train-way", True), (args.way, "--way", args.val_episodes)):
        if used:
            dist.check_batch(way * (args.shot + args.query), f"of images ({flag} x (--shot + --query)) = {way} x "
                             f"({args.shot} + {args.query}) =")
            dist.check_batch(way * args.query, f"of query labels ({flag} x --query) = {way} x {args.query} =")


def _run(args, dist):
    import keras

    check_distribution(args, dist)

    keras.utils.set_random_seed(args.seed)
    train_way = args.train_way or args.way
    run_name = (f"{args.dataset}-{args.backbone}{args.dim}-{args.geometry}"
                f"{'-c' + format(args.c, 'g') if args.geometry == 'poincare' else ''}"
                f"-{args.way}w{args.shot}s-train{train_way}w-{keras.backend.backend()}")
    out = args.out or os.path.join("runs", "fewshot", run_name)
    os.makedirs(out, exist_ok=True)

    splits = load_splits(args)
    train_split, val_split, test_split = carve_splits(args, splits, train_way)
    sample = train_split.image_shape
    model = build_model(args, sample, normalisation(args.dataset, sample[-1]))
    episodes = _episode_factory(args, model)
    train_ds = episodes(train_split, train_way, args.episodes_per_epoch, args.seed,
                        augment=training_augmentation(args, train_split))
    model.compile(optimizer=keras.optimizers.Adam(args.lr))  # the ProtoNet's loss and metric
    timer = common.epoch_timer()
    progress = common.RunProgress(out, resume=args.resume)  # latest epoch checkpointed; --resume continues
    callbacks = [timer] + _callbacks(args, val_split, episodes, out)
    callbacks = callbacks[:-1] + progress.callbacks() + callbacks[-1:]  # before TensorBoard, after evaluation

    print(f"[fewshot] {run_name}: train {train_split.num_classes} classes / {len(train_split)} images, "
          f"test {test_split.num_classes} classes / {len(test_split)} images"
          + (f", val {val_split.num_classes} classes{' (carved from train)' if args.val_classes else ''}"
             if val_split is not None else ", no validation split")
          + f"; {model.count_params():,} parameters")
    partial = {"run": run_name, "dataset": args.dataset, "geometry": args.geometry, "epochs": args.epochs,
               "distribute": dist.summary()}
    try:
        model.fit(train_ds, epochs=args.epochs, callbacks=callbacks, verbose=args.verbose)
    except KeyboardInterrupt:
        progress.interrupted(partial, "fewshot")
        raise
    hist = progress.finished_epochs()
    try:
        result = model.evaluate_episodes(test_split, way=args.way, episodes=args.test_episodes, seed=args.seed + 2,
                                         verbose=1 if args.verbose else 0)
        model_path = os.path.join(out, "model.keras")
        model.save(model_path)
        curves = os.path.join(out, "curves.png")
        plot_curves(hist, curves)
    except Exception as e:
        common.write_summary(out, {**partial, "status": "failed after training", "error": f"{type(e).__name__}: {e}",
                                   "history": hist})
        raise
    summary = {**_summary(args, run_name, train_way, result, hist, timer, model_path, curves), "status": "complete",
               "distribute": dist.summary()}
    path = common.write_summary(out, summary)
    progress.finish()
    print(f"[fewshot] {args.way}-way {args.shot}-shot test accuracy {100 * result['mean']:.2f} ± "
          f"{100 * result['ci95']:.2f} % over {result['n']} episodes ({args.geometry}); wrote {model_path}, "
          f"{curves} and {path}")
    return summary


# -- the steps of `main` -----------------------------------------------------------------------------------
def _episode_factory(args, model):
    """episodes(split, way, n, seed, resample=True): the model's raw-pixel episodes with the run's shot and query."""

    def episodes(split, way, n, seed, resample=True, augment=None):
        return model.episodes(split, way=way, episodes=n, seed=seed, resample=resample, shot=args.shot,
                              query=args.query, augment=augment)

    return episodes


def carve_splits(args, splits, train_way):
    """(train, val or None, test) splits; with --val-classes N the last N training classes become the validation
    split (`carve_validation_classes`), for datasets that have none."""
    train_split, val_split, test_split = splits["train"], splits.get("val"), splits["test"]
    if args.val_classes is None:
        return train_split, val_split, test_split
    if val_split is not None:
        raise ValueError(f"--val-classes {args.val_classes}: --dataset {args.dataset} has its own validation split "
                         f"({val_split.num_classes} classes); drop --val-classes.")
    left = train_split.num_classes - args.val_classes
    if left < max(train_way, 2):
        raise ValueError(f"--val-classes {args.val_classes} leaves {left} of the {train_split.num_classes} training "
                         f"classes, fewer than the {train_way}-way training episodes (--train-way/--way) need.")
    train_split, val_split = carve_validation_classes(train_split, args.val_classes)
    return train_split, val_split, test_split


def carve_validation_classes(split, n):
    """(train, val) `zoo.data.FewShotSplit`s: the last `n` classes of `split` (in its label order) held out.

    Deterministic (no seed): on Fashion-MNIST's offline split (train classes 0-4) `n = 1` holds out class 4
    ("coat"), `n = 2` classes 3 and 4. Both keep the image size and channels; file-backed splits stay lazy.

    Raises:
        ValueError: `n` not in [1, num_classes - 1].
    """
    import numpy as np

    import zoo.data

    c = split.num_classes
    if not isinstance(n, int) or not 1 <= n < c:
        raise ValueError(f"carve_validation_classes: `n` must be an int in [1, {c - 1}] (the split has {c} classes); "
                         f"got {n!r}.")
    held = split.labels >= c - n
    parts = []
    for mask in (~held, held):
        labels = split.labels[mask]
        names = [split.class_names[k] for k in np.unique(labels)]
        if split.lazy:
            paths = [p for p, keep in zip(split.images, mask) if keep]
            parts.append(zoo.data.FewShotSplit.from_files(paths, labels, names, image_size=split.image_size,
                                                          channels=split.channels))
        else:
            parts.append(zoo.data.FewShotSplit.from_arrays(split.images[mask], labels, names))
    return parts[0], parts[1]


def validation_way(args, val_split):
    """Classes per validation episode: min(--way, validation classes)."""
    return min(args.way, val_split.num_classes)


def training_augmentation(args, split):
    """The augmentation of training episodes for --augment: None, or `reference_augmentation` for the split."""
    if args.augment == "none":
        return None
    return reference_augmentation(split.channels, seed=args.seed)


def reference_augmentation(channels, seed=0):
    """The reference's few-shot training transform as callables on episode batches in 0..255 (`augment` of
    `zoo.data.episodes` / `ProtoNet.episodes`), each image drawn independently:

        RandomResizedCrop:  area share s ~ U(0.08, 1), aspect r: log r ~ U(log 3/4, log 4/3), crop (h, w) =
                            (√(s/r), √(s·r)) of the image (clipped to it) at a uniform position, resized back
                            bilinearly to the image size;
        ColorJitter 0.4:    brightness x·b; contrast m + c·(x − m), m the mean luma of the image; saturation
                            g + t·(x − g), g the luma image (RGB only); b, c, t ~ U(0.6, 1.4); clipped to 0..255;
        RandomHorizontalFlip (p = 0.5, `keras.layers.RandomFlip`).

    Args:
        channels: 1 (grey: brightness and contrast only; torchvision's saturation leaves a one-channel image
            unchanged) or 3.
        seed: int seed of the draws.

    Returns:
        A list of callables for `augment`.

    Reference:
        Khrulkov et al. few-shot code (SimpleShot's MiniImageNet transform): RandomResizedCrop(84),
        ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4), RandomHorizontalFlip.

    Departures from the reference code:
        Keras 3.15 has no RandomResizedCrop and its RandomBrightness is additive (torchvision's is a factor), so the
        crop and the jitter are `tf.image`/`tf.random` functions here; the flip is Keras'. torchvision retries a crop
        that does not fit up to 10 times, then centre-crops; here the crop is clipped to the image. The jitter runs
        in the fixed order brightness, contrast, saturation (torchvision draws a random order per image). The crop
        keeps the image size (the reference crops to 84 from larger images; episodes here are already resized).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    if channels not in (1, 3):
        raise ValueError(f"reference_augmentation: `channels` must be 1 or 3; got {channels!r}.")
    rng = tf.random.Generator.from_seed(int(seed))
    luma = tf.constant(LUMA, tf.float32)

    def grey(x):
        return x if channels == 1 else tf.reduce_sum(x * luma, axis=-1, keepdims=True)

    def resized_crop(x):
        x = tf.cast(x, tf.float32)
        b, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
        aspect = tf.cast(w, tf.float32) / tf.cast(h, tf.float32)
        area = rng.uniform([b], *CROP_SCALE)
        ratio = tf.exp(rng.uniform([b], float(np.log(CROP_RATIO[0])), float(np.log(CROP_RATIO[1]))))
        ch = tf.minimum(tf.sqrt(area * aspect / ratio), 1.0)  # crop height / image height
        cw = tf.minimum(tf.sqrt(area * ratio / aspect), 1.0)
        y0, x0 = rng.uniform([b]) * (1.0 - ch), rng.uniform([b]) * (1.0 - cw)
        boxes = tf.stack([y0, x0, y0 + ch, x0 + cw], axis=1)
        return tf.image.crop_and_resize(x, boxes, tf.range(b), tf.stack([h, w]), method="bilinear")

    def jitter(x):
        x = tf.cast(x, tf.float32)
        b = tf.shape(x)[0]

        def factor():
            return rng.uniform([b, 1, 1, 1], 1.0 - JITTER, 1.0 + JITTER)

        x = tf.clip_by_value(x * factor(), 0.0, 255.0)  # brightness: blend with black
        m = tf.reduce_mean(grey(x), axis=[1, 2, 3], keepdims=True)
        x = tf.clip_by_value(m + factor() * (x - m), 0.0, 255.0)  # contrast: blend with the mean luma
        if channels == 3:
            g = grey(x)
            x = tf.clip_by_value(g + factor() * (x - g), 0.0, 255.0)  # saturation: blend with the luma image
        return x

    return [resized_crop, jitter, keras.layers.RandomFlip("horizontal", seed=int(seed))]


def _callbacks(args, val_split, episodes, out):
    """Validation episodes with best-epoch restore (when there is a val split), the lr steps, TensorBoard."""
    import keras

    import zoo.callbacks

    callbacks = []
    if val_split is not None and args.val_episodes > 0:
        val_ds = episodes(val_split, validation_way(args, val_split), args.val_episodes, args.seed + 1,
                          resample=False)
        callbacks.append(zoo.callbacks.FewShotEvaluation(val_ds, restore_best=True, verbose=1 if args.verbose else 0))
    callbacks += common.lr_schedule_callbacks(args)  # epoch e: lr·γ^⌊e/step⌋ with --lr-step
    callbacks.append(keras.callbacks.TensorBoard(os.path.join(out, "logs")))
    return callbacks


def _summary(args, run_name, train_way, result, hist, timer, model_path, curves):
    import numpy as np

    return {
        "run": run_name,
        "args": vars(args),
        "train_way": train_way,
        "test_accuracy": float(result["mean"]),
        "test_ci95": float(result["ci95"]),
        "test_episodes": int(result["n"]),
        "history": hist,
        "epoch_seconds": [round(t, 3) for t in timer.times],
        "median_epoch_seconds": float(np.median(timer.times)) if timer.times else None,
        "model_path": model_path,
        "curves_path": curves,
        "augment": args.augment,
        "val_classes": args.val_classes,
        "lr_schedule": common.lr_schedule_summary(args),
    }


if __name__ == "__main__":
    main()
