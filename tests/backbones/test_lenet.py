"""LeNet backbone: architecture, parameter count, serialization on this and another backend."""

import os
import tempfile

import keras
import numpy as np

import zoo.backbones
from tests.backbones.test_support import quick, shapes_only
from tests.helpers import load_on_other_backend, roundtrip


def _next_backend():
    order = ["tensorflow", "jax", "torch"]
    return order[(order.index(keras.backend.backend()) + 1) % 3]


def test_architecture_and_parameter_count():
    with shapes_only():
        model = zoo.backbones.get("lenet", (28, 28, 1), 64)
    # conv 5x5x1x20 + 20, conv 5x5x20x50 + 50, Dense 800x500 + 500, Dense 500x64 + 64.
    expected = (25 * 20 + 20) + (25 * 20 * 50 + 50) + (800 * 500 + 500) + (500 * 64 + 64)
    assert model.count_params() == expected == 458_134
    assert model.get_layer("flatten").output.shape[-1] == 800        # the reference's FC 800 -> 500
    assert model.get_layer("fc1").units == 500
    assert [layer.padding for layer in model.layers if isinstance(layer, keras.layers.Conv2D)] == [
        "valid", "valid"]
    assert model.get_layer("embedding").activation is keras.activations.linear


def test_32x32_input():
    with shapes_only():
        model = zoo.backbones.get("lenet", (32, 32, 3), 10)
    assert model.get_layer("flatten").output.shape[-1] == 5 * 5 * 50
    assert model.output_shape == (None, 10)


def test_keras_roundtrip_identical_predictions():
    model = quick(lambda: zoo.backbones.get("lenet", (16, 16, 1), 4))
    x = np.random.rand(3, 16, 16, 1).astype("float32")
    loaded = roundtrip(model, x)
    assert loaded.name == "lenet"
    assert loaded.count_params() == model.count_params()


def test_loads_and_trains_on_another_backend():
    model = quick(lambda: zoo.backbones.get("lenet", (16, 16, 1), 4))
    x = np.random.RandomState(1).rand(4, 16, 16, 1).astype("float32")
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    other = _next_backend()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lenet.keras")
        model.save(path)
        np.save(os.path.join(tmp, "x.npy"), x)
        np.save(os.path.join(tmp, "y.npy"), expected)
        out = load_on_other_backend(
            path,
            other,
            """
            import numpy as np, keras
            import zoo.backbones  # noqa: F401  (what a user imports; LeNet needs no custom objects)
            folder = os.path.dirname(PATH)
            x, y = np.load(os.path.join(folder, "x.npy")), np.load(os.path.join(folder, "y.npy"))
            model = keras.saving.load_model(PATH, compile=False)
            np.testing.assert_allclose(model.predict(x, verbose=0), y, rtol=1e-4, atol=1e-5)
            model.compile(optimizer="sgd", loss="mse")
            hist = model.fit(x, np.zeros_like(y), epochs=1, batch_size=4, verbose=0)
            assert np.isfinite(hist.history["loss"][0])
            print("OK", keras.backend.backend())
            """,
        )
    assert f"OK {other}" in out
