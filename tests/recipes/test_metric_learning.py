"""recipes.metric_learning end to end on a small real Fashion-MNIST subset: the two-output model
(L_exp + center + class) trains with the loss falling, reports centroid accuracy / recall@1, saves and reloads."""

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
    for flag in ("--loss", "--space", "--center-coef", "--class-coef", "--ablation", "--backend", "--p", "--k"):
        assert flag in proc.stdout
    rows = [metric_learning.row_name(*r) for r in metric_learning.ABLATION]
    assert rows == ["L_std", "L_std+L_class", "L_std+L_center", "L_std+L_center+L_class",
                    "L_exp", "L_exp+L_class", "L_exp+L_center", "L_exp+L_center+L_class"]


@pytest.mark.skipif(not HAVE_FMNIST, reason="Debian dataset-fashion-mnist not installed")
def test_exp_center_class_recipe_trains_saves_and_reloads(tmp_path):
    out = tmp_path / "run"
    s = metric_learning.main(["--train-limit", "450", "--test-limit", "150", "--epochs", "3", "--embedding-dim",
                              "16", "--lr", "3e-3", "--anchor-stride", "1", "--out", str(out), "--verbose", "0"])
    assert s["loss_history"][-1] < s["loss_history"][0], s["loss_history"]
    for key in ("centroid_acc", "centroid_acc_transductive", "recall@1"):
        assert 0.3 < s[key] <= 1.0, (key, s[key])     # well above chance (0.1) on real images
    with open(out / "metrics.json") as f:
        assert json.load(f)["recall@1"] == pytest.approx(s["recall@1"])
    model = keras.saving.load_model(out / "model.keras")
    pred = model.predict(np.zeros((2, 28, 28, 1), "float32"), verbose=0)
    assert set(pred) == {"embedding", "logits"}
    assert np.all(np.linalg.norm(keras.ops.convert_to_numpy(pred["embedding"]), axis=1) <= 1.0 + 1e-5)


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
