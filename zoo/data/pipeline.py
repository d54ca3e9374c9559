"""`make_dataset`: numpy images → batched, augmented, normalised `tf.data.Dataset` for `model.fit`.

tf.data is the input pipeline on every backend: Keras 3's `model.fit` accepts a `tf.data.Dataset`
on TensorFlow, JAX and PyTorch, and Keras' random preprocessing layers (`RandomFlip`,
`RandomTranslation`, `RandomCrop`, `RandAugment`, ...) switch to TensorFlow ops when called inside a
tf.data graph, whatever the backend. This module imports TensorFlow lazily (on the first
`make_dataset` call), so `import zoo.data` stays cheap.
"""

import numpy as np

from zoo._checks import check_int
from zoo.data._checks import check_raw, check_seed, pixel_scale
from zoo.data._preprocess import (
    AUGMENT_PRESETS,
    PAD_CROP_PIXELS,
    augment_fns,
    check_augment,
    check_normalize,
    float_images,
)

__all__ = ["make_dataset", "AUGMENT_PRESETS", "PAD_CROP_PIXELS"]

def make_dataset(x, y=None, batch_size=128, shuffle=False, augment=None, normalize=None, seed=0,
                 drop_remainder=False, repeat=False, cache=True, raw=False):
    """Build a batched `tf.data.Dataset` of float images (and int labels) that feeds `model.fit`.

    Each batch is ``images = (x / 255 - mean) / std`` as float32 ``[B, H, W, C]`` (a channel axis is
    added to ``[N, H, W]`` input; without ``normalize`` the images are in [0, 1]), paired with
    ``labels`` int32 ``[B]`` when ``y`` is given. With ``raw=True`` the images stay pixel values in 0..255
    (float32, augmented, neither scaled nor normalised): the input of the task models of `zoo.models`,
    which scale and normalise inside the model.

    Returns:
        `tf.data.Dataset` yielding ``(images, labels)``, or ``images`` alone when ``y`` is None;
        batched, prefetched. Works with ``model.fit`` / ``evaluate`` / ``predict`` on the
        TensorFlow, JAX and PyTorch backends.

    Args:
        x: images, numpy-like ``[N, H, W]`` or ``[N, H, W, C]``; uint8 (or another integer type with
            values in 0..255) is scaled by 1/255; floating input must be finite and in [0, 1] already
            (float images in 0..255 are refused: pass them as uint8 or divide them by 255).
        y: optional integer class ids ``[N]`` (cast to int32). One-hot labels are rejected.
        batch_size: positive int.
        shuffle: reshuffle the whole set every epoch (buffer = N, seeded with ``seed``). Use True
            for training. ``augment`` only applies when ``shuffle`` is True (training pipelines);
            evaluation pipelines built with the same arguments and ``shuffle=False`` stay clean
            (``augment`` is still validated).
        augment: None; a preset: ``"flip"`` (random horizontal flip), ``"crop"`` (pad-4 random
            crop, per image, zero fill), ``"flip_crop"`` (both); a core ``keras.layers``
            preprocessing layer or a list of them (e.g. ``[keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomTranslation(0.1, 0.1), keras.layers.RandAugment()]``; keras-cv is
            not needed) or any callable ``images -> images`` on TF tensors. Augmentation sees
            float32 batches in **0..255** (Keras' default ``value_range``) before scaling and
            normalisation; layers are called with ``training=True``.
        normalize: None or ``(mean, std)`` of [0, 1]-scaled pixels, scalars or one per channel,
            e.g. `zoo.data.FASHION_MNIST_MEAN_STD` or `zoo.data.DIGITS_MEAN_STD`.
        seed: int seed in [0, 2**31 - 1] of the shuffle and of the preset augmentation layers.
        drop_remainder: drop the last partial batch (static batch size).
        repeat: repeat forever (then pass ``steps_per_epoch`` to ``fit``).
        cache: cache the decoded examples before shuffling (cheap for in-memory arrays; keeps one
            copy of the uint8 data, not of the float images).
        raw: False (default): images scaled to [0, 1] (and normalised). True: pixel values in 0..255
            (float32; [0, 1] float input is multiplied by 255), augmented but not scaled; for
            `zoo.models` task models (``normalize`` must then be None).

    Raises:
        ValueError / TypeError: wrong image rank, dtype or range (float images outside [0, 1], NaN or
            inf pixels), labels not 1-D integers or of a different length, bad ``normalize``,
            ``normalize`` with ``raw=True``, ``batch_size`` < 1, a bad ``seed``, an unknown preset
            (whatever ``shuffle``).

    Example:
        >>> (x_train, y_train), _ = zoo.data.fashion_mnist()
        >>> ds = zoo.data.make_dataset(x_train, y_train, batch_size=128, shuffle=True,
        ...                            augment="flip_crop", normalize=zoo.data.FASHION_MNIST_MEAN_STD)
        >>> model.fit(ds, epochs=10)
        >>> raw = zoo.data.make_dataset(x_train, y_train, shuffle=True, augment="flip", raw=True)
        >>> model = zoo.models.ImageClassifier("conv4", num_classes=10, input_shape=(28, 28, 1))
        >>> model.compile()
        >>> model.fit(raw, epochs=10)   # the model scales and normalises raw pixels itself
    """
    import tensorflow as tf

    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"x must be images [N, H, W] or [N, H, W, C], got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("x is empty (0 images)")
    scale = pixel_scale(x, "make_dataset")
    batch_size = check_int(batch_size, "batch_size", minimum=1, owner="make_dataset")
    n, height, width, channels = x.shape
    norm = check_normalize(normalize, channels)
    raw = check_raw(raw, normalize, "make_dataset")
    seed = check_seed(seed, "make_dataset")
    check_augment(augment)  # validated even when it will not run (shuffle=False)

    if y is not None:
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be integer class ids of shape [N], got shape {y.shape} "
                             "(one-hot labels? pass y.argmax(-1))")
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"y must be integer class ids, got dtype {y.dtype}")
        if y.shape[0] != n:
            raise ValueError(f"x has {n} images but y has {y.shape[0]} labels")
        y = y.astype(np.int32)

    fns = augment_fns(augment, height, width, seed) if shuffle else []

    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(int(batch_size), drop_remainder=bool(drop_remainder))

    def to_float(images):
        return float_images(images, fns, scale, norm, raw)

    if y is None:
        ds = ds.map(to_float, num_parallel_calls=None if fns else tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda images, labels: (to_float(images), labels),
                    num_parallel_calls=None if fns else tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
