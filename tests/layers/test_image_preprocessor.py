"""zoo.layers.ImagePreprocessor: numerics against float64 numpy (adapted mean/std, normalisation, channel
conversion, resize), the `adapted` flag, argument errors, config and `.keras` round trips."""

import os

import keras
import numpy as np
import pytest

import zoo
from tests.helpers import roundtrip_object, to_numpy


def _digits(n=40):
    (x, _), _ = zoo.data.digits()
    return x[:n]


def test_adapt_measures_mean_and_std_of_the_scaled_pixels():
    x = _digits()
    prep = zoo.layers.ImagePreprocessor((8, 8, 1))
    assert not prep.built or not prep.is_adapted
    prep.adapt(x)
    assert prep.is_adapted
    pixels = x.astype("float64") / 255.0
    np.testing.assert_allclose(to_numpy(prep.mean), [pixels.mean()], rtol=1e-6)
    np.testing.assert_allclose(to_numpy(prep.std), [pixels.std()], rtol=1e-6)
    out = to_numpy(prep(x))
    assert out.shape == (40, 8, 8, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 0], (pixels - pixels.mean()) / pixels.std(), rtol=1e-5, atol=1e-5)
    assert abs(out.mean()) < 1e-5 and abs(out.std() - 1.0) < 1e-4


def test_adapt_per_channel_in_chunks_from_arrays_and_datasets():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(30, 5, 6, 3)).astype("uint8")
    x[..., 2] //= 4  # channels with different statistics
    pixels = x.reshape(-1, 3).astype("float64") / 255.0
    from zoo.layers import image_preprocessor as module

    chunk = module.ADAPT_CHUNK
    module.ADAPT_CHUNK = 7  # several chunks, the last one partial
    try:
        prep = zoo.layers.ImagePreprocessor((5, 6, 3)).adapt(x)
    finally:
        module.ADAPT_CHUNK = chunk
    np.testing.assert_allclose(to_numpy(prep.mean), pixels.mean(0), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(prep.std), pixels.std(0), rtol=1e-6)
    labels = np.zeros(30, "int32")
    for ds in (tf.data.Dataset.from_tensor_slices(x).batch(8), tf.data.Dataset.from_tensor_slices((x, labels)).batch(8),
               tf.data.Dataset.from_tensor_slices(({"images": x, "labels": labels}, labels)).batch(8)):
        from_ds = zoo.layers.ImagePreprocessor((5, 6, 3)).adapt(ds)
        np.testing.assert_allclose(to_numpy(from_ds.mean), pixels.mean(0), rtol=1e-6)
        np.testing.assert_allclose(to_numpy(from_ds.std), pixels.std(0), rtol=1e-6)
    first = zoo.layers.ImagePreprocessor((5, 6, 3)).adapt(tf.data.Dataset.from_tensor_slices(x).batch(8), max_images=10)
    np.testing.assert_allclose(to_numpy(first.mean), x[:10].reshape(-1, 3).mean(0) / 255.0, rtol=1e-6)


def test_constant_channel_keeps_std_one_and_bad_data_fails():
    prep = zoo.layers.ImagePreprocessor((4, 4, 1)).adapt(np.full((3, 4, 4), 51, "uint8"))
    np.testing.assert_allclose(to_numpy(prep.mean), [0.2], rtol=1e-6)
    np.testing.assert_array_equal(to_numpy(prep.std), [1.0])
    with pytest.raises(ValueError, match="ImagePreprocessor.adapt: `data` holds no images"):
        zoo.layers.ImagePreprocessor((4, 4, 1)).adapt(np.zeros((0, 4, 4), "uint8"))
    with pytest.raises(ValueError, match="ImagePreprocessor.adapt: the images hold NaN or inf values"):
        zoo.layers.ImagePreprocessor((4, 4, 1)).adapt(np.full((2, 4, 4), np.nan))


def test_given_statistics_broadcast_and_mark_the_layer_adapted():
    x = _digits(4)
    prep = zoo.layers.ImagePreprocessor((8, 8, 3), mean=0.5, std=[0.25, 0.5, 1.0])
    prep.build()
    assert prep.is_adapted
    np.testing.assert_allclose(to_numpy(prep.mean), [0.5] * 3)
    out = to_numpy(prep(x))
    grey = x.astype("float64") / 255.0
    for channel, std in enumerate([0.25, 0.5, 1.0]):  # a grey image repeated to RGB, then normalised per channel
        np.testing.assert_allclose(out[..., channel], (grey - 0.5) / std, rtol=1e-5, atol=1e-5)
    plain = zoo.layers.ImagePreprocessor((8, 8, 1), scale=1.0)
    plain.build()
    assert not plain.is_adapted
    np.testing.assert_allclose(to_numpy(plain(x))[..., 0], x.astype("float32"))  # mean 0, std 1, no scaling


def test_channel_conversion_and_resize():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, size=(2, 6, 6, 3)).astype("uint8")
    grey = zoo.layers.ImagePreprocessor((6, 6, 1), mean=0.0, std=1.0)
    np.testing.assert_allclose(to_numpy(grey.convert(rgb))[..., 0], rgb.astype("float64").mean(-1), rtol=1e-5)
    x = _digits(3)
    up = zoo.layers.ImagePreprocessor((16, 12, 3), mean=0.0, std=1.0)
    out = to_numpy(up(x))
    assert out.shape == (3, 16, 12, 3) and up.compute_output_shape((3, 8, 8)) == (3, 16, 12, 3)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    assert out.min() >= -1e-6 and out.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(out.mean(), x.astype("float64").mean() / 255.0, atol=0.02)  # resizing keeps the mean
    flat = to_numpy(up(np.full((1, 8, 8), 204, "uint8")))
    np.testing.assert_allclose(flat, 0.8, rtol=1e-5)  # a constant image stays constant
    free = zoo.layers.ImagePreprocessor((None, None, 1), mean=0.0, std=1.0)
    assert to_numpy(free(x)).shape == (3, 8, 8, 1) and free.compute_output_shape((3, 8, 8)) == (3, 8, 8, 1)
    with pytest.raises(ValueError, match="images with 2 channels cannot feed a backbone that takes 3"):
        up(np.zeros((1, 8, 8, 2), "uint8"))


@pytest.mark.parametrize("kwargs, message", [
    ({"image_shape": (8, 8)}, r"`image_shape` must be \(height, width, channels\)"),
    ({"image_shape": (8, 8, 2)}, r"channels 1 or 3"),
    ({"image_shape": (0, 8, 1)}, r"sizes >= 1"),
    ({"image_shape": (8, 8, 1), "std": 0.0}, r"`std` must be > 0; got 0.0"),
    ({"image_shape": (8, 8, 3), "mean": [0.1, 0.2]}, r"`mean` must be a finite scalar or one value per channel \(3\)"),
    ({"image_shape": (8, 8, 1), "mean": float("nan")}, r"`mean` must be a finite scalar"),
    ({"image_shape": (8, 8, 1), "scale": -1.0}, r"scale"),
])
def test_bad_arguments_name_themselves(kwargs, message):
    with pytest.raises(ValueError, match=message):
        zoo.layers.ImagePreprocessor(**kwargs)


def test_config_and_keras_round_trip_keep_the_statistics(tmp_path):
    x = _digits()
    prep = zoo.layers.ImagePreprocessor((12, 12, 3), mean=[0.1, 0.2, 0.3], std=0.5, scale=1.0 / 128, name="prep")
    copy = roundtrip_object(prep)
    assert copy.get_config() == prep.get_config()
    assert copy.image_shape == (12, 12, 3) and copy.scale == pytest.approx(1.0 / 128)
    inputs = keras.Input((8, 8))
    adapted = zoo.layers.ImagePreprocessor((8, 8, 1), name="prep")
    model = keras.Model(inputs, adapted(inputs))
    adapted.adapt(x)
    path = os.path.join(tmp_path, "prep.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("prep")
    assert isinstance(layer, zoo.layers.ImagePreprocessor) and layer.is_adapted
    np.testing.assert_array_equal(to_numpy(layer.mean), to_numpy(adapted.mean))
    np.testing.assert_array_equal(to_numpy(layer.std), to_numpy(adapted.std))
    np.testing.assert_array_equal(to_numpy(loaded(x)), to_numpy(model(x)))
