"""Mixup on the data side, with both label sets and lambda packed into y_true for a stateless loss.

Each batch (x, y) becomes (lam * x + (1 - lam) * x[perm], [y, y[perm], lam]) with one
lam ~ Beta(alpha, alpha) per batch and a random permutation perm of the batch (the reference's
`mixup_data`). The packed float32 labels [B, 3] = (y_a, y_b, lam) are read by
`zoo.losses.PrototypeRegressionLoss` (loss = lam l(y_a) + (1 - lam) l(y_b)) and by
`zoo.layers.PrototypeHead` (which updates its class means with y_a), so no loss or layer needs to
hold per-batch state. TensorFlow is imported lazily (tf.data feeds `model.fit` on every backend).
"""

import numbers

import numpy as np

from zoo.data._checks import check_seed

__all__ = ["mixup", "pack_mixup_labels"]


def pack_mixup_labels(y_a, y_b, lam):
    """float32 [B, 3] rows (y_a, y_b, lam) from two int label arrays [B] and a scalar or [B] lam (numpy).

    Class ids are exact in float32 up to 2^24.

    Example:
        >>> zoo.data.pack_mixup_labels([1, 2], [2, 1], 0.3)
        array([[1. , 2. , 0.3], [2. , 1. , 0.3]], dtype=float32)
    """
    y_a = np.asarray(y_a)
    y_b = np.asarray(y_b)
    if y_a.ndim != 1 or y_a.shape != y_b.shape:
        raise ValueError(f"y_a and y_b must be 1-D of the same length; got {y_a.shape} and {y_b.shape}.")
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float32), y_a.shape)
    return np.stack([y_a.astype(np.float32), y_b.astype(np.float32), lam], axis=1)


def mixup(dataset, alpha=1.0, seed=0, label_input=False):
    """Mix every batch of a batched `(images, int labels)` tf.data pipeline; labels become packed [B, 3].

        lam ~ Beta(alpha, alpha) (one per batch),  perm = random permutation of the batch,
        x~ = lam x + (1 - lam) x[perm],   y_true = (y, y[perm], lam)  (float32 [B, 3]).

    Random numbers come from stateless ops seeded by `tf.data.Dataset.random(seed)` (re-drawn every
    epoch), so a pipeline is reproducible from `seed` on every backend.

    Args:
        dataset: batched `tf.data.Dataset` of (float images [B, ...], int labels [B]), e.g. from
            `zoo.data.make_dataset(..., shuffle=True)`.
        alpha: Beta parameter >= 0 (reference: 1.0, i.e. lam uniform in [0, 1]); 0 disables mixing
            (lam = 1, as the reference).
        seed: int seed in [0, 2**31 - 1].
        label_input: also feed y_a as a second model input, ((x~, y_a), y_true), for heads with
            `needs_labels` (`zoo.layers.PrototypeHead`).

    Returns:
        `tf.data.Dataset` of (x~, y_true) or ((x~, y_a), y_true).

    Example:
        >>> train = zoo.data.make_dataset(x, y, shuffle=True, normalize=zoo.data.FASHION_MNIST_MEAN_STD)
        >>> model.fit(zoo.data.mixup(train, alpha=1.0, label_input=True), ...)

    Reference:
        Zhang et al., "mixup: Beyond empirical risk minimization", ICLR 2018; DL2PA (CVPR 2024) trains
        its long-tail runs with alpha = 1 (code: `utils/LT_utils.mixup_data`).

    Departures from the reference code:
        The labels travel packed in y_true instead of as extra arguments of the criterion; the
        accuracy metrics of a mixup run must read y_a = y_true[:, 0] (training accuracy against y_a,
        as the reference logs it).
    """
    import tensorflow as tf

    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not float(alpha) >= 0.0:
        raise ValueError(f"`alpha` must be a number >= 0; got {alpha!r}.")
    alpha = float(alpha)
    seed = check_seed(seed, "mixup")
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise ValueError("mixup expects a batched dataset of (images, labels) pairs.")
    if len(spec[1].shape) != 1:
        raise ValueError(f"mixup expects int labels [B]; got labels of shape {spec[1].shape}.")

    def mix(batch, r):
        x, y = batch
        x = tf.cast(x, tf.float32)
        n = tf.shape(y)[0]
        seeds = tf.random.experimental.stateless_split(tf.stack([r, tf.constant(seed, tf.int64)]), 3)
        perm = tf.argsort(tf.random.stateless_uniform([n], seed=seeds[0]))
        if alpha > 0:
            g1 = tf.random.stateless_gamma([], seed=seeds[1], alpha=alpha)
            g2 = tf.random.stateless_gamma([], seed=seeds[2], alpha=alpha)
            lam = g1 / (g1 + g2)
        else:
            lam = tf.constant(1.0)
        x_b = tf.gather(x, perm)
        # A convex combination lies between its two ends; float32 rounding can step past them (255 + 2e-5 for two
        # 255 pixels), which breaks range checks such as the task models' 0..255 raw-pixel assertion.
        x_mixed = tf.clip_by_value(lam * x + (1.0 - lam) * x_b, tf.minimum(x, x_b), tf.maximum(x, x_b))
        y_b = tf.gather(y, perm)
        packed = tf.stack([tf.cast(y, tf.float32), tf.cast(y_b, tf.float32), tf.fill([n], lam)], axis=1)
        if label_input:
            return (x_mixed, y), packed
        return x_mixed, packed

    rand = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    return tf.data.Dataset.zip((dataset, rand)).map(mix, num_parallel_calls=tf.data.AUTOTUNE)
