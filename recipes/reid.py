"""Person re-identification: the strong baseline (BoT) and the seed paper's Euclidean / hyperbolic arms.

One `zoo.models.ReIDModel` trained on identity batches (P identities x K images, `zoo.data.reid_dataset`) of a
re-ID dataset read from disk (`zoo.data.reid`: Market-1501, DukeMTMC-reID, MSMT17, CUHK03-NP, any Market-style
folder; nothing is downloaded), or of the offline SYNTHETIC multi-camera set (`--dataset synthetic`,
`zoo.data.synthetic_reid`: Fashion-MNIST identities through fixed camera transforms, written in the Market-1501
layout; its numbers only show that the pipeline learns).

    --arm bot    (default) BNNeck, bias-free softmax classifier, label smoothing 0.1, batch-hard triplet 0.3 on the
                 pooled feature, optional centre loss (--center-weight 5e-4), feature after the BNNeck at test
    --arm paper  Khrulkov et al. (CVPR 2020, re-ID): backbone -> FC(--dim 32/64/128) -> --head softmax (Euclidean)
                 or poincare (ToPoincare + hyperbolic MLR, curvature --c, default 1e-5 as the paper reports),
                 cross-entropy only; the paper's schedules (lr 3e-4 or 6e-4, x0.1 at epochs 200 and 270) are not its
                 defaults here: the arms share the BoT schedule unless the flags say otherwise

Schedule (BoT): Adam --lr 3.5e-4, linear warm-up over --warmup 10 epochs from 0.01 x lr, x0.1 at --steps 40 70,
--epochs 120, coupled L2 --weight-decay 5e-4; input 256 x 128, flip, pad 10 + crop, random erasing 0.5, P16 x K4.
With --val-ids N (default 100; 0 = none) N training identities are held out as a validation query/gallery, the
epoch with the best validation mAP is restored, and the dataset's query/gallery is evaluated once, at the end:
rank-1/5/10, mAP (non-interpolated and the official Market variant), mINP, the number of valid queries, with flip
test-time augmentation (--flip-test) and k-reciprocal re-ranking (--rerank) rows as asked. Everything goes to
<out>/metrics.json (with the protocol: distance, feature, AP variant, flip, re-ranking) and TensorBoard.

Usage:
    python -m recipes.reid --dataset synthetic                            # offline demonstration, a few minutes
    python -m recipes.reid --dataset synthetic --arm paper --head poincare --dim 64 --c 0.1
    python -m recipes.reid --dataset market1501 --data-dir /data --preset resnet_50_imagenet   # BoT (GPU)
    python -m recipes.reid --dataset market1501 --data-dir /data --preset resnet_50_imagenet --arm paper \
        --head poincare --dim 128 --c 0.01 --epochs 60
    python -m recipes.reid --dataset market1501 --data-dir /data --preset resnet_50_imagenet --backend jax \
        --distribute data_parallel --devices 4                            # P16 x K4 = 64 images over 4 devices
"""

import argparse
import os
import sys

from recipes import common

ARMS = ("bot", "paper")
#: `--dataset` values: the readers of `zoo.data.reid` and the offline synthetic set.
DATASETS = ("synthetic", "market1501", "dukemtmcreid", "msmt17", "cuhk03_np_labeled", "cuhk03_np_detected", "folder")
#: The synthetic set's defaults (`zoo.data.synthetic_reid`) and the recipe's settings for it.
SYNTHETIC = {"image_size": (64, 32), "backbone": "hub_resnet", "val_ids": 40}
#: Each arm's defaults for the flags left unset.
ARM_DEFAULTS = {
    "bot": {"neck": "bnneck", "label_smoothing": 0.1, "triplet_weight": 1.0, "dim": None, "head": "softmax", "c": 0.1},
    "paper": {"neck": "none", "label_smoothing": 0.0, "triplet_weight": 0.0, "dim": 128, "head": "poincare",
              "c": 1e-5},
}


def build_parser():
    p = argparse.ArgumentParser(prog="python -m recipes.reid", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                parents=[common.base_parser(epochs=120, lr=3.5e-4, out_help="output folder (default "
                                                            "runs/reid/<run name>)"), common.resume_parser(),
                                         common.distribute_parser()])
    p.add_argument("--dataset", default="synthetic", choices=DATASETS)
    p.add_argument("--data-dir", default=None,
                   help="dataset root (the dataset folder or its parent); for synthetic: where to write it (default "
                        "runs/reid/data)")
    p.add_argument("--synthetic-ids", type=common.positive_int, nargs=2, default=(200, 100), metavar=("TRAIN", "TEST"),
                   help="train and test identities of the synthetic set")
    p.add_argument("--arm", default="bot", choices=ARMS)
    p.add_argument("--backbone", default=None,
                   help="zoo.backbones name or keras-hub preset (default: --preset, else hub_resnet)")
    p.add_argument("--preset", default=None,
                   help="keras-hub ResNet preset with ImageNet weights (name, handle or local directory), e.g. "
                        "resnet_50_imagenet; ImageNet mean/std normalisation")
    p.add_argument("--last-stride", type=int, default=1, choices=(1, 2), help="stride of the last ResNet stage")
    p.add_argument("--image-size", type=common.positive_int, nargs=2, default=None, metavar=("H", "W"),
                   help="input size (default 256 128; synthetic: 64 32)")
    p.add_argument("--head", default=None, help="zoo.heads name (default: softmax for bot, poincare for paper)")
    p.add_argument("--dim", type=common.positive_int, default=None,
                   help="FC embedding size (default: none for bot = pooled feature, 128 for paper)")
    p.add_argument("--c", type=common.positive_float, default=None,
                   help="curvature of --head poincare (default: 1e-5 for --arm paper, the paper's reported value; 0.1 "
                        "for bot)")
    p.add_argument("--neck", default=None, choices=("bnneck", "none"))
    p.add_argument("--label-smoothing", type=float, default=None)
    p.add_argument("--triplet-weight", type=float, default=None)
    p.add_argument("--margin", type=common.positive_float, default=0.3, help="triplet margin")
    p.add_argument("--center-weight", type=float, default=0.0, help="centre loss weight (BoT's +center: 5e-4)")
    p.add_argument("--weight-decay", type=float, default=5e-4, help="coupled L2 (PyTorch Adam weight_decay)")
    p.add_argument("--p", type=common.positive_int, default=16, help="identities per batch")
    p.add_argument("--k", type=common.positive_int, default=4, help="images per identity")
    p.add_argument("--warmup", type=common.non_negative_int, default=10, help="warm-up epochs (linear from 0.01 lr)")
    p.add_argument("--steps", type=common.positive_int, nargs="*", default=(40, 70), help="epochs of the x0.1 steps")
    p.add_argument("--erasing", type=common.fraction, default=0.5, help="random erasing probability")
    p.add_argument("--pad", type=common.non_negative_int, default=None,
                   help="padding before the random crop (default: BoT's 10 px at width 128, scaled to --image-size: "
                        "3 at 64 x 32, where 10 px stalls training)")
    p.add_argument("--val-ids", type=common.non_negative_int, default=None,
                   help="training identities held out for model selection (default 100; synthetic 40; 0: none)")
    p.add_argument("--eval-every", type=common.positive_int, default=1, help="validation period in epochs")
    p.add_argument("--flip-test", action="store_true", help="also report flip test-time augmentation")
    p.add_argument("--rerank", action="store_true", help="also report k-reciprocal re-ranking (k1 20, k2 6, 0.3)")
    p.add_argument("--limit-train-ids", type=common.positive_int, default=None,
                   help="train on the first N identities only (smoke runs)")
    return p


def arm_settings(args):
    """The flags left unset, filled from --arm (a new Namespace)."""
    values = dict(vars(args))
    for key, value in ARM_DEFAULTS[args.arm].items():
        if values.get(key) is None:
            values[key] = value
    synthetic = args.dataset == "synthetic"
    if values["image_size"] is None:
        values["image_size"] = SYNTHETIC["image_size"] if synthetic else (256, 128)
    if values["val_ids"] is None:
        values["val_ids"] = SYNTHETIC["val_ids"] if synthetic else 100
    if values["pad"] is None:
        values["pad"] = max(1, round(10 * values["image_size"][1] / 128))
    if values["backbone"] is None:
        values["backbone"] = args.preset or "hub_resnet"
    return argparse.Namespace(**values)


def lr_schedule(lr, warmup, steps):
    """BoT's epoch schedule: linear warm-up from 0.01·lr over `warmup` epochs, then ×0.1 at each of `steps`."""

    schedule = "warmup_step" if warmup else ("step" if steps else "constant")

    def rate(epoch):  # the shared epoch schedule of the recipes, with BoT's warm-up start 0.01
        return common.epoch_lr(epoch, lr, schedule, steps=tuple(steps), gamma=0.1, warmup_epochs=warmup,
                               warmup_start=0.01 if warmup else None)

    return rate


def load_splits(args):
    """`zoo.data.ReIDSplits` of --dataset (the synthetic set is written first, or reused)."""
    import zoo.data

    if args.dataset == "synthetic":
        root = args.data_dir or os.path.join("runs", "reid", "data")
        train_ids, test_ids = args.synthetic_ids
        folder = zoo.data.synthetic_reid(root, num_train_ids=train_ids, num_test_ids=test_ids, seed=0)
        return zoo.data.reid("market1501", folder)
    if args.data_dir is None:
        raise SystemExit(f"--dataset {args.dataset} needs --data-dir (the folder holding it; nothing is downloaded).")
    return zoo.data.reid(args.dataset, args.data_dir)


def _first_ids(split, n):
    """The images of the first `n` identities (sorted pids) of a (paths, pids, cams) split, pids relabelled."""
    import numpy as np

    paths, pids, cams = split
    keep = np.isin(pids, np.unique(pids)[:n])
    _, relabelled = np.unique(pids[keep], return_inverse=True)
    return paths[keep], relabelled.astype(pids.dtype), cams[keep]


def build_model(args, num_classes):
    """`zoo.models.ReIDModel` for the arm's settings."""
    import zoo.models
    from zoo.models.reid_model import IMAGENET_MEAN_STD

    head_options = {"c": args.c} if args.head == "poincare" else {}
    backbone_options = {}
    if args.preset or args.backbone == "hub_resnet":
        # keras-hub ResNet: the stride of the last stage (BoT's last stride 1 keeps a 16 x 8 map at 256 x 128)
        if args.preset:
            backbone_options["stackwise_num_strides"] = [1, 2, 2, args.last_stride]
        else:
            backbone_options["stackwise_num_strides"] = [1, args.last_stride]
    return zoo.models.ReIDModel(
        args.backbone, num_classes=num_classes, head=args.head, input_shape=(*args.image_size, 3),
        embedding_dim=args.dim, neck=args.neck, label_smoothing=args.label_smoothing,
        triplet_weight=args.triplet_weight, triplet_margin=args.margin, center_weight=args.center_weight,
        l2=args.weight_decay, normalize=IMAGENET_MEAN_STD if args.preset else "adapt",
        backbone_options=backbone_options, head_options=head_options, name="reid_model")


def test_metrics(model, splits, args, batch_size=128):
    """The dataset's query/gallery protocol: one embedding per image (and per flipped image with --flip-test),
    both AP variants, optional re-ranking. Returns {row name: evaluate_rank dict with the protocol fields}."""
    import zoo.data
    import zoo.metrics

    def embed(split, flip):
        ds = zoo.data.reid_dataset(split[0], training=False, image_size=tuple(args.image_size), batch_size=batch_size)
        return model.embed(ds, flip=flip)

    rows = {}
    for flip in (False, True) if args.flip_test else (False,):
        qf, gf = embed(splits.query, flip), embed(splits.gallery, flip)
        base = {"feature": model.feature, "flip": flip, "query_expansion": False}
        for ap in zoo.metrics.AP_VARIANTS:
            res = zoo.metrics.evaluate_rank(None, splits.query[1], splits.gallery[1], splits.query[2],
                                            splits.gallery[2], ap=ap, query_features=qf, gallery_features=gf,
                                            geometry=model.geometry)
            rows[f"{'flip' if flip else 'plain'}-{ap}"] = {**res, **base, "re_ranking": False}
        if args.rerank:
            d = zoo.metrics.re_ranking(None, None, None, query_features=qf, gallery_features=gf,
                                       geometry=model.geometry)
            res = zoo.metrics.evaluate_rank(d, splits.query[1], splits.gallery[1], splits.query[2], splits.gallery[2])
            rows[f"{'flip' if flip else 'plain'}-rerank"] = {**res, **base, "re_ranking": {"k1": 20, "k2": 6,
                                                                                            "lambda_value": 0.3}}
    return rows


def _json_row(res):
    return {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in res.items() if not k.endswith("_per_query")}


def train(args):
    """One run; returns the summary dict (also written to metrics.json).

    With --distribute data_parallel the run is inside `zoo.distribute.data_parallel` (`common.distribution`);
    P·K must be a multiple of the device count (on TensorFlow P too: each replica's losses see whole identities).
    """
    with common.distribution(args, "recipes.reid") as dist:
        return _train(args, dist)


def _train(args, dist):
    import keras
    import numpy as np

    import zoo.callbacks
    import zoo.data

    args = arm_settings(args)
    dist.check_pk(args.p, args.k)
    keras.utils.set_random_seed(args.seed)
    splits = load_splits(args)
    print(f"[reid] {args.dataset}{' (SYNTHETIC)' if args.dataset == 'synthetic' else ''}:\n{splits.summary()}")
    fit_splits = splits.validation(num_ids=args.val_ids, seed=args.seed) if args.val_ids else splits
    train_split = fit_splits.train
    if args.limit_train_ids:
        train_split = _first_ids(train_split, args.limit_train_ids)
    num_classes = int(train_split[1].max()) + 1
    run = (f"{args.dataset}-{args.arm}-{args.head}-{args.dim or 'pool'}"
           f"{'-c' + format(args.c, 'g') if args.head == 'poincare' else ''}-{keras.backend.backend()}")
    out = args.out or os.path.join("runs", "reid", run)
    os.makedirs(out, exist_ok=True)
    model = build_model(args, num_classes)
    if not args.preset:  # normalisation statistics of the training images (a sample, unaugmented)
        rng = np.random.default_rng(args.seed)
        sample = rng.choice(len(train_split[0]), size=min(2000, len(train_split[0])), replace=False)
        model.adapt(zoo.data.reid_dataset(train_split[0][np.sort(sample)], training=False,
                                          image_size=tuple(args.image_size)))
    model.compile(optimizer=keras.optimizers.Adam(args.lr))
    train_ds = zoo.data.reid_dataset(train_split[0], train_split[1], training=True, image_size=tuple(args.image_size),
                                     p=args.p, k=args.k, seed=args.seed, erasing=args.erasing, pad=args.pad)
    timer = common.epoch_timer()
    progress = common.RunProgress(out, resume=args.resume)
    callbacks = [keras.callbacks.LearningRateScheduler(lr_schedule(args.lr, args.warmup, args.steps)), timer]
    best_path = os.path.join(out, "best.weights.h5")
    if args.val_ids:
        callbacks += [zoo.callbacks.ReIDEvaluation(fit_splits.query, fit_splits.gallery, every_n_epochs=args.eval_every,
                                                   verbose=1),
                      zoo.callbacks.AtomicModelCheckpoint(best_path, monitor="val_mAP", mode="max",
                                                          save_best_only=True, save_weights_only=True,
                                                          initial_value_threshold=progress.best("val_mAP"))]
    callbacks += progress.callbacks() + [keras.callbacks.TensorBoard(os.path.join(out, "logs"))]
    print(f"[reid] {run}: {len(train_split[0])} train images of {num_classes} identities, P x K = {args.p} x {args.k}, "
          f"{model.count_params():,} parameters, feature dim {model.embedding_dim}, distance "
          f"{model.geometry.get_config()}")
    partial = {"run": run, "epochs": args.epochs, "synthetic": args.dataset == "synthetic",
               "distribute": dist.summary()}
    try:
        model.fit(train_ds, epochs=args.epochs, initial_epoch=progress.initial_epoch, callbacks=callbacks,
                  verbose=args.verbose)
    except KeyboardInterrupt:
        progress.interrupted(partial, "reid")
        raise
    history = progress.finished_epochs()
    selection = {}
    if args.val_ids and history.get("val_mAP"):
        maps = [float(v) for v in history["val_mAP"]]
        model.load_weights(best_path)
        selection = {"val_ids": int(args.val_ids), "val_mAP": maps,
                     "val_rank1": [float(v) for v in history.get("val_rank1", [])],
                     "selected_epoch": int(np.argmax(maps) + 1) * args.eval_every, "selected_on": "val_mAP"}
    rows = test_metrics(model, splits, args, batch_size=dist.eval_batch(128))
    model_path = os.path.join(out, "model.keras")
    model.save(model_path)
    main_row = rows["plain-non_interpolated"]
    summary = {
        "run": run, "task": "reid", "dataset": args.dataset, "synthetic": args.dataset == "synthetic",
        "args": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()},
        "splits": {name: {"images": int(len(s[0])), "ids": int(len(np.unique(s[1])))}
                   for name, s in (("train", train_split), ("query", splits.query), ("gallery", splits.gallery))},
        "rank1": main_row["rank1"], "rank5": main_row["rank5"], "rank10": main_row["rank10"],
        "mAP": main_row["mAP"], "mINP": main_row["mINP"], "mAP_market": rows["plain-market"]["mAP"],
        "num_valid_queries": main_row["num_valid_queries"], "distance": main_row["distance"],
        "protocol": {name: _json_row(res) for name, res in rows.items()},
        "loss_history": [float(v) for v in history.get("loss", [])],
        "epoch_seconds": [round(t, 2) for t in timer.times], "model_path": model_path, "status": "complete",
        "distribute": dist.summary(), **selection,
    }
    if args.head == "poincare":
        summary["c"] = float(keras.ops.convert_to_numpy(model.head.curvature))
    common.write_summary(out, summary)
    progress.finish()
    tag = " (SYNTHETIC data)" if summary["synthetic"] else ""
    print(f"[reid] {run}{tag}: rank-1 {100 * summary['rank1']:.2f}, mAP {100 * summary['mAP']:.2f} "
          f"(Market AP {100 * summary['mAP_market']:.2f}), mINP {100 * summary['mINP']:.2f}, "
          f"{summary['num_valid_queries']} valid queries")
    return summary


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    common.select_backend(argv)
    return train(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
