"""Image-file and size helpers shared by `zoo.data.FewShotSplit` and `zoo.data.episodes`: size and channel
checks, progress-bar policy, bilinear resize and lazy decoding of image files (TensorFlow, imported lazily).
"""

import numbers

__all__ = ["AUTO_PROGRESS_MIN_FOLDERS", "AUTO_PROGRESS_MIN_ITEMS", "LOAD_BATCH", "check_channels", "check_image_size",
           "decode_fn", "peek_image", "resize", "verbose_on"]

# verbose="auto" shows a progress bar above this many items (images of a dataset, class folders).
AUTO_PROGRESS_MIN_ITEMS = 10_000
AUTO_PROGRESS_MIN_FOLDERS = 200
# Images per tf.data batch when a split is materialised to memory.
LOAD_BATCH = 256


def check_image_size(image_size, where):
    """None, or ``(height, width)`` ints >= 1 from an int or a pair; ValueError prefixed with `where`."""
    if image_size is None:
        return None
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        h, w = image_size
    except (TypeError, ValueError):
        raise ValueError(f"{where}: `image_size` must be None, an int or a (height, width) pair of ints >= 1; "
                         f"got {image_size!r}.") from None
    for v in (h, w):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{where}: `image_size` must be None, an int or a (height, width) pair of ints >= 1; "
                             f"got {image_size!r}.")
    return int(h), int(w)


def check_channels(channels, where):
    """None, 1 (grayscale) or 3 (RGB); ValueError prefixed with `where`."""
    if channels is None:
        return None
    if isinstance(channels, bool) or channels not in (1, 3):
        raise ValueError(f"{where}: `channels` must be None, 1 (grayscale) or 3 (RGB); got {channels!r}.")
    return int(channels)


def verbose_on(verbose, count, threshold):
    """Whether to show a progress bar: `verbose` 0/1, or "auto" (above `threshold` items, or an unknown count)."""
    if verbose == "auto":
        return count is None or count > threshold
    return bool(verbose)


def resize(images, size, integer):
    """Bilinear, antialiased resize to ``size`` (float32 out; rounded to integers for 0..255 data)."""
    import tensorflow as tf

    out = tf.image.resize(images, size, method="bilinear", antialias=True)
    if integer:
        out = tf.clip_by_value(tf.round(out), 0.0, 255.0)
    return out


def decode_fn(size, channels):
    """path -> float32 [H, W, C] image with integer values in 0..255 (decoded, resized when its size differs)."""
    import tensorflow as tf

    def decode(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False,
                                   dtype=tf.uint8)
        shape = tf.shape(image)
        same = tf.logical_and(tf.equal(shape[0], size[0]), tf.equal(shape[1], size[1]))
        image = tf.cond(same, lambda: tf.cast(image, tf.float32), lambda: resize(image, size, True))
        return tf.ensure_shape(image, [size[0], size[1], channels])

    return decode


def peek_image(path):
    """(height, width, channels) of one image file, decoded with TensorFlow."""
    import tensorflow as tf

    try:
        image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as e:
        raise ValueError(f"FewShotSplit: cannot decode the image file {path!r} ({type(e).__name__}).") from None
    h, w, c = (int(v) for v in image.shape)
    return h, w, c
