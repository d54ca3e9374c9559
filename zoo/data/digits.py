"""The UCI handwritten digits bundled with scikit-learn (`sklearn.datasets.load_digits`).

1,797 real 8x8 grey images of the digits 0-9 (about 180 per class), 4-bit intensities 0..16. They
ship inside the scikit-learn wheel, so they are always available offline: the project's unit tests
and training smoke tests use them, and resized to 28x28 they serve as an out-of-distribution set next
to Fashion-MNIST.

Pure numpy (plus scikit-learn for the data): no TensorFlow import.
"""

import numpy as np

from zoo._checks import check_int, check_range
from zoo.data._checks import check_seed

__all__ = ["digits", "resize_bilinear", "DIGITS_MEAN_STD"]

#: Mean and standard deviation of all 1,797 digits images at 8x8, uint8 0..255 scaled to [0, 1];
#: measured: 0.30531, 0.37589 (tests/data/test_digits.py recomputes them). At 28x28 (bilinear) the
#: values differ slightly; for out-of-distribution use, normalise with the in-distribution statistics.
DIGITS_MEAN_STD = (0.3053, 0.3759)


def _interp_matrix(n_in, n_out):
    """[n_out, n_in] matrix of bilinear weights, half-pixel centres, edges clamped.

    Same convention as `tf.image.resize(..., "bilinear", antialias=False)` and
    `keras.ops.image.resize`: output pixel i samples the input at (i + 0.5) * n_in / n_out - 0.5.
    """
    pos = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0.0, n_in - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = pos - lo
    m = np.zeros((n_out, n_in), dtype=np.float64)
    m[np.arange(n_out), lo] += 1.0 - frac
    m[np.arange(n_out), hi] += frac
    return m


def resize_bilinear(images, size):
    """Resize a batch of grey images with bilinear interpolation (numpy only).

    Returns:
        float64 array ``[N, height, width]`` (not rounded; cast as you need).

    Args:
        images: array ``[N, H, W]``.
        size: int (square output) or ``(height, width)``; each must be >= 1.

    Uses half-pixel centres and clamped edges, matching ``tf.image.resize(method="bilinear",
    antialias=False)``; like it, there is no anti-aliasing filter when shrinking.

    Example:
        >>> big = zoo.data.resize_bilinear(np.zeros((5, 8, 8)), 28)
        >>> big.shape
        (5, 28, 28)
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must be [N, H, W], got shape {images.shape}")
    h_out, w_out = (size, size) if np.isscalar(size) else tuple(size)
    if int(h_out) < 1 or int(w_out) < 1:
        raise ValueError(f"size must be >= 1, got {size!r}")
    rows = _interp_matrix(images.shape[1], int(h_out))
    cols = _interp_matrix(images.shape[2], int(w_out))
    return np.einsum("ih,nhw,jw->nij", rows, images.astype(np.float64), cols, optimize=True)


def _stratified_split(labels, test_fraction, seed):
    """Indices (train, test): per class, round(n_c * test_fraction) random examples go to test."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(idx.size)]
        n_test = int(round(idx.size * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    train, test = np.concatenate(train), np.concatenate(test)
    # Shuffle across classes (deterministically) so the arrays are not sorted by label.
    return train[rng.permutation(train.size)], test[rng.permutation(test.size)]


def digits(size=None, test_fraction=0.25, seed=0):
    """Load scikit-learn's 1,797 real 8x8 handwritten digits as uint8 images with a stratified split.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: images uint8 numpy arrays ``[N, s, s]`` in 0..255
        (``s`` = 8, or ``size``), labels int64 ``[N]`` in 0..9. With the defaults 1,347 train and
        450 test images; each class is split in the same proportion (stratified), and the split
        depends only on ``seed``.

    Args:
        size: None to keep 8x8, or an int (e.g. 28 to sit next to Fashion-MNIST): images are
            resized with bilinear interpolation (numpy, half-pixel centres like
            ``tf.image.resize``) and rounded back to uint8.
        test_fraction: fraction of each class held out for test, in [0, 1).
        seed: int seed of the split (numpy ``default_rng``), in [0, 2**31 - 1].

    The original 4-bit intensities 0..16 are mapped to 0..255 as ``round(v * 255 / 16)``.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = zoo.data.digits(size=28)
        >>> x_train.shape, x_train.dtype, y_train.dtype
        ((1347, 28, 28), dtype('uint8'), dtype('int64'))
    """
    test_fraction = check_range(test_fraction, "test_fraction", "digits", 0.0, 1.0, "0", "1", hi_open=True)
    if size is not None:
        size = check_int(size, "size", minimum=1, owner="digits")
    seed = check_seed(seed, "digits")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)  # [1797, 8, 8], 0..16
    labels = np.asarray(bunch.target, dtype=np.int64)
    images = images * (255.0 / 16.0)
    if size is not None and size != images.shape[1]:
        images = resize_bilinear(images, size)
    images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
    train, test = _stratified_split(labels, test_fraction, seed)
    return (images[train], labels[train]), (images[test], labels[test])
