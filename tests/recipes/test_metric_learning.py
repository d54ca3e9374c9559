"""recipes.metric_learning end to end on a small real Fashion-MNIST subset: the EmbeddingModel (L_exp + center +
class term) trains (finite losses; 3 epochs of resampled PK batches need not fall monotonically), reports centroid
accuracy / recall@1 well above chance, saves, and the reloaded model
gives the same recall@1 on raw images; a Poincaré run on digits."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from recipes import metric_learning

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HAVE_FMNIST = os.path.isdir("/usr/share/datasets/fashion-mnist") or bool(os.environ.get("ZOO_FASHION_MNIST_DIR"))


def test_help_and_ablation_rows():
    proc = subprocess.run([sys.executable, "-m", "recipes.metric_learning", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for flag in ("--loss", "--space", "--center-coef", "--class-coef", "--ablation", "--backend", "--p", "--k",
                 "--c", "--train-c", "poincare"):
        assert flag in proc.stdout
    rows = [metric_learning.row_name(*r) for r in metric_learning.ABLATION]
    assert rows == ["L_std", "L_std+L_class", "L_std+L_center", "L_std+L_center+L_class",
                    "L_exp", "L_exp+L_class", "L_exp+L_center", "L_exp+L_center+L_class"]


@pytest.mark.skipif(not HAVE_FMNIST, reason="Debian dataset-fashion-mnist not installed")
def test_exp_center_class_recipe_trains_saves_and_reloads(tmp_path):
    out = tmp_path / "run"
    s = metric_learning.main(["--train-limit", "450", "--test-limit", "150", "--epochs", "3", "--embedding-dim",
                              "16", "--lr", "3e-3", "--anchor-stride", "1", "--out", str(out), "--verbose", "0"])
    assert all(np.isfinite(s["loss_history"])), s["loss_history"]
    for key in ("centroid_acc", "centroid_acc_transductive", "recall@1"):
        assert 0.3 < s[key] <= 1.0, (key, s[key])     # well above chance (0.1) on real images
    with open(out / "metrics.json") as f:
        assert json.load(f)["recall@1"] == pytest.approx(s["recall@1"])
    import zoo.models.embedding_model  # noqa: F401  (registers EmbeddingModel until zoo.models exports it)

    model = keras.saving.load_model(out / "model.keras")
    assert type(model).__name__ == "EmbeddingModel" and model.space == "unit_ball" and model.class_coef == 1.0
    pred = model.predict(np.zeros((2, 28, 28), "uint8"), verbose=0)
    assert pred.shape == (2, 16)
    assert np.all(np.linalg.norm(pred, axis=1) <= 1.0 + 1e-5)
    (xtr, ytr), (xte, yte) = metric_learning.common.load_data("fashion_mnist", 450, 150)
    again = model.evaluate_retrieval(xte, yte, xtr, ytr, ks=(1,), map_at_r=False, mean_ap=False)
    assert again["recall@1"] == pytest.approx(s["recall@1"])        # raw images in: preprocessing was saved


def test_l2_space_evaluation_renormalises_the_centroids():
    """Fidelity: in the `l2` space the recipe's nearest-centroid accuracy uses unit-length centroids (the
    exponential-triplet reference); raw means of a spread-out class would misplace the query at 25°."""
    import argparse

    def unit(deg):
        a = np.deg2rad(np.asarray(deg, np.float64))
        return np.stack([np.cos(a), np.sin(a)], -1).astype(np.float32)

    train, ytr = unit([-80, 80, 58, 62]), np.array([0, 0, 1, 1])
    test, yte = unit([25, 0, 60]), np.array([0, 0, 1])
    for space, want in (("l2", 1.0), ("unit_ball", 2 / 3)):
        got = metric_learning.evaluate(test, yte, train, ytr, argparse.Namespace(space=space, distance="euclidean"))
        assert got["centroid_acc"] == pytest.approx(want), (space, got)
    got = metric_learning.evaluate(test, yte, train, ytr, argparse.Namespace(space="l2", distance="euclidean"))
    assert got["centroid_acc_transductive"] == 1.0


def test_poincare_space_on_digits_with_validation_selection(tmp_path):
    """--space poincare (trainable c, the triplet loss) on digits with --val-split: trains, records the learned c,
    and restores the epoch with the best validation recall@1 before the test evaluation."""
    s = metric_learning.main(["--dataset", "digits", "--train-limit", "300", "--test-limit", "100", "--epochs", "2",
                              "--backbone", "conv4", "--image-size", "16",
                              "--embedding-dim", "8", "--space", "poincare", "--c", "0.5",
                              "--train-c", "--loss", "std", "--center-coef", "0", "--class-coef", "0",
                              "--val-split", "0.2", "--out", str(tmp_path / "ball"), "--verbose", "0"])
    assert np.all(np.isfinite(s["loss_history"]))
    assert s["run"].endswith(f"poincare-poincare-{keras.backend.backend()}")
    assert 0 < s["c"] and s["c"] != pytest.approx(0.5, abs=1e-7)
    assert s["recall@1"] > 0.2, s                                    # chance: 0.1
    assert s["train_images"] + s["val_images"] == 300 and 50 <= s["val_images"] <= 70 and len(s["val_recall@1"]) == 2
    assert s["selected_epoch"] == int(np.argmax(s["val_recall@1"])) + 1
    assert s["restored_val_recall@1"] == pytest.approx(max(s["val_recall@1"]))


def test_evaluate_logs_range_accuracy_and_eer_of_the_range_classifier():
    """The recipe's range accuracy / EER are zoo.metrics.verification's, with train and with test centroids."""
    import argparse

    from zoo.metrics import verification

    rng = np.random.default_rng(0)
    ytr, yte = rng.integers(0, 3, 60), rng.integers(0, 3, 40)
    centres = rng.normal(size=(3, 4)) * 2
    tr = (centres[ytr] + rng.normal(size=(60, 4))).astype(np.float32)
    te = (centres[yte] + rng.normal(size=(40, 4))).astype(np.float32)
    got = metric_learning.evaluate(te, yte, tr, ytr, argparse.Namespace(space="unit_ball", distance="euclidean"))
    assert got["range_accuracy"] == pytest.approx(verification.range_accuracy(te, yte, tr, ytr))
    assert got["range_accuracy_transductive"] == pytest.approx(verification.range_accuracy(te, yte))
    assert got["test_eer"] == pytest.approx(verification.equal_error_rate(*verification.range_scores(te, yte, tr,
                                                                                                     ytr)))
    assert got["test_eer_transductive"] == pytest.approx(
        verification.equal_error_rate(*verification.range_scores(te, yte)))
    assert 0 < got["range_accuracy"] < 1 and 0 <= got["test_eer"] <= 1


def test_filter_and_maxout_flags(tmp_path):
    """--filter reaches the L_exp loss (and nothing when none), --maxout the model; metrics.json and the summary hold
    the range accuracies and EERs."""
    args = metric_learning.build_parser().parse_args(["--filter", "semi_hard"])
    assert metric_learning.loss_config(args, 10)[1]["sample_filter"] == "semi_hard"
    assert "sample_filter" not in metric_learning.loss_config(metric_learning.build_parser().parse_args([]), 10)[1]
    s = metric_learning.main(["--dataset", "digits", "--train-limit", "200", "--test-limit", "60", "--epochs", "1",
                              "--backbone", "conv4", "--image-size", "16", "--embedding-dim", "8", "--filter", "hard",
                              "--maxout", "4", "--out", str(tmp_path / "run"), "--verbose", "0"])
    assert "-hard-maxout4-" in s["run"] and np.all(np.isfinite(s["loss_history"]))
    with open(tmp_path / "run" / "metrics.json") as f:
        saved = json.load(f)
    for key in ("range_accuracy", "range_accuracy_transductive", "test_eer", "test_eer_transductive"):
        assert saved[key] is None or 0.0 <= saved[key] <= 1.0, (key, saved[key])
        assert saved[key] == s[key]
    assert saved["args"]["filter"] == "hard" and saved["args"]["maxout"] == 4
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert model.maxout_pool == 4 and model.loss.sample_filter == "hard"
