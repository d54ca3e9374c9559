"""EmbeddingPlotSummary: after a real `fit` the event files hold one PNG image summary per drawn epoch, read back with
TensorBoard's own event loader; a 2-d Poincaré model gets its disk picture, a 4-d one a PCA picture; the PNG files
equal the logged images; clear errors."""

import io
import os

import keras
import numpy as np
import pytest

import zoo
from zoo.callbacks.embedding_plot_summary import EmbeddingPlotSummary


@pytest.fixture(scope="module")
def digits():
    """45 real digits 0..2 upsampled to 28x28 (uint8), 15 per class."""
    (x, y), _ = zoo.data.digits(size=28)
    index = np.concatenate([np.flatnonzero(y == k)[:15] for k in range(3)])
    return x[index], y[index].astype("int64")


def _pixels(png):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def _images(log_dir, tag):
    """{step: PNG bytes} of the image summaries `tag`, through TensorBoard's EventAccumulator."""
    from tensorboard.backend.event_processing import event_accumulator

    acc = event_accumulator.EventAccumulator(os.path.join(log_dir, "images"), size_guidance={"tensors": 0})
    acc.Reload()
    assert tag in acc.Tags()["tensors"], acc.Tags()
    out = {}
    for event in acc.Tensors(tag):
        width, height, png = event.tensor_proto.string_val[:3]
        assert int(width) > 100 and int(height) > 100
        out[event.step] = png
    return out


@pytest.mark.parametrize("dim", [2, 4])
def test_fit_logs_one_picture_per_drawn_epoch(tmp_path, digits, dim):
    x, y = digits
    keras.utils.set_random_seed(0)
    model = zoo.models.ImageClassifier("lenet", head="poincare", num_classes=3, input_shape=(28, 28),
                                       embedding_dim=dim)
    model.compile(optimizer="adam")
    callback = EmbeddingPlotSummary((x, y), tmp_path / "logs", every_n_epochs=2, png_dir=tmp_path / "png",
                                    name="disk")
    model.fit(x, y, epochs=3, batch_size=15, verbose=0, callbacks=[callback])
    assert callback.written == [2, 3]  # every 2nd epoch, and the last one
    logged = _images(str(tmp_path / "logs"), "disk")
    assert sorted(logged) == [2, 3]
    for step, png in logged.items():
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        with open(tmp_path / "png" / f"disk_epoch{step:03d}.png", "rb") as f:
            assert np.array_equal(_pixels(f.read()), _pixels(png))  # TensorBoard re-encodes: compare the pixels


def test_the_2d_head_picture_is_the_heads_own(tmp_path, digits):
    """A 2-d model's picture is the head's (the disk with MLR regions), not a PCA scatter: the same bytes as
    `model.spec.plot` writes for the same features."""
    x, y = digits
    model = zoo.models.ImageClassifier("lenet", head="poincare", num_classes=3, input_shape=(28, 28), embedding_dim=2)
    model.compile(optimizer="adam")
    callback = EmbeddingPlotSummary((x, y), tmp_path / "logs")
    callback.set_model(model)
    features = np.concatenate([keras.ops.convert_to_numpy(model.features(x[i:i + 256])) for i in range(0, len(x), 256)])
    model.spec.plot(features.astype("float32"), y, model.head, str(tmp_path / "own.png"))
    with open(tmp_path / "own.png", "rb") as f:
        assert callback.png() == f.read()


def test_bad_arguments_are_named(tmp_path, digits):
    x, y = digits
    with pytest.raises(ValueError, match="data"):
        EmbeddingPlotSummary(x, tmp_path)
    with pytest.raises(ValueError, match="int labels"):
        EmbeddingPlotSummary((x, y.astype("float32")), tmp_path)
    with pytest.raises(ValueError, match="method"):
        EmbeddingPlotSummary((x, y), tmp_path, method="umap")
    with pytest.raises(ValueError, match="log_dir"):
        EmbeddingPlotSummary((x, y), "")
    assert EmbeddingPlotSummary((x, y), tmp_path, every_n_epochs=0).get_config()["every_n_epochs"] == 0
