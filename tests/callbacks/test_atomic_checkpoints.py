"""`AtomicBackupAndRestore` / `AtomicModelCheckpoint`: a crash during a checkpoint write keeps the previous
checkpoint (issue 13, items 2 and 3); resuming continues from the saved epoch with the saved state."""

import os

import keras
import numpy as np
import pytest

import zoo


def _data():
    x = (np.random.default_rng(0).random((64, 8, 8)) * 255).astype("uint8")
    return x, np.arange(64) % 3


def _model():
    backbone = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(8)])
    return zoo.models.ImageClassifier(backbone, head="center", num_classes=3, embedding_dim=8, normalize=None)


def test_resume_restores_weights_layer_state_and_epoch(tmp_path):
    x, y = _data()
    backup = str(tmp_path / "backup")
    model = _model()
    model.compile()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[zoo.callbacks.AtomicBackupAndRestore(backup)])
    assert zoo.callbacks.AtomicBackupAndRestore(backup).resumable_epoch == 2
    saved = [np.array(v) for v in model.get_weights()]
    fresh = _model()
    fresh.compile()
    cb = zoo.callbacks.AtomicBackupAndRestore(backup)
    history = fresh.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[cb])
    assert history.epoch == [2]                      # only the missing epoch ran
    cb2 = zoo.callbacks.AtomicBackupAndRestore(backup)
    probe = _model()
    probe.compile()
    probe.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[cb2])  # nothing left to run: loads the backup
    assert cb2.resumable_epoch == 3
    assert not np.allclose(np.concatenate([w.ravel() for w in saved]),
                           np.concatenate([np.asarray(w).ravel() for w in probe.get_weights()]))


def test_failed_checkpoint_write_keeps_previous(tmp_path, monkeypatch):
    x, y = _data()
    backup = str(tmp_path / "backup")
    best = str(tmp_path / "best.weights.h5")
    model = _model()
    model.compile()
    callbacks = [zoo.callbacks.AtomicBackupAndRestore(backup),
                 zoo.callbacks.AtomicModelCheckpoint(best, monitor="loss", save_weights_only=True)]
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=callbacks)
    before = {p: open(p, "rb").read() for p in (best, os.path.join(backup, "latest.weights.h5"))}

    def crash(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"\x89HDF half")
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(type(model), "save_weights", crash)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=callbacks)
    for path, content in before.items():
        assert open(path, "rb").read() == content
    assert not [f for f in os.listdir(tmp_path) + os.listdir(backup) if f.startswith(".tmp-")]
