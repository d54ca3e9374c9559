"""Image preprocessing shared by the tf.data pipelines of `zoo.data` (`make_dataset`, `pk_batches`,
`episodes`): augmentation presets, the (mean, std) normalisation check and the float conversion.

TensorFlow and keras are imported lazily, inside the functions that build tf.data graphs.
"""

import numpy as np

__all__ = ["AUGMENT_PRESETS", "PAD_CROP_PIXELS", "augment_fns", "check_augment", "check_normalize", "float_images"]

#: Names accepted by `make_dataset(augment=...)`.
AUGMENT_PRESETS = ("flip", "crop", "flip_crop")
#: Padding (pixels per side) of the "crop" preset: the usual pad-4 random crop of CIFAR training.
PAD_CROP_PIXELS = 4


def _check_preset(name):
    if name not in AUGMENT_PRESETS:
        raise ValueError(f"augment={name!r} is not a preset; use one of {AUGMENT_PRESETS}, None, or a "
                         "list of keras.layers preprocessing layers")


def _preset_layers(name, height, width, seed):
    import keras

    _check_preset(name)
    layers = []
    if name in ("flip", "flip_crop"):
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if name in ("crop", "flip_crop"):
        # Pad-4 random crop, per image: a random integer shift in [-4, 4] pixels on each axis with zero
        # fill. keras.layers.RandomCrop would draw one crop offset per *batch*, so this uses
        # RandomTranslation with nearest interpolation (integer shifts) and constant 0 fill instead.
        layers.append(keras.layers.RandomTranslation(
            height_factor=PAD_CROP_PIXELS / height, width_factor=PAD_CROP_PIXELS / width,
            fill_mode="constant", fill_value=0.0, interpolation="nearest", seed=seed + 1))
    return layers


def check_augment(augment):
    """The items of `augment` as a flat list (preset names, keras layers, callables), validated without building
    any layer: a TypeError / ValueError for anything else. Pipelines call it even when they do not augment
    (``make_dataset(shuffle=False)``), so a typo fails at once, not in the training run."""
    import keras

    if augment is None:
        return []
    if isinstance(augment, str):
        _check_preset(augment)
        return [augment]
    if isinstance(augment, keras.layers.Layer) or callable(augment):
        return [augment]
    if not isinstance(augment, (list, tuple)):
        raise TypeError(f"augment must be None, one of {AUGMENT_PRESETS}, a keras layer or a list of "
                        f"them; got {type(augment).__name__}")
    items = []
    for item in augment:
        if isinstance(item, str):
            _check_preset(item)
        elif not (isinstance(item, keras.layers.Layer) or callable(item)):
            raise TypeError(f"augment list items must be keras layers, callables or preset names; got "
                            f"{type(item).__name__}")
        items.append(item)
    return items


def augment_fns(augment, height, width, seed):
    """List of callables images -> images (Keras layers are called with training=True)."""
    import keras

    fns = []
    for item in check_augment(augment):
        if isinstance(item, str):
            items = _preset_layers(item, height, width, seed)
        else:
            items = [item]
        for layer in items:
            if isinstance(layer, keras.layers.Layer):
                fns.append(lambda t, layer=layer: layer(t, training=True))
            else:
                fns.append(layer)
    return fns


def check_normalize(normalize, channels):
    """(mean, std) float32 arrays (scalar or per channel) from `normalize`, or None; ValueError if malformed."""
    if normalize is None:
        return None
    try:
        mean, std = normalize
    except (TypeError, ValueError):
        raise ValueError(f"normalize must be None or a (mean, std) pair, got {normalize!r}") from None
    mean = np.asarray(mean, dtype=np.float32).reshape(-1)
    std = np.asarray(std, dtype=np.float32).reshape(-1)
    for what, v in (("mean", mean), ("std", std)):
        if v.size not in (1, channels):
            raise ValueError(f"normalize {what} must be a scalar or have one value per channel "
                             f"({channels}), got {v.size} values")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"normalize {what} must be finite, got {v.tolist()}")
    if np.any(std <= 0):
        raise ValueError(f"normalize std must be > 0, got {std.tolist()}")
    return mean, std


def float_images(images, augment_fns, scale, norm, raw=False):
    """Float32 batch: augment (in 0..255), scale to [0, 1] by `scale`, then `(x - mean) / std`.

    Shared by `make_dataset`, `pk_batches` and `episodes`; `augment_fns` from `augment_fns`, `norm` from
    `check_normalize` (or None), `scale` = 1/255 for integer images, 1 for [0, 1] floats. With `raw` the
    batch stops after augmentation: pixel values in 0..255 (float32), neither scaled nor normalised, for
    the task models of `zoo.models`, which preprocess themselves.
    """
    import tensorflow as tf

    images = tf.cast(images, tf.float32)
    if augment_fns or raw:
        # Augment in 0..255, the range Keras' preprocessing layers assume by default.
        if scale != 1.0 / 255.0:
            images = images * (255.0 * scale)
        for fn in augment_fns:
            images = tf.convert_to_tensor(fn(images), dtype=tf.float32)
        if raw:
            return images
        images = images * (1.0 / 255.0)
    elif scale != 1.0:
        images = images * scale
    if norm is not None:
        images = (images - norm[0]) / norm[1]
    return images
