"""EmbeddingProjector: after a real `fit` its files open with TensorBoard's own projector plugin (config, checkpoint
tensors, metadata rows, sprite); a Poincaré head model gets ball and tangent views (tangent = logmap0 of the ball,
float64 reference); plain Keras models go through `predict`; a failed write leaves the previous set; clear errors."""

import json
import os

import keras
import numpy as np
import pytest

import zoo
from zoo.callbacks.embedding_projector import EmbeddingProjector

NAMES = ["zero", "one", "two"]


@pytest.fixture(scope="module")
def digits():
    """36 real digits 0..2 upsampled to 28x28 (uint8), 12 per class."""
    (x, y), _ = zoo.data.digits(size=28)
    index = np.concatenate([np.flatnonzero(y == k)[:12] for k in range(3)])
    return x[index], y[index].astype("int64")


def _plugin(log_dir):
    """TensorBoard's projector plugin on `log_dir`, offline (no data provider: the logdir itself is the run ".")."""
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.projector.projector_plugin import ProjectorPlugin

    return ProjectorPlugin(base_plugin.TBContext(logdir=str(log_dir), data_provider=None))


def _get(plugin, route, **args):
    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    response = Client(plugin.get_plugin_apps()[route], Response).get(route, query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def _read_back(log_dir):
    """{tensor name: array} and the parsed config, read the way TensorBoard reads them."""
    import tensorflow as tf
    from google.protobuf import text_format
    from tensorboard.plugins.projector import ProjectorConfig

    config = ProjectorConfig()
    with open(os.path.join(log_dir, "projector_config.pbtxt")) as f:
        text_format.Parse(f.read(), config)
    reader = tf.train.load_checkpoint(str(log_dir))
    return {e.tensor_name: reader.get_tensor(e.tensor_name) for e in config.embeddings}, config


def _logmap0_f64(y, c):
    y = y.astype("float64")
    norm = np.linalg.norm(y, axis=-1, keepdims=True)
    return np.arctanh(np.sqrt(c) * norm) * y / (np.sqrt(c) * norm)


def test_poincare_model_after_fit_opens_in_tensorboard(digits, tmp_path):
    from PIL import Image

    x, y = digits
    model = zoo.models.ImageClassifier("lenet", head="poincare", num_classes=3, input_shape=(28, 28), embedding_dim=4)
    model.compile()
    cb = EmbeddingProjector((x, y), tmp_path, max_points=30, class_names=NAMES, seed=1)
    model.fit(x, y, epochs=1, batch_size=12, verbose=0, callbacks=[cb])
    assert [epoch for epoch, _ in cb.history] == [0]  # the end of training does not write epoch 0 twice

    tensors, config = _read_back(tmp_path)
    ball_key, tangent_key = (f"embeddings_{view}/.ATTRIBUTES/VARIABLE_VALUE" for view in ("ball", "tangent"))
    assert list(tensors) == [ball_key, tangent_key]
    ball, tangent = tensors[ball_key], tensors[tangent_key]
    assert ball.shape == tangent.shape == (30, 4) and ball.dtype == np.float32
    np.testing.assert_allclose(ball, model.embed(x[cb.index]), rtol=1e-5, atol=1e-6)
    c = model.geometry.get_config()["c"]
    assert np.all(np.linalg.norm(ball.astype("float64"), axis=1) < 1 / np.sqrt(c))
    np.testing.assert_allclose(tangent, _logmap0_f64(ball, c), rtol=1e-4, atol=1e-6)

    # metadata: a header and one row per point, in the sample's order (seeded, sorted, without repeats)
    assert len(np.unique(cb.index)) == 30 and np.all(np.diff(cb.index) > 0)
    rows = open(tmp_path / "metadata.tsv").read().splitlines()
    assert rows[0] == "label\tclass" and len(rows) == 31
    assert rows[1:] == [f"{k}\t{NAMES[k]}" for k in y[cb.index]]
    # sprite: ceil(sqrt(30)) = 6 thumbnails of 28x28 per side, grey; the first thumbnail is the first image
    for info in config.embeddings:
        assert info.metadata_path == "metadata.tsv" and info.sprite.image_path == "sprite.png"
        assert list(info.sprite.single_image_dim) == [28, 28]
    sprite = Image.open(tmp_path / "sprite.png")
    assert sprite.format == "PNG" and sprite.mode == "L" and sprite.size == (6 * 28, 6 * 28)
    np.testing.assert_array_equal(np.asarray(sprite)[:28, :28], x[cb.index[0]])

    # TensorBoard's projector plugin serves the same tensors, metadata and sprite
    plugin = _plugin(tmp_path)
    served = json.loads(_get(plugin, "/info", run=".").get_data())
    assert sorted(e["tensorName"] for e in served["embeddings"]) == [ball_key, tangent_key]
    assert all(e["tensorShape"] == [30, 4] for e in served["embeddings"])
    data = _get(plugin, "/tensor", run=".", name=tangent_key, num_rows=30).get_data()
    np.testing.assert_array_equal(np.frombuffer(data, "<f4").reshape(30, 4), tangent)
    assert _get(plugin, "/metadata", run=".", name=ball_key).get_data(as_text=True).splitlines() == rows
    sprite_bytes = _get(plugin, "/sprite_image", run=".", name=ball_key).get_data()
    assert sprite_bytes == (tmp_path / "sprite.png").read_bytes()
    assert json.loads(json.dumps(cb.get_config()))["class_names"] == NAMES


class Features(keras.Model):
    """A plain Keras model whose `predict` returns its (flattened) inputs: the embeddings are known."""

    def call(self, x):
        return keras.ops.reshape(x, (keras.ops.shape(x)[0], -1))


def test_plain_model_every_n_epochs_and_train_end(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.3, 0.3, size=(20, 3)).astype("float32")  # inside the unit ball
    y = rng.integers(0, 4, 20)
    cb = EmbeddingProjector((x, y), tmp_path, every_n_epochs=2, max_points=50, sprite=False,
                                          poincare="tangent", geometry="poincare", name="feat")
    cb.set_model(Features())
    for epoch in range(3):
        cb.on_epoch_end(epoch)
    cb.on_train_end()
    assert [epoch for epoch, _ in cb.history] == [1, 2]  # every 2nd epoch, then the end of training (epoch 3)
    assert cb.history[-1][1].endswith("feat-2")
    assert not [f for f in os.listdir(tmp_path) if f.startswith("feat-1.")]  # the older checkpoint is removed
    tensors, config = _read_back(tmp_path)
    np.testing.assert_allclose(tensors["feat_tangent/.ATTRIBUTES/VARIABLE_VALUE"], _logmap0_f64(x, 1.0), rtol=1e-5)
    assert not config.embeddings[0].sprite.image_path
    rows = open(tmp_path / "metadata.tsv").read().splitlines()
    assert rows[1:] == [f"{k}\t{k}" for k in y]  # all 20 points kept, in order; class = label without names


def test_failed_write_keeps_the_previous_set(tmp_path, monkeypatch):
    import tensorflow as tf

    x, y = np.eye(5, dtype="float32"), np.arange(5)
    cb = EmbeddingProjector((x, y), tmp_path, sprite=False)
    cb.set_model(Features())

    def crash(self, *args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as m:  # a crash before anything exists: no config names a missing file
        m.setattr(tf.train.CheckpointManager, "save", crash)
        with pytest.raises(OSError):
            cb.write(0)
    assert not os.path.exists(tmp_path / "projector_config.pbtxt")
    cb.write(1)
    with monkeypatch.context() as m:
        m.setattr(tf.train.CheckpointManager, "save", crash)
        with pytest.raises(OSError):
            cb.write(2)
    tensors, _ = _read_back(tmp_path)  # the previous checkpoint and config still open
    np.testing.assert_array_equal(tensors["embeddings/.ATTRIBUTES/VARIABLE_VALUE"], x)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]

    bad = EmbeddingProjector((x, y), tmp_path / "nan", sprite=False)
    bad.set_model(Features())
    bad.images = np.full_like(x, np.nan)
    with pytest.raises(ValueError, match="not finite"):
        bad.write(0)


def test_sample_is_seeded_and_rgb_sprites_are_capped(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, size=(10, 40, 20, 3)).astype("float32"), np.arange(10) % 2
    a = EmbeddingProjector((x, y), tmp_path, max_points=4, seed=3)
    b = EmbeddingProjector((x, y), tmp_path, max_points=4, seed=3)
    np.testing.assert_array_equal(a.index, b.index)
    a.set_model(Features())
    a.write()
    sprite = Image.open(tmp_path / "sprite.png")
    assert sprite.mode == "RGB" and sprite.size == (2 * 16, 2 * 32)  # 40x20 shrunk to 32x16, a 2x2 grid
    _, config = _read_back(tmp_path)
    assert list(config.embeddings[0].sprite.single_image_dim) == [16, 32]  # [width, height]


def test_bad_arguments(tmp_path):
    x, y = np.zeros((4, 8, 8), "uint8"), np.arange(4)
    make = EmbeddingProjector
    with pytest.raises(ValueError, match="`data` must be"):
        make(x, tmp_path)
    with pytest.raises(ValueError, match="`data` labels"):
        make((x, y.astype(float)), tmp_path)
    with pytest.raises(ValueError, match="one image per label"):
        make((x[:3], y), tmp_path)
    with pytest.raises(ValueError, match="`log_dir`"):
        make((x, y), None)
    with pytest.raises(ValueError, match="every_n_epochs"):
        make((x, y), tmp_path, every_n_epochs=-1)
    with pytest.raises(ValueError, match="max_points"):
        make((x, y), tmp_path, max_points=0)
    with pytest.raises(ValueError, match="poincare"):
        make((x, y), tmp_path, poincare="klein")
    with pytest.raises(ValueError, match="class_names"):
        make((x, y), tmp_path, class_names=["a", "b"])
    with pytest.raises(ValueError, match="`name`"):
        make((x, y), tmp_path, name="a/b")
    with pytest.raises(ValueError, match="`geometry`"):
        make((x, y), tmp_path, geometry="torus")
    with pytest.raises(ValueError, match="sprite=False"):
        make((np.zeros((4, 5), "float32"), y), tmp_path)
