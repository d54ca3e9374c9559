"""recipes.common's epoch learning-rate schedules: `epoch_lr` against the papers' formulas written out per epoch,
the flag checks, and the Keras callback (the rate of every epoch, also after a resume at a later epoch)."""

import argparse
import math

import keras
import numpy as np
import pytest

from recipes import common


def _flags(argv, epochs=6, lr=0.1):
    p = argparse.ArgumentParser(parents=[common.lr_schedule_parser()])
    args = p.parse_args(argv)
    args.epochs, args.lr = epochs, lr
    return args


def test_epoch_lr_equals_the_reference_formulas():
    # DL2PA long-tail code (1-indexed epoch k): k <= 5: lr k/5; k > 180: lr/100; k > 160: lr/10; else lr
    for e in range(200):
        k = e + 1
        want = 0.1 * k / 5 if k <= 5 else 0.1 * (0.01 if k > 180 else 0.1 if k > 160 else 1.0)
        assert common.epoch_lr(e, 0.1, "warmup_step", steps=(160, 180), warmup_epochs=5) == pytest.approx(want)
    # DL2PA balanced: x0.1 at 100 and 200 (0-indexed epochs, as MultiStepLR stepped after each epoch)
    for e in range(250):
        want = 0.01 * 0.1 ** ((e >= 100) + (e >= 200))
        assert common.epoch_lr(e, 0.01, "step", steps=(100, 200)) == pytest.approx(want)
    # BoT re-ID (recipes.reid.lr_schedule): from 0.01 lr over 10 epochs, then x0.1 at 40 and 70
    for e in range(120):
        want = 3.5e-4 * (0.01 + 0.99 * e / 10) if e < 10 else 3.5e-4 * 0.1 ** ((e >= 40) + (e >= 70))
        got = common.epoch_lr(e, 3.5e-4, "warmup_step", steps=(40, 70), warmup_epochs=10, warmup_start=0.01)
        assert got == pytest.approx(want)
    # warm-up then constant (warmup_step without steps)
    assert [common.epoch_lr(e, 1.0, "warmup_step", warmup_epochs=2) for e in range(4)] == [0.5, 1.0, 1.0, 1.0]
    # cosine after a 2-epoch warm-up from 0.01, 10 epochs; constant
    for e in range(10):
        want = 0.01 + 0.99 * e / 2 if e < 2 else 0.5 * (1 + math.cos(math.pi * (e - 2) / 8))
        assert common.epoch_lr(e, 1.0, "cosine", warmup_epochs=2, warmup_start=0.01, epochs=10) == pytest.approx(want)
        assert common.epoch_lr(e, 0.3) == 0.3


@pytest.mark.parametrize("kwargs, match", [
    ({"schedule": "linear"}, "--lr-schedule"),
    ({"schedule": "step"}, "--lr-steps"),
    ({"schedule": "constant", "steps": (3,)}, "--lr-steps"),
    ({"schedule": "step", "steps": (3,), "warmup_epochs": 2}, "--warmup-epochs"),
    ({"schedule": "warmup_step", "steps": (3,)}, "--warmup-epochs"),
    ({"schedule": "cosine"}, "--epochs"),
    ({"schedule": "cosine", "warmup_epochs": 5, "epochs": 5}, "--warmup-epochs"),
    ({"schedule": "cosine", "warmup_start": 0.1, "epochs": 5}, "--warmup-start"),
])
def test_bad_schedule_flags_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        common.epoch_lr(0, 0.1, **kwargs)


def test_scheduler_callback_sets_each_epochs_rate_also_after_a_resume():
    """The callback of the flags sets epoch_lr at each epoch; a run resumed at epoch 3 (initial_epoch=3, as
    BackupAndRestore resumes) gets the rates of epochs 3.. of the uninterrupted run. Constant: no callback."""
    args = _flags(["--lr-schedule", "warmup_step", "--warmup-epochs", "2", "--lr-steps", "4", "--lr-gamma", "0.5"])
    assert common.lr_schedule_callbacks(_flags([])) == []
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    want = [common.epoch_lr(e, 0.1, "warmup_step", steps=(4,), gamma=0.5, warmup_epochs=2) for e in range(6)]
    assert want == pytest.approx([0.05, 0.1, 0.1, 0.1, 0.05, 0.05])
    for start in (0, 3):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        history = model.fit(x, y, epochs=6, initial_epoch=start, verbose=0,
                            callbacks=common.lr_schedule_callbacks(args))
        assert history.history["learning_rate"] == pytest.approx(want[start:], rel=1e-6)
    assert common.lr_schedule_summary(args) == {"schedule": "warmup_step", "steps": [4], "gamma": 0.5,
                                                "warmup_epochs": 2, "warmup_start": None, "lr": 0.1}
