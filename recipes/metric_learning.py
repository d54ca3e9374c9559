"""Metric learning with the exponential triplet loss (or L_std / contrastive), and the poster's ablation.

One `zoo.models.EmbeddingModel`: raw images -> preprocessing (the training split's mean/std, saved with the
model) -> backbone -> tanh -> embedding space (`--space`: the exponential-triplet maps of
`zoo.layers.EmbeddingSpace`, or "sphere" / "poincare") -> the metric loss; with --class-coef > 0 the class
term L_class (BatchNorm -> Dense(K) -> CE) inside the model. `model.fit(x, y, p=P, k=K)` trains on PK
batches of raw images (P classes x K samples per batch; the reference: 11 x 3 = 33).

    L = L_exp + C_center·L_center + C_class·L_class      (L_class = CE / K, as the reference averages over B×K)

After training it embeds the test and training splits and reports (metrics.json, TensorBoard):
nearest-centroid accuracy with train centroids (clean) and with test centroids (the reference's
transductive protocol, `centroid_acc_transductive`), the reference's "range" accuracy likewise (`range_accuracy`,
`range_accuracy_transductive`: a class votes for a sample inside its largest own-sample distance to the centroid,
argmax of the normalised votes; `zoo.metrics.verification`), its equal error rate (`test_eer`,
`test_eer_transductive`), and recall@1 of test queries against the training gallery (`zoo.metrics.retrieval`),
all in the model's geometry. The EER's score is the reference's: its `test_eer` is computed from the ROC of the
range classifier's top normalised vote (1/number of voting classes, 0 with none) against the correctness of its
argmax (main.py: the `auc_range` meter fed `max(predicted)` and `argmax == y`), not from the class head's softmax
(used in training only). --filter selects the reference's sample filters of L_exp, --maxout POOL its Maxout
embedding head (BatchNorm -> MaxoutDense(d, POOL) before the tanh; the reference: 16). The saved model.keras
takes raw images (`keras.saving.load_model(path).evaluate_retrieval(x_test, y_test, x_train, y_train)`).

Usage:
    python -m recipes.metric_learning                                   # L_exp + center + class, F-MNIST
    python -m recipes.metric_learning --loss std --center-coef 0 --class-coef 1 --backend jax
    python -m recipes.metric_learning --ablation --epochs 3             # the 8 rows of the poster's table
    python -m recipes.metric_learning --filter hard --maxout 16         # the reference's filter and Maxout head
    python -m recipes.metric_learning --dataset digits --epochs 5 --p 10 --k 4
    python -m recipes.metric_learning --backend jax --distribute data_parallel --devices 2    # P·K = 30 on 2 devices
    python -m recipes.metric_learning --dataset cifar10 --data-dir ~/tensorflow_datasets --backbone resnet20 \
        --space poincare --c 0.1 --loss std --val-split 0.1
    python -m recipes.metric_learning --dataset path/to/folder --image-size 64 --val-split 0.1

Data: `--dataset` is fashion_mnist, digits, any tensorflow_datasets name (prepared in --data-dir; downloaded only
with --download) or a folder of class subfolders (`recipes/common.py`'s `dataset_parser`); --val-split holds out a
share of every training class, and the epoch with the best validation recall@1 is restored before the test
evaluation.
"""

import argparse
import json
import os
import sys

from recipes import common

DATASETS = common.DATASETS
LOSSES = ("exp", "std", "contrastive")
ABLATION = [("std", 0.0, 0.0), ("std", 0.0, 1.0), ("std", 1.0, 0.0), ("std", 1.0, 1.0),
            ("exp", 0.0, 0.0), ("exp", 0.0, 1.0), ("exp", 1.0, 0.0), ("exp", 1.0, 1.0)]


def build_parser():
    p = argparse.ArgumentParser(prog="python -m recipes.metric_learning",
                                description="Metric learning (exponential triplet loss) on PK batches.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                parents=[common.base_parser(epochs=5, verbose=2, out_help="output folder (default "
                                                            "runs/metric_learning/<run name>)"),
                                         common.dataset_parser(), common.resume_parser(),
                                         common.distribute_parser()])
    p.add_argument("--backbone", default="lenet")
    p.add_argument("--embedding-dim", "--dim", dest="embedding_dim", type=int, default=128)
    p.add_argument("--loss", default="exp", choices=LOSSES)
    p.add_argument("--space", default="unit_ball",
                   choices=("l2", "unit_ball", "unit_bounce", "none", "sphere", "poincare"))
    p.add_argument("--c", type=float, default=1.0, help="curvature of --space poincare (ball radius 1/sqrt(c))")
    p.add_argument("--train-c", action="store_true", help="learn the curvature of --space poincare")
    p.add_argument("--bounce", default="limit", choices=("limit", "periodic", "squared"))
    p.add_argument("--scale", type=float, default=1.0, help="c_s of the embedding space")
    p.add_argument("--no-tanh", action="store_true", help="skip the tanh before the embedding space")
    p.add_argument("--distance", default=None, choices=("euclidean", "cosine"),
                   help="distance of the loss and the evaluation (default: the space's own: euclidean, cosine for "
                        "sphere, the ball's for poincare)")
    p.add_argument("--overlap", type=float, default=1.2, help="overlap_coef: c_n = overlap / K")
    p.add_argument("--margin", type=float, default=0.2, help="margin of --loss std / contrastive")
    p.add_argument("--mining", default="batch_hard", choices=("batch_hard", "batch_all", "semi_hard"))
    p.add_argument("--filter", default="none", choices=("none", "hard", "semi_hard", "abs_margin"),
                   help="sample filter of --loss exp (the reference's filter_samples; L_exp rows only)")
    p.add_argument("--maxout", type=int, default=0, metavar="POOL",
                   help="Maxout embedding head with POOL pieces per unit (0: off; the reference: 16)")
    p.add_argument("--center-coef", type=float, default=1.0, help="C_center")
    p.add_argument("--class-coef", type=float, default=1.0, help="C_class (0: single-output model)")
    p.add_argument("--p", type=int, default=10,
                   help="classes per batch (distinct; the reference cycles 11 groups over 10 classes)")
    p.add_argument("--k", type=int, default=3, help="samples per class in a batch")
    p.add_argument("--anchor-stride", type=int, default=None,
                   help="every s-th sample is an anchor (default K: one anchor per group, as the reference)")
    p.add_argument("--eval-every", type=int, default=0,
                   help="also run zoo.callbacks.RetrievalEvaluation every N epochs (0: only at the end)")
    p.add_argument("--ablation", action="store_true",
                   help="run the 8 rows (L_std / L_exp x {-, +class, +center, +both}) and write ablation.md")
    p.add_argument("--rows", default="all", choices=("all", "std", "exp"),
                   help="with --ablation: all 8 rows, or only the L_std / L_exp rows")
    return p


def load_data(args):
    """(x_train, y_train), (x_test, y_test) of --dataset (a name, a tfds name or a folder; `common.load_dataset`),
    uint8 images and int labels, cut to --train-limit / --test-limit."""
    data = common.load_dataset(args)
    return data.train, data.test


def dataset_tag(name):
    """A file-name-safe short name of --dataset (a folder path becomes its last component)."""
    return os.path.basename(os.path.normpath(str(name))) or "dataset"


def distance_of(args):
    """The distance of the loss and of the evaluation: --distance, or the space's own when not given."""
    from zoo.models.embedding_model import DISTANCES

    return args.distance or DISTANCES[args.space][0]


def loss_config(args, num_classes):
    """(EmbeddingModel `loss` name, `loss_options`) of --loss with this run's settings."""
    stride = args.k if args.anchor_stride is None else args.anchor_stride
    c_n = args.overlap / num_classes
    if args.loss == "exp":
        options = {"overlap_coef": args.overlap, "center_weight": args.center_coef, "anchor_stride": stride}
        if getattr(args, "filter", "none") != "none":
            options["sample_filter"] = args.filter
        return "exp", options
    if args.loss == "std":
        return "triplet", {"margin": args.margin, "mining": args.mining, "anchor_stride": stride,
                           "center_weight": args.center_coef, "center_margin": c_n / 2}
    return "contrastive", {"margin": args.margin}


def build_model(args, num_classes, input_shape, normalize):
    """`zoo.models.EmbeddingModel`: backbone -> tanh -> embedding space, the metric loss of --loss, and the
    class term (BatchNorm -> Dense(K) -> CE · C_class / K) inside the model when --class-coef > 0."""
    import zoo.models.embedding_model

    loss, options = loss_config(args, num_classes)
    ball = args.space == "poincare"
    return zoo.models.embedding_model.EmbeddingModel(
        args.backbone, space=args.space, input_shape=input_shape, embedding_dim=args.embedding_dim,
        c=args.c if ball else None, train_c=args.train_c if ball else False, loss=loss, loss_options=options,
        distance=distance_of(args), scale=args.scale, bounce=args.bounce,
        activation=None if args.no_tanh else "tanh", num_classes=num_classes, class_coef=args.class_coef,
        normalize=normalize, image_size=common.model_image_size(args), maxout_pool=getattr(args, "maxout", 0),
        name="metric_learner")


def variant(args):
    """The run-name suffix of the non-default --filter (L_exp only) and --maxout ("" for neither)."""
    out = f"-{args.filter}" if args.loss == "exp" and getattr(args, "filter", "none") != "none" else ""
    return out + (f"-maxout{args.maxout}" if getattr(args, "maxout", 0) else "")


def row_name(loss, center, cls):
    name = "L_exp" if loss == "exp" else ("L_std" if loss == "std" else "L_contrastive")
    return name + ("+L_center" if center else "") + ("+L_class" if cls else "")


def retrieval_callback(args, queries, gallery, geometry, every=None, prefix="val_"):
    """`zoo.callbacks.RetrievalEvaluation` every --eval-every epochs (or `every`), with the recipe's evaluation
    protocol (raw query images against the raw training gallery; the model embeds them)."""
    import zoo.callbacks

    return zoo.callbacks.RetrievalEvaluation(queries, gallery=gallery, ks=(1,), geometry=geometry, map_at_r=False,
                                             every_n_epochs=args.eval_every if every is None else every,
                                             normalize_centroids=args.space == "l2", prefix=prefix)


def _finite_or_none(value):
    """A float for metrics.json, None for NaN (the EER when every test prediction is right or every one wrong)."""
    value = float(value)
    return None if value != value else value


def evaluate(emb_te, yte, emb_tr, ytr, args, geometry=None):
    """Nearest-centroid and range accuracy and the range classifier's EER (train and test centroids), and recall@1
    of test embeddings vs the train split.

    `geometry` is the model's (`EmbeddingModel.geometry`); None: "cosine" for --distance cosine, else
    "euclidean". In the `l2` space (unit-length embeddings, Euclidean distance) the class centroids are
    renormalised to unit length, as the exponential-triplet reference does.
    """
    import zoo.metrics
    from zoo.metrics import verification

    if geometry is None:
        geometry = "cosine" if args.distance == "cosine" else "euclidean"
    renorm = args.space == "l2"
    clean = verification.range_scores(emb_te, yte, emb_tr, ytr, geometry, normalize_centroids=renorm)
    transductive = verification.range_scores(emb_te, yte, geometry=geometry, normalize_centroids=renorm)
    return {
        "range_accuracy": float(clean[1].mean()),
        "range_accuracy_transductive": float(transductive[1].mean()),
        "test_eer": _finite_or_none(verification.equal_error_rate(*clean)),
        "test_eer_transductive": _finite_or_none(verification.equal_error_rate(*transductive)),
        "centroid_acc": zoo.metrics.nearest_centroid_accuracy(emb_te, yte, emb_tr, ytr, geometry,
                                                              normalize_centroids=renorm),
        "centroid_acc_transductive": zoo.metrics.nearest_centroid_accuracy(emb_te, yte, geometry=geometry,
                                                                           normalize_centroids=renorm),
        "recall@1": zoo.metrics.recall_at_k(emb_te, yte, emb_tr, ytr, k=1, geometry=geometry),
    }


def train(args):
    """Run one configuration; returns the summary dict (also written to metrics.json).

    With --val-split a stratified share of the training classes' images is held out: every epoch its recall@1
    against the training gallery is measured, and the best epoch's weights are restored before the single
    test evaluation (the test split selects nothing). With --distribute data_parallel the run is inside
    `zoo.distribute.data_parallel` (`common.distribution`); P·K must be a multiple of the device count.
    """
    with common.distribution(args, "recipes.metric_learning") as dist:
        return _train(args, dist)


def _train(args, dist):
    import keras
    import numpy as np

    import zoo.callbacks

    dist.check_pk(args.p, args.k)
    eval_batch = dist.eval_batch(512)
    keras.utils.set_random_seed(args.seed)
    run = f"{dataset_tag(args.dataset)}-{row_name(args.loss, args.center_coef, args.class_coef)}{variant(args)}-" \
          f"{args.space}-{distance_of(args)}-{keras.backend.backend()}"
    out = args.out or os.path.join("runs", "metric_learning", run)
    os.makedirs(out, exist_ok=True)
    (xtr, ytr), (xte, yte) = load_data(args)
    if args.val_split and not 0.0 < args.val_split < 1.0:
        raise ValueError(f"--val-split must be in (0, 1) (or 0 for none); got {args.val_split}.")
    (xtr, ytr), val = common.split_validation(xtr, ytr, args.val_split, args.seed)
    num_classes = int(max(ytr.max(), yte.max()) + 1)
    model = build_model(args, num_classes, tuple(xtr.shape[1:]), common.mean_std(xtr))
    model.compile(optimizer=keras.optimizers.Adam(args.lr))
    geometry = model.geometry

    timer = common.epoch_timer()
    progress = common.RunProgress(out, resume=args.resume)  # latest epoch checkpointed; --resume continues
    callbacks = [timer] + progress.callbacks() + [keras.callbacks.TensorBoard(os.path.join(out, "logs"))]
    if args.eval_every:
        callbacks.insert(0, retrieval_callback(args, (xte, yte), (xtr, ytr), geometry, prefix="test_"))
    best_path = os.path.join(out, "best.weights.h5")
    if val is not None:
        callbacks[:0] = [retrieval_callback(args, val, (xtr, ytr), geometry, every=1),
                         zoo.callbacks.AtomicModelCheckpoint(best_path, monitor="val_recall_at_1", mode="max",
                                                         save_best_only=True, save_weights_only=True,
                                                         initial_value_threshold=progress.best("val_recall_at_1"))]
    print(f"[metric_learning] {run}: {len(xtr)} train / {0 if val is None else len(val[0])} validation / "
          f"{len(xte)} test images, P x K = {args.p} x {args.k}, {model.count_params():,} parameters")
    partial = {"run": run, "row": row_name(args.loss, args.center_coef, args.class_coef), "epochs": args.epochs,
               "distribute": dist.summary()}
    try:
        model.fit(xtr, ytr, p=args.p, k=args.k, seed=args.seed, epochs=args.epochs, callbacks=callbacks,
                            verbose=args.verbose)
    except KeyboardInterrupt:
        progress.interrupted(partial, "metric_learning")
        raise
    full_history = progress.finished_epochs()
    selection = {}
    if val is not None:
        recalls = [float(v) for v in full_history["val_recall_at_1"]]
        model.load_weights(best_path)
        selection = {"val_images": int(len(val[0])), "val_recall@1": recalls,
                     "selected_epoch": int(np.argmax(recalls)) + 1,
                     "restored_val_recall@1": model.evaluate_retrieval(val[0], val[1], xtr, ytr, ks=(1,),
                                                                       map_at_r=False, mean_ap=False)["recall@1"]}

    result = evaluate(model.embed(xte, batch_size=eval_batch), yte, model.embed(xtr, batch_size=eval_batch), ytr, args,
                      geometry=model.geometry)
    model_path = os.path.join(out, "model.keras")
    model.save(model_path)
    summary = {
        "run": run, "row": row_name(args.loss, args.center_coef, args.class_coef),
        "args": {k: v for k, v in vars(args).items() if k != "ablation"},
        "train_images": int(len(xtr)), "test_images": int(len(xte)),
        "loss_history": [float(v) for v in full_history["loss"]], "status": "complete",
        "epoch_seconds": [round(t, 2) for t in timer.times], "model_path": model_path, **result, **selection,
        "distribute": dist.summary(),
    }
    if args.space == "poincare":
        summary["c"] = model.curvature
    common.write_summary(out, summary)
    progress.finish()
    print(f"[metric_learning] {summary['row']}: centroid acc {result['centroid_acc']:.4f} (train centroids), "
          f"{result['centroid_acc_transductive']:.4f} (test centroids), range acc {result['range_accuracy']:.4f} / "
          f"{result['range_accuracy_transductive']:.4f}, test EER {_fmt(result['test_eer'])} / "
          f"{_fmt(result['test_eer_transductive'])}, recall@1 {result['recall@1']:.4f}")
    return summary


def _fmt(value, scale=1.0, digits=4):
    """A metric for the printed summary and tables ("n/a" for None)."""
    return "n/a" if value is None else f"{scale * value:.{digits}f}"


def ablation(args):
    """The 8 rows of the poster's table with this run's settings; writes ablation.json and ablation.md."""
    out = args.out or os.path.join("runs", "metric_learning", f"ablation-{dataset_tag(args.dataset)}")
    os.makedirs(out, exist_ok=True)
    rows = []
    for loss, center, cls in ABLATION:
        if args.rows != "all" and loss != args.rows:
            continue
        run_args = argparse.Namespace(**{**vars(args), "loss": loss, "center_coef": center, "class_coef": cls,
                                         "out": os.path.join(out, row_name(loss, center, cls).replace("+", "_"))})
        s = train(run_args)
        rows.append({k: s[k] for k in ("row", "centroid_acc", "centroid_acc_transductive", "range_accuracy",
                                        "range_accuracy_transductive", "test_eer", "test_eer_transductive", "recall@1",
                                        "epoch_seconds", "loss_history")})
    lines = ["| loss | centroid acc (train centroids) | centroid acc (test centroids, reference protocol) "
             "| recall@1 | range acc (train / test centroids) | test EER (train / test centroids) |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['row']} | {100 * r['centroid_acc']:.1f} | {100 * r['centroid_acc_transductive']:.1f} | "
              f"{100 * r['recall@1']:.1f} | {_fmt(r['range_accuracy'], 100, 1)} / "
              f"{_fmt(r['range_accuracy_transductive'], 100, 1)} | {_fmt(r['test_eer'], 100, 1)} / "
              f"{_fmt(r['test_eer_transductive'], 100, 1)} |" for r in rows]
    common.write_text(os.path.join(out, "ablation.json"),
                      json.dumps({"args": vars(args), "rows": rows}, indent=1, default=str))
    common.write_text(os.path.join(out, "ablation.md"), "\n".join(lines) + "\n")
    print("\n".join(lines))
    return rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    common.select_backend(argv)
    args = build_parser().parse_args(argv)
    return ablation(args) if args.ablation else train(args)


if __name__ == "__main__":
    main()
