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


# -- issue #16 knobs: LR schedules and mixup ------------------------------------------------------------------------


def test_mixup_changes_the_training_batches_and_trains_prototypes_end_to_end(tmp_path):
    """--mixup 1: every training batch is a convex mix of two of its images with packed (y_a, y_b, lam) labels;
    the prototypes head trains on them (accuracy against y_a), with the DL2PA long-tail schedule and BN_H;
    --mixup with a head whose loss takes integer labels is refused naming both flags."""
    x = np.random.default_rng(0).integers(0, 256, size=(6, 8, 8)).astype("uint8")
    y = np.array([0, 1, 2, 0, 1, 2])
    plain, _ = common.epoch_image_dataset(x, y, 6, seed=0)
    args = classification.build_parser().parse_args(["--mixup", "1.0"])
    mixed = classification._mixed(plain, args, 0)
    (xb, yb), (xm, ym) = next(iter(plain)), next(iter(mixed))
    xb, xm, ym = np.asarray(xb, "float64"), np.asarray(xm, "float64"), np.asarray(ym)
    lam = ym[0, 2]
    assert ym.shape == (6, 3) and np.all(ym[:, 2] == lam) and 0 < lam < 1
    np.testing.assert_array_equal(ym[:, 0], np.asarray(yb))
    assert not np.allclose(xm, xb)
    for i in range(6):  # image i mixed with one partner j of the batch, whose label is y_b
        errors = [np.abs(xm[i] - (lam * xb[i] + (1 - lam) * xb[j])).max() for j in range(6)]
        j = int(np.argmin(errors))
        assert errors[j] < 1e-3 and ym[i, 1] == np.asarray(yb)[j]

    summary = classification.main([
        "--dataset", "digits", "--head", "prototypes", "--prototypes", "etf", "--embedding-dim", "16",
        "--head-opt", "feature_bn=True", "--head-opt", "form='long_tail'", "--mixup", "1.0",
        "--lr-schedule", "warmup_step", "--warmup-epochs", "2", "--lr-steps", "1", "--optimizer", "sgd", "--lr", "0.05",
        "--epochs", "2", "--train-limit", "200", "--test-limit", "100", "--batch-size", "50", "--imbalance", "0.2",
        "--out", str(tmp_path / "mix"), "--verbose", "0"])
    assert summary["mixup"] == 1.0 and summary["head_options"]["feature_bn"] is True
    assert summary["history"]["learning_rate"] == pytest.approx([0.05 * 1 / 2, 0.05 * 2 / 2 * 0.1])
    assert summary["lr_schedule"]["schedule"] == "warmup_step"
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and np.isfinite(summary["final_train_loss"])
    # recipes._measures after the test evaluation: DL2PA's ECE in metrics.json and in the long-tail report
    assert 0.0 <= summary["test_ece"] <= 1.0 and summary["test_ece_bins"] == 15
    assert summary["long_tail"]["ece"] == summary["test_ece"]
    assert json.loads((tmp_path / "mix" / "metrics.json").read_text())["test_ece"] == summary["test_ece"]
    model = keras.saving.load_model(tmp_path / "mix" / "model.keras")
    assert model.head.feature_bn
    with pytest.raises(ValueError, match="--mixup.*--head softmax"):
        classification.main(["--dataset", "digits", "--mixup", "0.4", "--train-limit", "50", "--test-limit", "20",
                             "--epochs", "1", "--out", str(tmp_path / "no"), "--verbose", "0"])
    with pytest.raises(ValueError, match="--lr-steps"):
        classification.main(["--dataset", "digits", "--lr-schedule", "step", "--out", str(tmp_path / "no2")])
