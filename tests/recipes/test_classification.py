"""recipes.classification end to end on real Fashion-MNIST (a small subset, one epoch)."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from recipes import classification, common

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HAVE_FMNIST = os.path.isdir("/usr/share/datasets/fashion-mnist") or bool(os.environ.get("ZOO_FASHION_MNIST_DIR"))


def test_help_runs_without_keras_work():
    proc = subprocess.run([sys.executable, "-m", "recipes.classification", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for flag in ("--head", "--backbone", "--embedding-dim", "--epochs", "--backend", "--c"):
        assert flag in proc.stdout


def test_head_options_parsing():
    assert common.parse_head_options(["margin=0.5", "easy=True", "name=abc"]) == {
        "margin": 0.5, "easy": True, "name": "abc"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        common.parse_head_options(["margin"])


@pytest.mark.skipif(not HAVE_FMNIST, reason="Debian dataset-fashion-mnist not installed")
def test_softmax_recipe_trains_saves_and_reloads(tmp_path):
    out = tmp_path / "run"
    summary = classification.main([
        "--epochs", "2", "--train-limit", "2048", "--test-limit", "1000", "--batch-size", "128",
        "--embedding-dim", "16", "--out", str(out), "--verbose", "0",
    ])
    # A real (if small) training run: well above chance (10%) after 2 epochs on 2,048 images.
    assert summary["test_accuracy"] > 0.55, summary
    assert summary["test_images"] == 1000
    assert len(summary["epoch_seconds"]) == 2
    with open(out / "metrics.json") as f:
        assert json.load(f)["test_accuracy"] == pytest.approx(summary["test_accuracy"])
    assert os.listdir(out / "logs"), "TensorBoard logs missing"
    model = keras.saving.load_model(out / "model.keras")
    import zoo.data

    (_, _), (xte, yte) = zoo.data.fashion_mnist()
    x = (xte[:64, ..., None].astype("float32") / 255.0 - 0.2860) / 0.3530
    scores = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    assert scores.shape == (64, 10) and np.isfinite(scores).all()


def test_unknown_head_and_dataset_errors():
    with pytest.raises(SystemExit):
        classification.main(["--dataset", "cifar1000"])
    with pytest.raises(ValueError, match="Unknown head"):
        classification.main(["--head", "nope", "--train-limit", "8", "--epochs", "1", "--dataset", "digits"])
