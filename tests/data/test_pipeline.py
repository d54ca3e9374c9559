"""zoo.data.make_dataset: shapes, dtypes, scaling/normalisation, shuffling, augmentation, model.fit."""

import keras
import numpy as np
import pytest

import zoo.data
from zoo.data import DIGITS_MEAN_STD, FASHION_MNIST_MEAN_STD, make_dataset


def _batches(ds):
    out = [tuple(np.asarray(t) for t in b) if isinstance(b, tuple) else np.asarray(b) for b in ds]
    return out


def _concat(ds):
    batches = _batches(ds)
    if isinstance(batches[0], tuple):
        return tuple(np.concatenate(parts) for parts in zip(*batches))
    return np.concatenate(batches)


@pytest.fixture(scope="module")
def images():
    """40 random uint8 12x12 images with no zero pixel (so zero-filled shifts are detectable)."""
    rng = np.random.default_rng(0)
    return rng.integers(1, 256, size=(40, 12, 12), dtype=np.uint8)


def test_shapes_dtypes_and_scaling(images):
    y = np.arange(40) % 10
    ds = make_dataset(images, y, batch_size=16)
    batches = _batches(ds)
    assert [b[0].shape for b in batches] == [(16, 12, 12, 1), (16, 12, 12, 1), (8, 12, 12, 1)]
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int32
    x, labels = _concat(ds)
    np.testing.assert_allclose(x[..., 0], images / 255.0, rtol=1e-6, atol=1e-7)  # order kept without shuffle
    np.testing.assert_array_equal(labels, y)
    spec = ds.element_spec
    assert spec[0].shape.as_list() == [None, 12, 12, 1] and spec[1].shape.as_list() == [None]
    # drop_remainder: static batch dimension, the partial batch is gone.
    ds = make_dataset(images, y, batch_size=16, drop_remainder=True)
    assert ds.element_spec[0].shape.as_list() == [16, 12, 12, 1] and len(_batches(ds)) == 2


def test_images_only_channels_and_float_input(images):
    rgb = np.stack([images, 255 - images + 1, images // 2 + 1], axis=-1)  # [N, H, W, 3]
    ds = make_dataset(rgb, batch_size=32)
    x = _concat(ds)
    assert x.shape == (40, 12, 12, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x, rgb / 255.0, atol=1e-7)
    floats = (images / 255.0).astype(np.float32)
    np.testing.assert_allclose(_concat(make_dataset(floats, batch_size=32))[..., 0], floats, atol=1e-7)


def test_normalize_values(images):
    mean, std = FASHION_MNIST_MEAN_STD
    x = _concat(make_dataset(images, batch_size=64, normalize=(mean, std)))
    np.testing.assert_allclose(x[..., 0], (images / 255.0 - mean) / std, rtol=1e-5, atol=1e-5)
    rgb = np.stack([images] * 3, axis=-1)
    m, s = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    x = _concat(make_dataset(rgb, batch_size=64, normalize=(m, s)))
    np.testing.assert_allclose(x, (rgb / 255.0 - np.array(m)) / np.array(s), rtol=1e-5, atol=1e-5)
    # On the real digits the published statistics standardise the pixels.
    (d, _), _ = zoo.data.digits(test_fraction=0.0)
    z = _concat(make_dataset(d, batch_size=2048, normalize=DIGITS_MEAN_STD))
    assert abs(z.mean()) < 1e-3 and abs(z.std() - 1.0) < 1e-3


def test_shuffle_is_seeded_and_reshuffles(images):
    ids = np.arange(40)
    ds = make_dataset(images, ids, batch_size=8, shuffle=True, seed=1)
    (x1, y1), (_, y2) = _concat(ds), _concat(ds)
    assert sorted(y1) == list(range(40)) and not np.array_equal(y1, ids)
    assert not np.array_equal(y1, y2), "should reshuffle every epoch"
    np.testing.assert_allclose(x1[..., 0], images[y1] / 255.0, atol=1e-7)  # images stay with labels
    y_again, _ = _concat(make_dataset(images, ids, batch_size=8, shuffle=True, seed=1))[1], None
    np.testing.assert_array_equal(y_again, y1)
    # repeat=True: an endless stream.
    stream = make_dataset(images, ids, batch_size=16, repeat=True)
    assert len(_batches(stream.take(7))) == 7


def _shift(img, dy, dx):
    out = np.zeros_like(img)
    h, w = img.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[max(-dy, 0):h - max(dy, 0),
                                                                     max(-dx, 0):w - max(dx, 0)]
    return out


def test_flip_preset_flips_images_not_labels(images):
    ids = np.arange(40)
    x, y = _concat(make_dataset(images, ids, batch_size=16, shuffle=True, augment="flip"))
    assert sorted(y) == list(range(40))
    src = images[y] / 255.0
    same = np.all(np.isclose(x[..., 0], src, atol=1e-6), axis=(1, 2))
    flipped = np.all(np.isclose(x[..., 0], src[:, :, ::-1], atol=1e-6), axis=(1, 2))
    assert np.all(same | flipped), "every image is either itself or its mirror"
    assert 5 <= flipped.sum() <= 35, f"about half should be flipped, got {flipped.sum()}/40"


def test_crop_preset_is_per_image_pad4_crop(images):
    ids = np.arange(40)
    x, y = _concat(make_dataset(images, ids, batch_size=40, shuffle=True, augment="crop"))
    assert sorted(y) == list(range(40))
    shifts = []
    for img, i in zip(np.rint(x[..., 0] * 255).astype(np.uint8), y):
        match = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
                 if np.array_equal(img, _shift(images[i], dy, dx))]
        assert match, f"image {i} is not an integer shift of at most 4 px with zero fill"
        shifts.append(match[0])
    assert len(set(shifts)) > 5, f"shifts should vary per image, got {set(shifts)}"


def test_keras_layer_list_augmentation(images):
    ids = np.arange(40)
    layers = [keras.layers.RandomFlip("horizontal_and_vertical", seed=3),
              keras.layers.RandomTranslation(0.2, 0.2, seed=4)]
    x, y = _concat(make_dataset(images, ids, batch_size=20, shuffle=True, augment=layers))
    assert sorted(y) == list(range(40)) and x.dtype == np.float32 and np.all(np.isfinite(x))
    changed = ~np.all(np.isclose(x[..., 0], images[y] / 255.0, atol=1e-6), axis=(1, 2))
    assert changed.sum() >= 30, f"augmentation changed only {changed.sum()}/40 images"
    assert x.min() >= -1e-6 and x.max() <= 1 + 1e-6  # augmented in 0..255, then scaled to [0, 1]


def test_augment_only_when_shuffling(images):
    x = _concat(make_dataset(images, batch_size=40, shuffle=False, augment="flip_crop"))
    np.testing.assert_allclose(x[..., 0], images / 255.0, atol=1e-7)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(x=np.zeros((4, 5), np.uint8)), ValueError, r"\[N, H, W\]"),
    (dict(x=np.zeros((4, 5, 5), np.uint8), y=np.zeros(3, int)), ValueError, "4 images but y has 3"),
    (dict(x=np.zeros((4, 5, 5), np.uint8), y=np.zeros((4, 10), int)), ValueError, "one-hot"),
    (dict(x=np.zeros((4, 5, 5), np.uint8), y=np.zeros(4, np.float32)), TypeError, "integer class ids"),
    (dict(x=np.full((4, 5, 5), 300, np.int32)), ValueError, "0..255"),
    (dict(x=np.zeros((4, 5, 5), bool)), TypeError, "dtype"),
    (dict(x=np.zeros((4, 5, 5), np.uint8), normalize=(0.5, 0.0)), ValueError, "std must be > 0"),
    (dict(x=np.zeros((4, 5, 5), np.uint8), normalize=0.5), ValueError, r"\(mean, std\)"),
    (dict(x=np.zeros((4, 5, 5, 3), np.uint8), normalize=((0.1, 0.2), 1.0)), ValueError, "per channel"),
    (dict(x=np.zeros((4, 5, 5), np.uint8), batch_size=0), ValueError, "batch_size"),
    (dict(x=np.zeros((4, 5, 5), np.uint8), shuffle=True, augment="rotate"), ValueError, "not a preset"),
])
def test_bad_input_fails_early(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_dataset(**kwargs)


def test_model_fit_on_current_backend():
    (x_train, y_train), (x_test, y_test) = zoo.data.digits()
    train = make_dataset(x_train, y_train, batch_size=128, shuffle=True, normalize=DIGITS_MEAN_STD)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    losses = model.fit(train, epochs=2, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[1] < losses[0], losses
    scores = model.predict(make_dataset(x_test, batch_size=256, normalize=DIGITS_MEAN_STD), verbose=0)
    assert scores.shape == (450, 10) and np.all(np.isfinite(scores))
    _, acc = model.evaluate(make_dataset(x_test, y_test, batch_size=256, normalize=DIGITS_MEAN_STD), verbose=0)
    assert acc > 0.5, acc
    # Augmented, endless stream: Keras preprocessing layers run inside tf.data on every backend.
    augmented = make_dataset(x_train, y_train, batch_size=64, shuffle=True, augment="flip_crop",
                             normalize=DIGITS_MEAN_STD, repeat=True)
    history = model.fit(augmented, epochs=1, steps_per_epoch=3, verbose=0)
    assert np.isfinite(history.history["loss"][0])


# -- issue #13, item 13: float range, non-finite pixels, augment validated always, raw pixels -------------------
@pytest.mark.parametrize("x, match", [
    (np.full((4, 5, 5), 200.0, np.float32), r"float images must be in \[0, 1\].*divide by 255"),
    (np.where(np.eye(5, dtype=bool)[None], np.nan, 0.5).astype(np.float32).repeat(4, 0), "NaN"),
    (np.full((4, 5, 5), np.inf, np.float64), "inf"),
    (np.full((4, 5, 5), -0.5, np.float32), r"\[0, 1\]"),
])
def test_float_images_outside_unit_range_or_non_finite_are_refused(x, match):
    with pytest.raises(ValueError, match=match) as info:
        make_dataset(x, batch_size=2)
    assert "`x`" in str(info.value)


def test_augment_is_validated_without_shuffle():
    x = np.zeros((4, 5, 5), np.uint8)
    with pytest.raises(ValueError, match="not a preset"):
        make_dataset(x, shuffle=False, augment="rotate")
    with pytest.raises(TypeError, match="augment"):
        make_dataset(x, shuffle=False, augment=3)
    with pytest.raises(ValueError, match="not a preset"):
        make_dataset(x, shuffle=False, augment=["flip", "rotat"])


def test_raw_keeps_pixel_values_0_255(images):
    ids = np.arange(40)
    x, y = _concat(make_dataset(images, ids, batch_size=16, raw=True))
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x[..., 0], images.astype(np.float32))
    np.testing.assert_array_equal(y, ids)
    floats = images / np.float32(255.0)   # [0, 1] floats come back in 0..255 too
    np.testing.assert_allclose(_concat(make_dataset(floats, batch_size=40, raw=True))[..., 0], images, atol=1e-3)
    # Augmented in 0..255 and left there: every image is itself or its mirror, in raw pixel values.
    x, y = _concat(make_dataset(images, ids, batch_size=16, shuffle=True, augment="flip", raw=True))
    src = images[y].astype(np.float32)
    same = np.all(x[..., 0] == src, axis=(1, 2))
    flipped = np.all(x[..., 0] == src[:, :, ::-1], axis=(1, 2))
    assert np.all(same | flipped) and 5 <= flipped.sum() <= 35
    with pytest.raises(ValueError, match="`raw=True`.*`normalize`"):
        make_dataset(images, raw=True, normalize=FASHION_MNIST_MEAN_STD)
    with pytest.raises(ValueError, match="`raw`"):
        make_dataset(images, raw="yes")


@pytest.mark.parametrize("seed", [-1, 1.5, True, 2**40])
def test_bad_seed_is_named(images, seed):
    with pytest.raises(ValueError, match="make_dataset: `seed` must be an integer in"):
        make_dataset(images, shuffle=True, seed=seed)
