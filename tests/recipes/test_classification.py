"""recipes.classification end to end on real Fashion-MNIST (a small subset, two epochs, model selection on a
validation split); the other data sources and keras-hub presets are in test_classification_data.py."""

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
    for flag in ("--head", "--backbone", "--embedding-dim", "--epochs", "--backend", "--c", "--dataset", "--preset",
                 "--val-split", "--image-size", "--data-dir", "--download", "--test-fraction"):
        assert flag in proc.stdout


def test_head_options_parsing():
    assert common.parse_head_options(["margin=0.5", "easy=True", "name=abc"]) == {
        "margin": 0.5, "easy": True, "name": "abc"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        common.parse_head_options(["margin"])


@pytest.mark.skipif(not HAVE_FMNIST, reason="Debian dataset-fashion-mnist not installed")
def test_softmax_recipe_selects_on_validation_saves_and_reloads_on_raw_images(tmp_path):
    out = tmp_path / "run"
    summary = classification.main([
        "--epochs", "2", "--train-limit", "2048", "--test-limit", "1000", "--batch-size", "128",
        "--embedding-dim", "16", "--val-split", "0.125", "--out", str(out), "--verbose", "0",
    ])
    # A real (if small) training run: well above chance (10%) after 2 epochs on 1,792 images.
    assert summary["test_accuracy"] > 0.55, summary
    assert summary["test_images"] == 1000 and summary["val_images"] == 256 and summary["train_images"] == 1792
    assert len(summary["epoch_seconds"]) == 2
    with open(out / "metrics.json") as f:
        assert json.load(f)["test_accuracy"] == pytest.approx(summary["test_accuracy"])
    assert os.listdir(out / "logs"), "TensorBoard logs missing"
    # model selection: validation accuracy per epoch, the first best epoch restored (its accuracy measured again)
    val = summary["val_accuracy"]
    assert len(val) == 2 and summary["history"]["val_accuracy"] == pytest.approx(val)
    assert summary["selected_epoch"] == int(np.argmax(val)) + 1
    assert summary["restored_val_accuracy"] == pytest.approx(max(val), abs=1e-6)
    # the saved model is a task model that takes RAW uint8 images and gives the recipe's test accuracy
    import zoo.data
    import zoo.models

    model = keras.saving.load_model(out / "model.keras")
    assert isinstance(model, zoo.models.ImageClassifier)
    (_, _), (xte, yte) = zoo.data.fashion_mnist()
    assert xte.dtype == np.uint8
    result = model.evaluate(xte[:1000], yte[:1000], batch_size=500, verbose=0, return_dict=True)
    assert result["accuracy"] == pytest.approx(summary["test_accuracy"], abs=1e-6)
    scores = model.predict(xte[:64], verbose=0)
    assert scores.shape == (64, 10) and np.isfinite(scores).all()


def test_unknown_head_and_dataset_errors(tmp_path):
    with pytest.raises(SystemExit):
        classification.main(["--augment", "rotate"])
    with pytest.raises(ValueError, match="cifar1000"):
        classification.main(["--dataset", "cifar1000", "--data-dir", str(tmp_path), "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="head"):
        classification.main(["--head", "nope", "--train-limit", "8", "--epochs", "1", "--dataset", "digits",
                             "--out", str(tmp_path / "y")])
    with pytest.raises(SystemExit):  # argparse refuses it (usage error, exit code 2)
        classification.main(["--val-split", "1.5", "--dataset", "digits", "--out", str(tmp_path / "z")])
