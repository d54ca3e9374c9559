"""recipes.hyperbolic_ood end to end on real Fashion-MNIST (a small subset, one epoch) vs the digits."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from recipes import hyperbolic_ood

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HAVE_FMNIST = os.path.isdir("/usr/share/datasets/fashion-mnist") or bool(os.environ.get("ZOO_FASHION_MNIST_DIR"))


def test_help():
    proc = subprocess.run([sys.executable, "-m", "recipes.hyperbolic_ood", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for flag in ("--model", "--c", "--dim", "--epochs", "--baseline-model", "--backend"):
        assert flag in proc.stdout


@pytest.mark.skipif(not HAVE_FMNIST, reason="Debian dataset-fashion-mnist not installed")
def test_trains_scores_writes_json_and_pngs_then_reloads(tmp_path):
    out = tmp_path / "ood"
    args = ["--dim", "2", "--c", "1.0", "--epochs", "1", "--train-limit", "512", "--test-limit", "100",
            "--ood-limit", "50", "--batch-size", "64", "--out", str(out), "--verbose", "0"]
    summary = hyperbolic_ood.main(args)
    with open(out / "metrics.json") as f:
        saved = json.load(f)
    assert saved["test_images"] == 100 and saved["ood_images"] == 50 and saved["dim"] == 2
    for key in ("distance_to_origin", "max_softmax_probability"):
        rep = saved["ood"][key]
        assert 0.0 <= rep["auroc"] <= 1.0 and np.isfinite(rep["in_mean"]) and np.isfinite(rep["out_mean"])
    # (that the head learns is shown by tests/layers/test_hyperbolic_mlr.py's training smoke)
    assert 0.0 <= saved["test_accuracy"] <= 1.0 and np.isfinite(saved["final_train_loss"])
    for png in ("distance_histograms.png", "ood_disk.png"):
        with open(out / png, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # --model: score a saved model without training (and a softmax baseline: here the same file)
    again = hyperbolic_ood.main(["--model", str(out / "model.keras"), "--baseline-model", str(out / "model.keras"),
                                 "--test-limit", "100", "--ood-limit", "50", "--train-limit", "512",
                                 "--out", str(tmp_path / "again")])
    assert again["trained_here"] is False
    assert again["ood"]["distance_to_origin"]["auroc"] == pytest.approx(summary["ood"]["distance_to_origin"]["auroc"],
                                                                        abs=1e-6)
    assert "baseline_max_softmax_probability" in again["ood"]


def test_rejects_a_model_without_poincare_head(tmp_path):
    import keras

    inp = keras.Input((28, 28, 1))
    model = keras.Model(inp, keras.layers.Dense(10)(keras.layers.Flatten()(inp)))
    with pytest.raises(ValueError, match="has no 'poincare' head"):
        hyperbolic_ood.find_poincare_head(model)
    with pytest.raises(ValueError, match="--c must be > 0"):
        hyperbolic_ood.main(["--c", "0", "--out", str(tmp_path / "x")])
