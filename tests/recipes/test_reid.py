"""recipes.reid end to end on a tiny synthetic Market-1501 set (offline): the BoT arm trains on identity batches,
selects its epoch on held-out training identities, reports every protocol field (both AP variants, flip, re-ranking)
and saves a model that gives the same features after loading; the schedule; the paper arm's settings."""

import json

import keras
import numpy as np
import pytest

from recipes import reid


def test_bot_schedule_and_arm_defaults():
    rate = reid.lr_schedule(3.5e-4, 10, (40, 70))
    assert rate(0) == pytest.approx(3.5e-6) and rate(5) == pytest.approx(3.5e-4 * (0.01 + 0.99 * 0.5))
    assert rate(10) == pytest.approx(3.5e-4) and rate(40) == pytest.approx(3.5e-5)
    assert rate(119) == pytest.approx(3.5e-6)
    args = reid.arm_settings(reid.build_parser().parse_args(["--arm", "paper"]))
    assert (args.head, args.dim, args.neck, args.triplet_weight, args.label_smoothing) == ("poincare", 128, "none",
                                                                                            0.0, 0.0)
    args = reid.arm_settings(reid.build_parser().parse_args(["--dataset", "market1501", "--head", "arcface"]))
    assert (args.head, args.dim, args.neck, args.image_size, args.pad, args.val_ids) == ("arcface", None, "bnneck",
                                                                                         (256, 128), 10, 100)


def test_synthetic_run_end_to_end(tmp_path):
    out = tmp_path / "run"
    s = reid.main(["--dataset", "synthetic", "--data-dir", str(tmp_path / "data"), "--synthetic-ids", "12", "6",
                   "--image-size", "32", "16", "--epochs", "2", "--warmup", "1", "--steps", "1", "--val-ids", "3",
                   "--p", "4", "--k", "2", "--flip-test", "--rerank", "--out", str(out), "--verbose", "0"])
    assert s["synthetic"] is True and s["status"] == "complete" and s["selected_on"] == "val_mAP"
    assert len(s["val_mAP"]) == 2 and s["selected_epoch"] in (1, 2)
    assert set(s["protocol"]) == {"plain-non_interpolated", "plain-market", "plain-rerank", "flip-non_interpolated",
                                  "flip-market", "flip-rerank"}
    row = s["protocol"]["flip-market"]
    assert row["ap"] == "market" and row["flip"] is True and row["re_ranking"] is False and row["distance"] == "cosine"
    assert s["num_valid_queries"] == 6 * 5 and 0 <= s["mAP_market"] <= s["mAP"] + 1e-12 <= 1 + 1e-12
    assert s["splits"]["train"]["ids"] == 9                             # 3 of the 12 held out for validation
    with open(out / "metrics.json") as f:
        assert json.load(f)["rank1"] == pytest.approx(s["rank1"])
    model = keras.saving.load_model(out / "model.keras")
    x = np.random.default_rng(0).integers(0, 256, size=(3, 32, 16, 3)).astype("uint8")
    assert model.predict(x).shape == (3, 128)
