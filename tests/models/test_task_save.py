"""`zoo.models.Task.save` and `zoo._io`: a crash in the middle of a save keeps the previous file (issue 13, item 2)."""

import os

import keras
import numpy as np
import pytest

import zoo
from zoo._io import atomic_path, atomic_write_text


def _tiny_model():
    backbone = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(4)])
    return zoo.models.ImageClassifier(backbone, num_classes=3, embedding_dim=4, normalize=None)


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    model = _tiny_model()
    path = str(tmp_path / "model.keras")
    model.save(path)
    before = open(path, "rb").read()

    def crash(self, filepath, *args, **kwargs):  # a save that dies after writing half a file
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(keras.Model, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert open(path, "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == ["model.keras"]  # no temporary file left behind
    monkeypatch.undo()
    loaded = keras.saving.load_model(path)
    x = (np.arange(2 * 64) % 256).reshape(2, 8, 8).astype("uint8")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_save_refuses_overwrite_false(tmp_path):
    model = _tiny_model()
    path = str(tmp_path / "model.keras")
    model.save(path)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(path, overwrite=False)


def test_atomic_write_text_and_failure(tmp_path):
    path = tmp_path / "a.json"
    atomic_write_text(path, "one")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            with open(tmp, "w") as f:
                f.write("tw")
            raise RuntimeError("crash")
    assert path.read_text() == "one"
    assert sorted(os.listdir(tmp_path)) == ["a.json"]


def test_weights_load_after_embed(tmp_path):
    """`embed` caches an embedding model that links back to the task; Keras' weight loading walks every attribute
    without a cycle guard, so the cache must stay out of its walk (it recursed without end)."""
    model = _tiny_model()
    x = np.random.default_rng(0).integers(0, 256, size=(2, 8, 8)).astype("uint8")
    before = model.embed(x)
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    model.load_weights(path)
    np.testing.assert_array_equal(model.embed(x), before)
