"""zoo.data.digits: real sklearn digits, uint8 scaling, stratified deterministic split, resizing."""

import numpy as np
import pytest

import zoo.data
from zoo.data import DIGITS_MEAN_STD, resize_bilinear


def test_shapes_dtypes_and_range():
    (x_train, y_train), (x_test, y_test) = zoo.data.digits()
    assert x_train.shape == (1347, 8, 8) and x_test.shape == (450, 8, 8)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert x_train.min() == 0 and x_train.max() == 255
    assert set(np.unique(y_train)) == set(range(10)) and set(np.unique(y_test)) == set(range(10))


def test_scaling_matches_sklearn():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    (x_train, y_train), (x_test, y_test) = zoo.data.digits(test_fraction=0.0)
    assert x_train.shape == (1797, 8, 8) and x_test.shape == (0, 8, 8)
    expected = np.rint(bunch.images * 255 / 16).astype(np.uint8)
    # Same multiset of (image, label) pairs: sort both by label then by pixel bytes.
    def canon(x, y):
        keys = sorted(range(len(y)), key=lambda i: (y[i], x[i].tobytes()))
        return x[keys], y[keys]
    a, b = canon(x_train, y_train), canon(expected, bunch.target)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    scaled = expected / 255.0
    np.testing.assert_allclose([scaled.mean(), scaled.std()], DIGITS_MEAN_STD, atol=1e-4)


def test_split_is_stratified_deterministic_and_disjoint():
    (x1, y1), (t1, u1) = zoo.data.digits(seed=3)
    (x2, y2), (t2, u2) = zoo.data.digits(seed=3)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(u1, u2)
    (x3, _), _ = zoo.data.digits(seed=4)
    assert not np.array_equal(x1, x3)
    counts = np.bincount(np.concatenate([y1, u1]), minlength=10)
    np.testing.assert_allclose(np.bincount(u1, minlength=10), counts * 0.25, atol=0.5 + 1e-9)
    # Train and test are disjoint: every original image appears exactly once overall.
    assert len(y1) + len(u1) == 1797
    assert not np.all(np.diff(y1) >= 0), "train labels should not be sorted by class"


def test_resize_to_28():
    (x_train, y_train), (x_test, _) = zoo.data.digits(size=28)
    (small, y_small), _ = zoo.data.digits()
    assert x_train.shape == (1347, 28, 28) and x_test.shape == (450, 28, 28) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(y_train, y_small)  # same split whatever the size
    # The upsampled images follow the originals: strong correlation with a nearest-neighbour upsampling.
    idx = np.floor((np.arange(28) + 0.5) * 8 / 28).astype(int)
    nearest = small[:, idx][:, :, idx].reshape(len(small), -1).astype(float)
    big = x_train.reshape(len(x_train), -1).astype(float)
    corr = [np.corrcoef(a, b)[0, 1] for a, b in zip(big[:100], nearest[:100])]
    assert np.mean(corr) > 0.9, np.mean(corr)


def test_resize_matches_tf_image_resize():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    imgs = rng.uniform(0, 255, size=(3, 8, 8))
    for size in (28, (5, 13), 3):
        ours = resize_bilinear(imgs, size)
        ref = tf.image.resize(imgs[..., None], (size, size) if np.isscalar(size) else size,
                              method="bilinear", antialias=False).numpy()[..., 0]
        np.testing.assert_allclose(ours, ref, atol=1e-3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="test_fraction"):
        zoo.data.digits(test_fraction=1.0)
    with pytest.raises(ValueError, match="size"):
        zoo.data.digits(size=0)
    with pytest.raises(ValueError, match=r"\[N, H, W\]"):
        resize_bilinear(np.zeros((8, 8)), 4)


def test_bad_seed_is_named():
    """Issue #13 item 21: seed=-1 used to surface as numpy's 'expected non-negative integer'."""
    with pytest.raises(ValueError, match="digits: `seed` must be an integer"):
        zoo.data.digits(seed=-1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(size="a"), "digits: `size` must be"), (dict(size=2.5), "digits: `size` must be"),
    (dict(test_fraction="x"), "digits: `test_fraction` must be"),
])
def test_bad_size_and_fraction_are_named(kwargs, match):
    """Issue #13 item 21: these used to surface as Python's bare int()/float() conversion errors."""
    with pytest.raises(ValueError, match=match):
        zoo.data.digits(**kwargs)
