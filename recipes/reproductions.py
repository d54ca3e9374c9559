"""The reproduction grids of the four seed papers, at a budget this project's 2-core CPU machine runs in hours.

Each grid (`GRIDS`) is a set of rows, each row one configuration of a recipe (or two chained recipes), run with
3 seeds by `python -m recipes.grid <name>` and turned into the markdown tables of `docs/results/` by
`python -m recipes.grid_tables <name>`. Every row selects its model on a validation split carved from the
training data (a share of the training images, or, for few-shot, whole training classes), and the test split is
evaluated once, with the selected model. The budgets are far below the papers' (backbones, epochs, data): each
grid's `budget` says what it is, and each table's caption repeats it.

- `hyperspherical`: HyperSpaceX (DistArc) ablation at d = 2, and softmax / ArcFace / CosFace / SphereFace /
  SphereFace2 / centre / DistArc at d = 2 and d = 128.
- `exp_triplet`: the exponential triplet loss poster's eight rows (L_std or L_exp, +centre, +class).
- `prototypes`: DL2PA balanced (d < C, d >= C) and long-tailed (rho = 0.01, 0.02) with head/medium/tail and ECE.
- `hyperbolic`: the hyperbolic MLR classifier at d = 2 and 64, c in {0.05, 1}, with and without the Riemannian
  gradient rescale, and OOD detection by the distance to the origin (Fashion-MNIST vs digits).
- `fewshot`: 1-shot and 5-shot ProtoNet on the Fashion-MNIST class split, Euclidean vs sphere vs Poincaré.
"""

from recipes._grid import Column, Grid, Row, Table

__all__ = ["GRIDS"]

#: Image-classification budget of the classification grids: LeNet on the first 12,000 Fashion-MNIST training
#: images, 10 % of them (stratified, per seed) held out for selecting the epoch; the full test set; `epochs` epochs
#: (10 for the hyperbolic grid, 6 for the two larger grids, which have 15-19 rows).
CLASSIFICATION = ["--dataset", "fashion_mnist", "--backbone", "lenet", "--train-limit", "12000", "--val-split", "0.1",
                  "--epochs", "10", "--batch-size", "128", "--lr", "1e-3", "--verbose", "0"]


def _budget(epochs):
    return (f"LeNet (zoo.backbones.lenet) trained from scratch on the first 12,000 Fashion-MNIST training images "
            f"(10,800 train / 1,200 validation, stratified per seed), {epochs} epochs, batch 128, Adam 1e-3; the epoch "
            f"with the best validation accuracy is restored and tested once on the full 10,000-image test set; seeds "
            f"0, 1, 2; TensorFlow backend")


def _classification(head, dim, *options, extra=(), epochs=6):
    argv = list(CLASSIFICATION) + ["--head", head, "--embedding-dim", str(dim)] + list(extra)
    argv[argv.index("--epochs") + 1] = str(epochs)
    for option in options:
        argv += ["--head-opt", option]
    return ("classification", tuple(argv))


def _slug(text):
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-").replace("--", "-")


# -- HyperSpaceX / DistArc ------------------------------------------------------------------------------------
_MARGIN_HEADS = [("softmax (CE)", "softmax", ()), ("ArcFace", "arcface", ()), ("CosFace", "cosface", ()),
                 ("SphereFace", "sphereface", ()), ("SphereFace2", "sphereface2", ()),
                 ("softmax + centre", "center", ()), ("DistArc (cos θ + cos φ + δ)", "distarc", ())]
_DISTARC_ABLATION = [("cos θ", ("lam=0", "use_cos_phi=False")), ("cos θ + cos φ", ("lam=0",)),
                     ("cos θ + δ", ("use_cos_phi=False",))]


def _hyperspherical_rows():
    rows = []
    for label, options in _DISTARC_ABLATION:  # the "all components" row is the DistArc row of the comparison at d=2
        rows.append(Row(f"ablation-{_slug(label)}", label, (_classification("distarc", 2, *options),), "ablation"))
    for dim in (2, 128):
        for label, head, options in _MARGIN_HEADS:
            key = f"{head}{'-code' if options else ''}-d{dim}"
            rows.append(Row(key, label, (_classification(head, dim, *options),), f"d = {dim}"))
    return tuple(rows)


_ACCURACY = Column("test accuracy %", "classification.test_accuracy")
_DISTARC_PREDICTIONS = (Column("nearest radial proxy %", "classification.test_accuracy_nearest_proxy"),
                        Column("code's Accuracy1 %", "classification.test_accuracy_accuracy1"),
                        Column("argmax cos θ %", "classification.test_accuracy_angular"))
_ECE = Column("ECE %", "classification.test_ece")
_EPOCH = Column("selected epoch", "classification.selected_epoch", scale=1.0, digits=1)

HYPERSPHERICAL = Grid(
    name="hyperspherical",
    title="HyperSpaceX (DistArc) and the hyperspherical margin heads on Fashion-MNIST",
    budget=_budget(6),
    rows=_hyperspherical_rows(),
    brief="LeNet from scratch, 10,800 Fashion-MNIST training images, 6 epochs, epoch selected on 1,200 validation "
          "images",
    tables=(
        Table("DistArc ablation at d = 2 (the poster's component rows; the last row is the full loss)",
              (_ACCURACY,) + _DISTARC_PREDICTIONS,
              rows=tuple(f"ablation-{_slug(label)}" for label, _ in _DISTARC_ABLATION) + ("distarc-d2",)),
        Table("Heads at d = 2", (_ACCURACY, _ECE, _EPOCH) + _DISTARC_PREDICTIONS[:1], groups=("d = 2",)),
        Table("Heads at d = 128", (_ACCURACY, _ECE, _EPOCH) + _DISTARC_PREDICTIONS[:1], groups=("d = 128",)),
    ),
    paper=("HyperSpaceX reports 93.69 (cos θ) / 93.72 (+cos φ) / 94.83 (+δ) / 95.04 (all) on Fashion-MNIST with a "
           "pretrained CLIP ViT-B/32 image encoder fine-tuned for 150 epochs, its best epoch picked on the test set. "
           "CLIP weights cannot be downloaded here, so these rows train a LeNet from scratch at a small budget."),
)

# -- exponential triplet loss -------------------------------------------------------------------------------
#: Metric-learning budget: LeNet, 12,000 images (10 % validation), PK batches of 10 classes x 3 images.
METRIC = ["--dataset", "fashion_mnist", "--backbone", "lenet", "--train-limit", "12000", "--val-split", "0.1",
          "--epochs", "5", "--p", "10", "--k", "3", "--verbose", "0"]
_TRIPLET_ROWS = [("L_std", "std", 0, 0), ("L_std + L_class", "std", 0, 1), ("L_std + L_center", "std", 1, 0),
                 ("L_std + L_center + L_class", "std", 1, 1), ("L_exp", "exp", 0, 0), ("L_exp + L_class", "exp", 0, 1),
                 ("L_exp + L_center", "exp", 1, 0), ("L_exp + L_center + L_class", "exp", 1, 1)]
_TRIPLET_ROWS = [row + ((),) for row in _TRIPLET_ROWS]

EXP_TRIPLET = Grid(
    name="exp_triplet",
    title="Exponential triplet loss: the poster's eight rows on Fashion-MNIST",
    budget=("LeNet (d = 128, tanh, unit-ball space, Euclidean distance) trained from scratch on the first 12,000 "
            "Fashion-MNIST training images (10,800 train / 1,200 validation), 5 epochs of PK batches (10 classes x 3 "
            "images), Adam 1e-3; the epoch with the best validation recall@1 is restored and tested once on the full "
            "test set; seeds 0, 1, 2; TensorFlow backend"),
    rows=tuple(Row(_slug(label), label, (("metric_learning", tuple(
        METRIC + ["--loss", loss, "--center-coef", str(center), "--class-coef", str(cls)] + list(extra))),))
        for label, loss, center, cls, extra in _TRIPLET_ROWS),
    brief="LeNet from scratch (d = 128), 10,800 Fashion-MNIST training images, 5 epochs of 10 × 3 PK batches, epoch "
          "selected on validation recall@1",
    tables=(Table("The eight rows (test split; centroids from the training split unless marked)",
                  (Column("nearest centroid %", "metric_learning.centroid_acc"),
                   Column("nearest centroid, test centroids (the reference's protocol) %",
                          "metric_learning.centroid_acc_transductive"),
                   Column("range accuracy %", "metric_learning.range_accuracy"),
                   Column("recall@1 %", "metric_learning.recall@1"),
                   Column("EER %", "metric_learning.test_eer"),
                   Column("selected epoch", "metric_learning.selected_epoch", scale=1.0, digits=1))),),
    paper=("The poster reports (Fashion-MNIST, DenseNet-161, 100 epochs, best of a grid, test-centroid accuracy, best "
           "epoch on test): L_std 91.4, +L_class 92.1, +L_center 71.5, +L_center+L_class 82.0, L_exp 92.7, +L_class "
           "93.1, +L_center 93.1, +L_center+L_class 93.1."),
)

# -- DL2PA --------------------------------------------------------------------------------------------------
_PROTOTYPE_METHODS = [("softmax (CE)", "softmax", ()),
                      ("fixed uniform prototypes", "prototypes", ("reassign=False", "form='{form}'")),
                      ("ETF prototypes (d >= C)", "prototypes-etf", ("reassign=False", "form='{form}'")),
                      ("DL2PA (uniform prototypes + dynamic assignment)", "prototypes", ("form='{form}'",))]


def _prototype_rows():
    rows = []
    settings = [("balanced, d = 5 < C", "balanced", 5, None), ("balanced, d = 10 = C", "balanced", 10, None),
                ("long-tail rho = 0.01, d = 64", "long_tail", 64, 0.01),
                ("long-tail rho = 0.02, d = 64", "long_tail", 64, 0.02)]
    for group, form, dim, rho in settings:
        for label, head, options in _PROTOTYPE_METHODS:
            if head == "prototypes-etf" and (dim < 10 or rho):  # ETF needs d >= C - 1; one ETF row (balanced)
                continue
            extra = ["--imbalance", str(rho)] if rho else []
            if head == "prototypes-etf":
                head, extra = "prototypes", extra + ["--prototypes", "etf"]
            key = f"{_slug(label.split(' (')[0])}-{form}-d{dim}" + (f"-rho{rho:g}" if rho else "")
            rows.append(Row(key, label, (_classification(head, dim, *[o.replace("{form}", form) for o in options],
                                                         extra=extra),), group))
        if rho:  # the reference's long-tail recipe around DL2PA: BN on the features and mixup (alpha 1)
            rows.append(Row(f"dl2pa-bn-mixup-{form}-d{dim}-rho{rho:g}", "DL2PA + feature BN + mixup 1.0",
                            (_classification("prototypes", dim, f"form='{form}'", "feature_bn=True",
                                             extra=["--imbalance", str(rho), "--mixup", "1.0"]),), group))
    return tuple(rows)


_LONG_TAIL = (Column("head %", "classification.long_tail.head_accuracy"),
              Column("medium %", "classification.long_tail.medium_accuracy"),
              Column("tail %", "classification.long_tail.tail_accuracy"))

PROTOTYPES = Grid(
    name="prototypes",
    title="DL2PA: fixed prototypes vs dynamic label-to-prototype assignment on Fashion-MNIST",
    budget=_budget(6) + ("; long-tail rows: the 12,000 images are first long-tailed with an exponential "
                                    "profile (rho = min/max class size), the validation share is held out of that"),
    rows=_prototype_rows(),
    brief="LeNet from scratch, 10,800 Fashion-MNIST training images (long-tailed for the ρ rows), 6 epochs, epoch "
          "selected on 1,200 validation images",
    tables=(Table("Balanced", (_ACCURACY, _ECE, _EPOCH), groups=("balanced, d = 5 < C", "balanced, d = 10 = C")),
            Table("Long-tailed (balanced test set; head/medium/tail = classes 0-2 / 3-6 / 7-9 of the profile)",
                  (_ACCURACY,) + _LONG_TAIL + (_ECE,),
                  groups=("long-tail rho = 0.01, d = 64", "long-tail rho = 0.02, d = 64"))),
    paper=("DL2PA reports CIFAR-10-LT (d = 64, ResNet-32, 200 epochs, mixup) 76.9 at rho = 0.01 and 81.4 at 0.02 vs "
           "ETF 76.5 / 81.0 and PSC 72.8 / 78.6; CIFAR-100 balanced d = 10: DL2PA 57.21 vs HPN 51.1; "
           "best epoch on test."),
)

# -- hyperbolic classification and OOD ------------------------------------------------------------------------


def _hyperbolic_rows():
    rows = []
    for dim in (2, 64):
        rows.append(Row(f"softmax-d{dim}", "Euclidean softmax", (_classification("softmax", dim, epochs=10),),
                        f"d = {dim}"))
        for c in (0.05, 1.0):
            for riemannian in (True, False):
                label = f"Poincaré MLR, c = {c:g}" + ("" if riemannian else ", no Riemannian rescale")
                options = ("riemannian=False",) if not riemannian else ()
                train = _classification("poincare", dim, f"c={c}", *options, epochs=10)
                ood = ("hyperbolic_ood", ("--model", "{prev}/model.keras", "--verbose", "0"))
                key = f"poincare-d{dim}-c{c:g}" + ("" if riemannian else "-norescale")
                rows.append(Row(key, label, (train, ood), f"d = {dim}"))
    return tuple(rows)


HYPERBOLIC = Grid(
    name="hyperbolic",
    title="Hyperbolic classification and OOD detection (Fashion-MNIST in, scikit-learn digits out)",
    budget=_budget(10) + ("; OOD: the selected model scores the 10,000 Fashion-MNIST test images and the "
                                    "1,797 digits (upsampled to 28 x 28); AUROC of 'OOD = small distance to the origin'"
                                    " and of 'OOD = small max softmax probability' of the same model"),
    rows=_hyperbolic_rows(),
    brief="LeNet from scratch, 10,800 Fashion-MNIST training images, 10 epochs, epoch selected on 1,200 validation "
          "images",
    tables=tuple(Table(f"d = {dim}", (_ACCURACY,
                                      Column("OOD AUROC, distance to origin %",
                                             "hyperbolic_ood.ood.distance_to_origin.auroc"),
                                      Column("OOD AUROC, max softmax %",
                                             "hyperbolic_ood.ood.max_softmax_probability.auroc"),
                                      Column("FPR at 95 % TPR, distance %",
                                             "hyperbolic_ood.ood.distance_to_origin.fpr_at_95_tpr"),
                                      _EPOCH), groups=(f"d = {dim}",)) for dim in (2, 64)),
    paper=("Khrulkov et al. show (MNIST in, Omniglot out, d = 2, c = 1) that the distance to the origin separates "
           "in- and out-of-distribution images (their Fig. 5); neither dataset is offline here."),
)

# -- few-shot -------------------------------------------------------------------------------------------------
FEWSHOT_ARGS = ["--dataset", "fashion_mnist", "--backbone", "conv4", "--val-classes", "2", "--train-way", "3",
                "--way", "5", "--query", "15", "--epochs", "8", "--episodes-per-epoch", "100", "--val-episodes", "200",
                "--test-episodes", "600", "--verbose", "0"]


def _fewshot_rows():
    rows = []
    for shot in (1, 5):
        for geometry, label in (("euclidean", "Euclidean"), ("sphere", "sphere (cosine)"),
                                ("poincare", "Poincaré, c = 0.01")):
            argv = tuple(FEWSHOT_ARGS + ["--geometry", geometry, "--shot", str(shot)])
            rows.append(Row(f"{geometry}-{shot}shot", label, (("fewshot", argv),), f"{shot}-shot"))
    return tuple(rows)


FEWSHOT = Grid(
    name="fewshot",
    title="Few-shot ProtoNet on the Fashion-MNIST class split, Euclidean vs sphere vs Poincaré",
    budget=("Conv-4 from scratch; training classes 0-2 (3-way training episodes), validation classes 3-4 (2-way "
            "validation episodes, 200 per epoch, select the epoch), test classes 5-9 (5-way, 15 queries, 600 test "
            "episodes with the selected model); 8 epochs of 100 episodes, Adam 1e-3; seeds 0, 1, 2; TensorFlow"),
    rows=_fewshot_rows(),
    brief="Conv-4 from scratch, 8 × 100 episodes on classes 0-2, epoch selected on classes 3-4, 600 test episodes on "
          "classes 5-9",
    tables=(Table("5-way test accuracy (mean over 600 episodes, then mean ± std over seeds)",
                  (Column("1-shot %", "fewshot.test_accuracy"),), groups=("1-shot",)),
            Table("5-shot", (Column("5-shot %", "fewshot.test_accuracy"),), groups=("5-shot",))),
    paper=("Khrulkov et al. report (MiniImageNet, ResNet-18/Conv-4, c = 0.01) Poincaré above Euclidean ProtoNet, "
           "e.g. Conv-4 1-shot 54.43 vs 49.42, 5-shot 72.67 vs 68.20."),
)

GRIDS = {grid.name: grid for grid in (HYPERSPHERICAL, EXP_TRIPLET, PROTOTYPES, HYPERBOLIC, FEWSHOT)}
