"""Metric learning with the exponential triplet loss (or L_std / contrastive), and the poster's ablation.

backbone -> tanh -> zoo.layers.EmbeddingSpace -> "embedding" output (metric loss) and, with
--class-coef > 0, BatchNorm -> Dense(K) -> "logits" output (the class term L_class): a two-output
model trained on `zoo.data.pk_batches` (P classes x K samples per batch; the reference: 11 x 3 = 33).

    L = L_exp + C_center·L_center + C_class·L_class      (L_class = CE / K, as the reference averages over B×K)

After training it embeds the test and training splits and reports (metrics.json, TensorBoard):
nearest-centroid accuracy with train centroids (clean) and with test centroids (the reference's
transductive protocol, `centroid_acc_transductive`), and recall@1 of test queries against the
training gallery (`zoo.metrics.retrieval`).

Usage:
    python -m recipes.metric_learning                                   # L_exp + center + class, F-MNIST
    python -m recipes.metric_learning --loss std --center-coef 0 --class-coef 1 --backend jax
    python -m recipes.metric_learning --ablation --epochs 3             # the 8 rows of the poster's table
    python -m recipes.metric_learning --dataset digits --epochs 5 --p 10 --k 4
"""

import argparse
import json
import os
import sys

from recipes import common

DATASETS = ("fashion_mnist", "digits")
LOSSES = ("exp", "std", "contrastive")
ABLATION = [("std", 0.0, 0.0), ("std", 0.0, 1.0), ("std", 1.0, 0.0), ("std", 1.0, 1.0),
            ("exp", 0.0, 0.0), ("exp", 0.0, 1.0), ("exp", 1.0, 0.0), ("exp", 1.0, 1.0)]


def build_parser():
    p = argparse.ArgumentParser(prog="python -m recipes.metric_learning",
                                description="Metric learning (exponential triplet loss) on PK batches.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                parents=[common.base_parser(epochs=5, verbose=2, out_help="output folder (default "
                                                            "runs/metric_learning/<run name>)")])
    p.add_argument("--dataset", default="fashion_mnist", choices=DATASETS)
    p.add_argument("--backbone", default="lenet")
    p.add_argument("--embedding-dim", "--dim", dest="embedding_dim", type=int, default=128)
    p.add_argument("--loss", default="exp", choices=LOSSES)
    p.add_argument("--space", default="unit_ball", choices=("l2", "unit_ball", "unit_bounce", "none"))
    p.add_argument("--bounce", default="limit", choices=("limit", "periodic", "squared"))
    p.add_argument("--scale", type=float, default=1.0, help="c_s of the embedding space")
    p.add_argument("--no-tanh", action="store_true", help="skip the tanh before the embedding space")
    p.add_argument("--distance", default="euclidean", choices=("euclidean", "cosine"))
    p.add_argument("--overlap", type=float, default=1.2, help="overlap_coef: c_n = overlap / K")
    p.add_argument("--margin", type=float, default=0.2, help="margin of --loss std / contrastive")
    p.add_argument("--mining", default="batch_hard", choices=("batch_hard", "batch_all", "semi_hard"))
    p.add_argument("--center-coef", type=float, default=1.0, help="C_center")
    p.add_argument("--class-coef", type=float, default=1.0, help="C_class (0: single-output model)")
    p.add_argument("--p", type=int, default=10,
                   help="classes per batch (distinct; the reference cycles 11 groups over 10 classes)")
    p.add_argument("--k", type=int, default=3, help="samples per class in a batch")
    p.add_argument("--anchor-stride", type=int, default=None,
                   help="every s-th sample is an anchor (default K: one anchor per group, as the reference)")
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    p.add_argument("--test-limit", type=int, default=None, help="evaluate on the first N test images")
    p.add_argument("--eval-every", type=int, default=0,
                   help="also run zoo.callbacks.RetrievalEvaluation every N epochs (0: only at the end)")
    p.add_argument("--ablation", action="store_true",
                   help="run the 8 rows (L_std / L_exp x {-, +class, +center, +both}) and write ablation.md")
    p.add_argument("--rows", default="all", choices=("all", "std", "exp"),
                   help="with --ablation: all 8 rows, or only the L_std / L_exp rows")
    return p


def load_data(args):
    """(x_train, y_train), (x_test, y_test) of --dataset, cut to --train-limit / --test-limit."""
    return common.load_data(args.dataset, args.train_limit, args.test_limit)


def build_model(backbone, num_classes, args):
    """Functional model image -> {"embedding"} or {"embedding", "logits"} (the class-term pattern)."""
    import keras

    import zoo.layers

    image = keras.Input(shape=backbone.input_shape[1:], name="image")
    h = backbone(image)
    if not args.no_tanh:
        h = keras.layers.Activation("tanh")(h)
    emb = zoo.layers.EmbeddingSpace(args.space, scale=args.scale, bounce=args.bounce, name="embedding")(h)
    outputs = {"embedding": emb}
    if args.class_coef > 0:
        z = keras.layers.BatchNormalization(name="class_bn")(emb)
        outputs["logits"] = keras.layers.Dense(num_classes, name="logits")(z)
    return keras.Model(image, outputs, name="metric_learner")


def metric_loss(args, num_classes):
    import zoo.losses

    stride = args.k if args.anchor_stride is None else args.anchor_stride
    c_n = args.overlap / num_classes
    if args.loss == "exp":
        return zoo.losses.ExponentialTripletLoss(num_classes, args.overlap, args.distance, embedding_scale=args.scale,
                                                 center_weight=args.center_coef, anchor_stride=stride)
    if args.loss == "std":
        return zoo.losses.TripletLoss(args.margin, args.mining, args.distance, anchor_stride=stride,
                                      center_weight=args.center_coef, center_margin=c_n / 2)
    return zoo.losses.ContrastiveLoss(args.margin, args.distance)


def row_name(loss, center, cls):
    name = "L_exp" if loss == "exp" else ("L_std" if loss == "std" else "L_contrastive")
    return name + ("+L_center" if center else "") + ("+L_class" if cls else "")


def compile_model(model, args, num_classes):
    """Compile with the metric loss (and the class term L_class = CE / K); returns the output names."""
    import keras

    losses = {"embedding": metric_loss(args, num_classes)}
    weights = {"embedding": 1.0}
    if args.class_coef > 0:
        losses["logits"] = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        weights["logits"] = args.class_coef / num_classes   # the reference's CE averaged over B x K
    model.compile(optimizer=keras.optimizers.Adam(args.lr), loss=losses, loss_weights=weights)
    return list(losses)


def retrieval_callback(args, test, gallery):
    """`zoo.callbacks.RetrievalEvaluation` every --eval-every epochs, with the recipe's evaluation protocol."""
    import zoo.callbacks

    geometry = "cosine" if args.distance == "cosine" else "euclidean"
    return zoo.callbacks.RetrievalEvaluation(test, gallery=gallery, ks=(1,), geometry=geometry, output="embedding",
                                             map_at_r=False, every_n_epochs=args.eval_every,
                                             normalize_centroids=args.space == "l2")


def evaluate(emb_te, yte, emb_tr, ytr, args):
    """Nearest-centroid accuracy (train and test centroids) and recall@1 of test embeddings vs the train split.

    In the `l2` space (unit-length embeddings, Euclidean distance) the class centroids are renormalised to
    unit length, as the exponential-triplet reference does.
    """
    import zoo.metrics

    geometry = "cosine" if args.distance == "cosine" else "euclidean"
    renorm = args.space == "l2"
    return {
        "centroid_acc": zoo.metrics.nearest_centroid_accuracy(emb_te, yte, emb_tr, ytr, geometry,
                                                              normalize_centroids=renorm),
        "centroid_acc_transductive": zoo.metrics.nearest_centroid_accuracy(emb_te, yte, geometry=geometry,
                                                                           normalize_centroids=renorm),
        "recall@1": zoo.metrics.recall_at_k(emb_te, yte, emb_tr, ytr, k=1, geometry=geometry),
    }


def train(args):
    """Run one configuration; returns the summary dict (also written to metrics.json)."""
    import keras
    import numpy as np

    import zoo.backbones
    import zoo.data

    keras.utils.set_random_seed(args.seed)
    run = f"{args.dataset}-{row_name(args.loss, args.center_coef, args.class_coef)}-{args.space}-" \
          f"{args.distance}-{keras.backend.backend()}"
    out = args.out or os.path.join("runs", "metric_learning", run)
    os.makedirs(out, exist_ok=True)
    (xtr, ytr), (xte, yte) = load_data(args)
    num_classes = int(max(ytr.max(), yte.max()) + 1)
    normalize = common.mean_std(xtr)
    input_shape = tuple(xtr.shape[1:]) + ((1,) if xtr.ndim == 3 else ())

    backbone = zoo.backbones.get(args.backbone, input_shape, args.embedding_dim)
    model = build_model(backbone, num_classes, args)
    names = compile_model(model, args, num_classes)

    train_ds = zoo.data.pk_batches(xtr, ytr, p=args.p, k=args.k, normalize=normalize, seed=args.seed)
    train_ds = train_ds.map(lambda x, y: (x, {n: y for n in names}))
    xte_f, xtr_f = common.float_images(xte, normalize), common.float_images(xtr, normalize)
    timer = common.epoch_timer()
    callbacks = [timer, keras.callbacks.TensorBoard(os.path.join(out, "logs"))]
    if args.eval_every:
        callbacks.insert(0, retrieval_callback(args, (xte_f, yte), (xtr_f, ytr)))
    print(f"[metric_learning] {run}: {len(xtr)} train / {len(xte)} test images, P x K = {args.p} x {args.k}, "
          f"{model.count_params():,} parameters")
    history = model.fit(train_ds, epochs=args.epochs, callbacks=callbacks, verbose=args.verbose, shuffle=False)

    def embed(x):
        return np.asarray(keras.ops.convert_to_numpy(model.predict(x, batch_size=512, verbose=0)["embedding"]))

    result = evaluate(embed(xte_f), yte, embed(xtr_f), ytr, args)
    model_path = os.path.join(out, "model.keras")
    model.save(model_path)
    summary = {
        "run": run, "row": row_name(args.loss, args.center_coef, args.class_coef),
        "args": {k: v for k, v in vars(args).items() if k != "ablation"},
        "train_images": int(len(xtr)), "test_images": int(len(xte)),
        "loss_history": [float(v) for v in history.history["loss"]],
        "epoch_seconds": [round(t, 2) for t in timer.times], "model_path": model_path, **result,
    }
    common.write_summary(out, summary)
    print(f"[metric_learning] {summary['row']}: centroid acc {result['centroid_acc']:.4f} (train centroids), "
          f"{result['centroid_acc_transductive']:.4f} (test centroids), recall@1 {result['recall@1']:.4f}")
    return summary


def ablation(args):
    """The 8 rows of the poster's table with this run's settings; writes ablation.json and ablation.md."""
    out = args.out or os.path.join("runs", "metric_learning", f"ablation-{args.dataset}")
    os.makedirs(out, exist_ok=True)
    rows = []
    for loss, center, cls in ABLATION:
        if args.rows != "all" and loss != args.rows:
            continue
        run_args = argparse.Namespace(**{**vars(args), "loss": loss, "center_coef": center, "class_coef": cls,
                                         "out": os.path.join(out, row_name(loss, center, cls).replace("+", "_"))})
        s = train(run_args)
        rows.append({k: s[k] for k in ("row", "centroid_acc", "centroid_acc_transductive", "recall@1",
                                        "epoch_seconds", "loss_history")})
    lines = ["| loss | centroid acc (train centroids) | centroid acc (test centroids, reference protocol) "
             "| recall@1 |", "|---|---|---|---|"]
    lines += [f"| {r['row']} | {100 * r['centroid_acc']:.1f} | {100 * r['centroid_acc_transductive']:.1f} | "
              f"{100 * r['recall@1']:.1f} |" for r in rows]
    with open(os.path.join(out, "ablation.json"), "w") as f:
        json.dump({"args": vars(args), "rows": rows}, f, indent=1, default=str)
    with open(os.path.join(out, "ablation.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    common.select_backend(argv)
    args = build_parser().parse_args(argv)
    return ablation(args) if args.ablation else train(args)


if __name__ == "__main__":
    main()
