"""Out-of-distribution detection by the hyperbolic distance to the origin (Khrulkov et al. 2020, §5).

Trains (or loads) the paper's MNIST model, LeNet -> dim -> ToPoincare -> HyperbolicMLR, as one
`zoo.models.ImageClassifier(head="poincare")` on Fashion-MNIST, embeds the Fashion-MNIST test set
(in-distribution) and an out-of-distribution set (scikit-learn's handwritten digits resized to 28x28) with
`model.embed` (points of the ball; the model normalises every raw image with its Fashion-MNIST statistics), and
scores every image by d_c(0, x). It writes:

* `metrics.json` (the run summary every recipe writes): test accuracy, AUROC and FPR at 95% TPR of the
  distance-to-origin detector (OOD = small distance), the same for the maximum softmax probability of the
  same model, and optionally of a Euclidean softmax baseline model (`--baseline-model`);
* `distance_histograms.png`: the two histograms of the distance to the origin (the paper's Fig. 5 right);
* `ood_disk.png` (dim 2): the disk with the test embeddings by class and the OOD digits;
* `model.keras` when it trained the model.

Usage:
    python -m recipes.hyperbolic_ood --dim 2 --c 1.0 --epochs 5
    python -m recipes.hyperbolic_ood --model runs/classification/<run>/model.keras --c 1.0
    python -m recipes.hyperbolic_ood --backend jax --distribute data_parallel --devices 2
    python -m recipes.hyperbolic_ood --help

The paper uses MNIST vs Omniglot; neither is available offline here, so the in-distribution set is
Fashion-MNIST and the OOD set the UCI digits bundled with scikit-learn.
"""

import argparse
import os
import sys

from recipes import common

#: Batch size of embedding and prediction.
EVAL_BATCH = 512


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m recipes.hyperbolic_ood",
        description="Fashion-MNIST vs digits OOD detection with the hyperbolic distance to the origin.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        parents=[common.base_parser(epochs=5, verbose=2,
                                    out_help="output folder (default runs/hyperbolic_ood/<run name>)"),
                 common.distribute_parser()],
    )
    p.add_argument("--model", default=None,
                   help="a trained .keras zoo.models.ImageClassifier with the 'poincare' head (skip training)")
    p.add_argument("--baseline-model", default=None,
                   help="optional Euclidean classifier (.keras task model taking raw images, e.g. from "
                        "recipes.classification) scored by max softmax probability")
    p.add_argument("--dim", "--embedding-dim", dest="dim", type=int, default=2)
    p.add_argument("--c", type=float, default=1.0, help="curvature (c > 0) of the ball")
    p.add_argument("--train-c", action="store_true", help="learn c (per layer, softplus)")
    p.add_argument("--no-riemannian", action="store_true", help="switch off the Riemannian gradient rescale")
    p.add_argument("--backbone", default="lenet")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--train-limit", type=common.positive_int, default=None, help="use only the first N training images")
    p.add_argument("--test-limit", type=common.positive_int, default=None, help="score only the first N test images")
    p.add_argument("--ood", default="digits", choices=("digits",), help="out-of-distribution set")
    p.add_argument("--ood-limit", type=int, default=None, help="score only the first N OOD images")
    return p


def find_poincare_head(model):
    """The poincare head layer (a `zoo.layers.PoincareClassifier`) of a task model."""
    from zoo.layers import PoincareClassifier

    head = getattr(model, "head", None)
    if isinstance(head, PoincareClassifier):
        return head
    raise ValueError(f"model {model.name!r} has no 'poincare' head: pass a zoo.models.ImageClassifier(..., "
                     f"head='poincare') (e.g. saved by this recipe or recipes.classification --head poincare); "
                     f"layers: {[layer.name for layer in model.layers]}")


def run(args):
    """Train or load, score, write metrics.json + PNGs; returns the summary dict.

    With --distribute data_parallel training and scoring run inside `zoo.distribute.data_parallel`
    (`common.distribution`); --batch-size must be a multiple of the device count.
    """
    if not (args.c > 0):
        raise ValueError(f"--c must be > 0; got {args.c}")
    with common.distribution(args, "recipes.hyperbolic_ood") as dist:
        return _run(args, dist)


def _run(args, dist):
    import keras

    if not args.model:
        dist.check_batch(args.batch_size, "--batch-size")
    keras.utils.set_random_seed(args.seed)
    run_name = f"fashion_mnist-vs-{args.ood}-{args.backbone}-poincare-d{args.dim}-c{args.c:g}-{keras.backend.backend()}"
    out = args.out or os.path.join("runs", "hyperbolic_ood", run_name)
    os.makedirs(out, exist_ok=True)

    (xtr, ytr), (xte, yte), xood = _data(args)
    model, model_path, history = _train_or_load(args, xtr, ytr, run_name, out, dist)
    scores = _score(args, model, xte, xood, yte, dist.eval_batch(EVAL_BATCH))
    # the model's own statistics (adapted from the training images; what every raw image is normalised with)
    normalize = [float(keras.ops.convert_to_numpy(v)[0]) for v in (model.preprocessor.mean, model.preprocessor.std)]
    hist_path, disk_path = _plots(scores, yte, out)
    report, c, accuracy = scores["report"], scores["c"], scores["accuracy"]
    summary = {
        "run": run_name, "model_path": model_path, "trained_here": history is not None,
        "dim": int(scores["ball_in"].shape[1]), "c": c, "c_init": args.c, "epochs": args.epochs if history else None,
        "train_images": int(len(xtr)), "test_images": int(len(xte)), "ood_images": int(len(xood)),
        "normalize": normalize, "test_accuracy": accuracy, "ood": report,
        "final_train_loss": float(history["loss"][-1]) if history else None,
        "histogram_png": hist_path, "disk_png": disk_path, "distribute": dist.summary(),
    }
    path = common.write_summary(out, summary)
    auroc, msp = report["distance_to_origin"]["auroc"], report["max_softmax_probability"]["auroc"]
    print(f"[hyperbolic_ood] test accuracy {accuracy:.4f}; OOD AUROC distance-to-origin {auroc:.4f}, "
          f"max-softmax {msp:.4f}; wrote {path} and {hist_path}")
    return summary


# -- the steps of `run` ------------------------------------------------------------------------------------
def _data(args):
    """Fashion-MNIST train/test (limited) and the OOD digits at 28x28 (uint8)."""
    import zoo.data

    (xtr, ytr), (xte, yte) = common.load_data("fashion_mnist", args.train_limit, args.test_limit)
    (xood, _), _ = zoo.data.digits(size=28, test_fraction=0.0, seed=args.seed)
    if args.ood_limit:
        xood = xood[: args.ood_limit]
    return (xtr, ytr), (xte, yte), xood


def _train_or_load(args, xtr, ytr, run_name, out, dist):
    """(model, its path, fit history or None): --model loads, else the poincare classifier is trained."""
    import keras

    import zoo.models

    if args.model:
        print(f"[hyperbolic_ood] loaded {args.model}")
        model = keras.saving.load_model(args.model, compile=False)
        find_poincare_head(model)
        return model, args.model, None
    model = zoo.models.ImageClassifier(args.backbone, head="poincare", num_classes=10, input_shape=(28, 28),
                                       embedding_dim=args.dim, c=args.c, riemannian=not args.no_riemannian,
                                       train_c=args.train_c)
    model.compile(optimizer=common.make_optimizer("adam", args.lr))
    model.adapt(xtr)
    train_ds = common.raw_image_dataset(xtr, ytr, args.batch_size, shuffle=True, seed=args.seed,
                                        drop_remainder=dist.parallel)
    print(f"[hyperbolic_ood] training {run_name}: {len(xtr)} images, {args.epochs} epochs")
    history = model.fit(train_ds, epochs=args.epochs, verbose=args.verbose, shuffle=False).history
    model_path = os.path.join(out, "model.keras")
    model.save(model_path)
    return model, model_path, history


def _score(args, model, x_in, x_out, yte, eval_batch=EVAL_BATCH):
    """Ball points, class scores, test accuracy and the OOD reports (distance to the origin, max softmax, baseline)
    of raw uint8 images."""
    import keras
    import numpy as np

    from zoo.metrics import distance_to_origin, max_softmax_probability, ood_report

    c = float(keras.ops.convert_to_numpy(find_poincare_head(model).curvature))
    ball_in = model.embed(x_in, batch_size=eval_batch)
    ball_out = model.embed(x_out, batch_size=eval_batch)
    logits_in = keras.ops.convert_to_numpy(model.predict(x_in, batch_size=eval_batch, verbose=0))
    logits_out = keras.ops.convert_to_numpy(model.predict(x_out, batch_size=eval_batch, verbose=0))
    d_in, d_out = distance_to_origin(ball_in, c), distance_to_origin(ball_out, c)
    report = {"distance_to_origin": ood_report(d_in, d_out),
              "max_softmax_probability": ood_report(max_softmax_probability(logits_in),
                                                    max_softmax_probability(logits_out))}
    if args.baseline_model:
        base = keras.saving.load_model(args.baseline_model, compile=False)
        bl_in = keras.ops.convert_to_numpy(base.predict(x_in, batch_size=eval_batch, verbose=0))
        bl_out = keras.ops.convert_to_numpy(base.predict(x_out, batch_size=eval_batch, verbose=0))
        report["baseline_max_softmax_probability"] = ood_report(max_softmax_probability(bl_in),
                                                                max_softmax_probability(bl_out))
        report["baseline_model"] = args.baseline_model
        report["baseline_test_accuracy"] = float(np.mean(np.argmax(bl_in, axis=1) == yte))
    return {"c": c, "ball_in": ball_in, "ball_out": ball_out, "d_in": d_in, "d_out": d_out, "report": report,
            "accuracy": float(np.mean(np.argmax(logits_in, axis=1) == yte))}


def _plots(scores, yte, out):
    """(histogram PNG, disk PNG or None at dim != 2)."""
    import numpy as np

    import zoo.data
    from zoo.viz.poincare import plot_disk, plot_distance_histograms

    c = scores["c"]
    hist_path = os.path.join(out, "distance_histograms.png")
    plot_distance_histograms(scores["d_in"], scores["d_out"], hist_path,
                             labels=("Fashion-MNIST test (in)", "digits 28x28 (OOD)"), c=c,
                             auroc=scores["report"]["distance_to_origin"]["auroc"])
    ball_in, ball_out = scores["ball_in"], scores["ball_out"]
    if ball_in.shape[1] != 2:
        return hist_path, None
    disk_path = os.path.join(out, "ood_disk.png")
    names = list(zoo.data.FASHION_MNIST_CLASSES) + ["digits (OOD)"]
    plot_disk(np.concatenate([ball_in, ball_out]), np.concatenate([yte, np.full(len(ball_out), 10)]), c=c,
              path=disk_path, class_names=names,
              title=f"Fashion-MNIST test and OOD digits on the Poincaré disk (c = {c:.4g})")
    return hist_path, disk_path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    common.select_backend(argv)
    args = build_parser().parse_args(argv)
    return run(args)


if __name__ == "__main__":
    main()
