"""A recipe run survives Ctrl-C: the finished epochs are checkpointed, a partial metrics.json is written, and
`--resume` continues from the last finished epoch with the earlier history, exactly as the uninterrupted run
(issue 13, item 3)."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest

from recipes import classification, common

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARGS = ["--dataset", "digits", "--backbone", "conv4", "--image-size", "16", "--embedding-dim", "8", "--head", "center",
        "--batch-size", "64", "--train-limit", "320", "--test-limit", "64", "--val-split", "0.2", "--verbose", "0"]


def test_interrupt_then_resume(tmp_path):
    out = str(tmp_path / "run")
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend(), PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-m", "recipes.classification", *ARGS, "--epochs", "200", "--out", out],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    progress = os.path.join(out, common.PROGRESS_FILE)
    deadline = time.time() + 240
    while not os.path.exists(progress) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert os.path.exists(progress), proc.communicate()[0][-3000:] if proc.poll() is not None else "no epoch in 240 s"
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode != 0, output[-2000:]
    partial = common.read_summary(out)
    assert partial["status"] == "interrupted", partial
    done = json.load(open(progress))["epochs_done"]
    assert done >= 1 and len(partial["history"]["loss"]) == done

    with pytest.raises(SystemExit, match="--resume"):   # the unfinished run is not overwritten by accident
        classification.main([*ARGS, "--epochs", "3", "--out", out])
    summary = classification.main([*ARGS, "--epochs", str(done + 1), "--out", out, "--resume"])
    assert summary["status"] == "complete"
    assert len(summary["history"]["loss"]) == done + 1
    assert summary["history"]["loss"][:done] == pytest.approx(partial["history"]["loss"])
    assert len(summary["val_accuracy"]) == done + 1
    assert not os.path.exists(os.path.join(out, common.BACKUP_DIR))   # a finished run keeps no backup

    # Exactly: the same command run without interruption gives the same epochs (epoch e's batches depend on the
    # seed and e only; weights, optimizer, centres and the dropout seed state come back from the checkpoint).
    straight = classification.main([*ARGS, "--epochs", str(done + 1), "--out", str(tmp_path / "straight")])
    assert summary["history"]["loss"] == pytest.approx(straight["history"]["loss"], rel=1e-5, abs=1e-6)
    assert summary["val_accuracy"] == pytest.approx(straight["val_accuracy"], abs=1e-6)
    assert summary["test_accuracy"] == pytest.approx(straight["test_accuracy"], abs=1e-6)
