"""What the task models do to the data a user hands `fit`, `evaluate` and `predict`: check it and route labels.

- Images are raw pixel values in 0..255 (uint8, or float/int holding 0..255), `[N, H, W]` or `[N, H, W, C]`.
  Arrays are checked on the host (finite, in range; floats that look pre-scaled to [0, 1] warn); `tf.data`
  batches are checked inside the input pipeline (tf.debugging asserts, so the same message on every backend).
- Labels are integer class ids `[N]` (or `[N, 1]`) in `[0, num_classes)`: one-hot labels, float labels that
  are not whole numbers and ids out of range raise a ValueError naming the bad values (arrays) or fail the
  input pipeline with that message (datasets). Labels of another width (mixup-packed `[N, 3]`) pass as they are.
- Heads that update state from the labels get them as a second input: the model is fed
  `{"images": x, "labels": y}` (`LABELS_KEY`), which `split_inputs` undoes inside `call`.

The checks run on the host or in the tf.data pipeline, never inside the compiled train step.
"""

import warnings

import numpy as np

__all__ = ["IMAGES_KEY", "LABELS_KEY", "check_images", "check_labels", "feed", "feed_validation", "is_dataset",
           "is_stream", "predict_feed", "require_array", "split_inputs"]

IMAGES_KEY = "images"
LABELS_KEY = "labels"
# Pixel values a task model takes.
PIXEL_MAX = 255.0
# Shown in messages: at most this many offending label values.
MAX_SHOWN = 5


def is_dataset(x):
    """True for a `tf.data.Dataset` (without importing TensorFlow)."""
    return hasattr(x, "element_spec") and type(x).__module__.startswith("tensorflow")


def is_stream(x):
    """True for inputs that batch and shuffle themselves: tf.data datasets, generators, `keras.utils.PyDataset`s."""
    return is_dataset(x) or _is_pydataset(x) or _is_generator(x)


def require_array(x, name, where):
    """`x` as a numpy array; a clear TypeError when a tf.data dataset (or a Keras PyDataset) is passed instead."""
    if is_dataset(x) or _is_pydataset(x):
        raise TypeError(f"{where}: `{name}` must be an array of images or labels, not a {type(x).__name__}; "
                        f"collect the arrays first (e.g. `np.concatenate([b for b in ds.as_numpy_iterator()])`).")
    return np.asarray(x)


def split_inputs(inputs):
    """(images, labels or None) from what `call` received: images, or {"images": ..., "labels": ...}."""
    if isinstance(inputs, dict):
        return inputs[IMAGES_KEY], inputs.get(LABELS_KEY)
    return inputs, None


def check_images(x, where, name="x"):
    """Check a numpy-like batch of raw images: numeric, rank 3 or 4, finite, in 0..255. Returns the array."""
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"{where}: `{name}` must hold numeric pixel values 0..255; got dtype {x.dtype}.")
    if x.ndim not in (3, 4):
        raise ValueError(f"{where}: `{name}` must be images [N, H, W] or [N, H, W, C]; got shape {x.shape}.")
    if x.size == 0:
        raise ValueError(f"{where}: `{name}` holds no images (shape {x.shape}).")
    lo, hi = _finite_range(x, where, name)
    if lo < 0 or hi > PIXEL_MAX:
        raise ValueError(f"{where}: `{name}` must hold raw pixel values in 0..255 (the model rescales and normalises "
                         f"them itself); got values in [{lo:g}, {hi:g}].")
    if np.issubdtype(x.dtype, np.floating) and hi <= 1.0 and x.size > 64:
        warnings.warn(f"{where}: `{name}` holds floats in [{lo:g}, {hi:g}], which looks like images already scaled "
                      "to [0, 1]; task models take raw pixel values 0..255 and scale them themselves.", stacklevel=3)
    return x


def check_labels(y, num_classes, where, name="y", count=None):
    """int32 class ids [N] from `y` ([N] or [N, 1]); ValueError naming one-hot, fractional or out-of-range labels.

    Labels of another width (e.g. mixup-packed `[N, 3]`) are returned as float32, unchecked.
    """
    y = require_array(y, name, where)
    if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise TypeError(f"{where}: `{name}` must be integer class ids; got dtype {y.dtype}.")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and num_classes is not None and y.shape[1] == num_classes:
        raise ValueError(f"{where}: `{name}` looks one-hot (shape {y.shape}, {num_classes} classes); pass integer "
                         f"class ids [N] instead, e.g. `{name}.argmax(-1)`.")
    if y.ndim == 2:
        return y.astype("float32")
    if y.ndim != 1:
        raise ValueError(f"{where}: `{name}` must be integer class ids of shape [N]; got shape {y.shape}.")
    if count is not None and len(y) != count:
        raise ValueError(f"{where}: `x` has {count} images but `{name}` has {len(y)} labels.")
    if np.issubdtype(y.dtype, np.floating):
        bad = y[~np.isfinite(y) | (y != np.round(y))]
        if bad.size:
            raise ValueError(f"{where}: `{name}` must be whole class ids; got {_show(bad)}.")
    bad = y[(y < 0) | (y >= (np.inf if num_classes is None else num_classes))]
    if bad.size:
        allowed = ">= 0" if num_classes is None else f"in [0, num_classes) = [0, {num_classes})"
        raise ValueError(f"{where}: `{name}` must be class ids {allowed}; got {_show(bad)}.")
    return y.astype("int32")


def feed(x, y, *, num_classes, needs_labels, where, sample_weight=None):
    """What to hand Keras for (x, y): checked arrays or a checked dataset, labels routed into x when needed.

    Returns `(x, y)`; `y` is None for datasets and generators (they carry their labels).
    """
    if is_dataset(x):
        if y is not None:
            raise ValueError(f"{where}: `y` must be None when `x` is a tf.data dataset (it yields its labels).")
        return _dataset_feed(x, num_classes, needs_labels, where), None
    if _is_pydataset(x) or _is_generator(x):
        if y is not None:
            raise ValueError(f"{where}: `y` must be None when `x` is a {type(x).__name__} (it yields its labels).")
        return _generator_feed(x, num_classes, needs_labels, where), None
    if isinstance(x, dict):
        raise TypeError(f"{where}: `x` must be images (an array or a dataset), not a dict; labels go in `y`.")
    x = check_images(x, where)
    if y is None:
        if needs_labels:
            raise ValueError(f"{where}: this head learns from the labels; pass `y`.")
        return x, None
    y = check_labels(y, num_classes, where, count=len(x))
    if needs_labels:
        return {IMAGES_KEY: x, LABELS_KEY: y}, y
    return x, y


def feed_validation(data, *, num_classes, needs_labels, where):
    """`validation_data` for Keras: a dataset, or an `(x, y)` / `(x, y, sample_weight)` tuple."""
    if data is None:
        return None
    if is_dataset(data) or _is_pydataset(data) or _is_generator(data):
        return feed(data, None, num_classes=num_classes, needs_labels=needs_labels, where=where)[0]
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise TypeError(f"{where}: `validation_data` must be a dataset or an (x, y) tuple; got {type(data).__name__}.")
    x, y = feed(data[0], data[1], num_classes=num_classes, needs_labels=needs_labels, where=where)
    return (x, y) + tuple(data[2:])


def predict_feed(x, where):
    """Images for `predict`: checked arrays, or a dataset / generator whose labels (if any) are dropped."""
    if is_dataset(x):
        return _dataset_feed(x, None, False, where, drop_labels=True)
    if _is_pydataset(x) or _is_generator(x):
        return _generator_feed(x, None, False, where, drop_labels=True)
    return check_images(x, where)


# -- datasets ---------------------------------------------------------------------------------------------------
def _dataset_feed(ds, num_classes, needs_labels, where, drop_labels=False):
    import tensorflow as tf

    spec = ds.element_spec
    if isinstance(spec, dict):
        raise TypeError(f"{where}: the dataset must yield images or (images, labels) batches, not dicts.")
    has_labels = isinstance(spec, tuple) and len(spec) >= 2
    image_spec = spec[0] if isinstance(spec, tuple) else spec
    if len(image_spec.shape) not in (3, 4):
        raise ValueError(f"{where}: the dataset must yield batches of images [B, H, W] or [B, H, W, C]; got element "
                         f"shape {image_spec.shape} (batch it with `.batch(n)`).")
    if has_labels and not drop_labels:
        label_spec = spec[1]
        shape = label_spec.shape
        if len(shape) == 2 and num_classes is not None and shape[-1] == num_classes and num_classes != 1:
            raise ValueError(f"{where}: the dataset yields one-hot labels (shape {shape}); yield integer class ids, "
                             "e.g. `image_dataset_from_directory(..., label_mode='int')` or `.map(lambda x, y: (x, "
                             "tf.argmax(y, -1)))`.")
    elif needs_labels and not drop_labels:
        raise ValueError(f"{where}: this head learns from the labels; the dataset must yield (images, labels).")

    def check_images_tf(images):
        values = tf.cast(images, tf.float32)
        return [tf.debugging.assert_equal(tf.reduce_all(tf.math.is_finite(values)), True,
                                          message=f"{where}: images hold NaN or inf values"),
                tf.debugging.assert_greater_equal(values, 0.0, message=f"{where}: images must hold raw pixel values "
                                                  "in 0..255"),
                tf.debugging.assert_less_equal(values, PIXEL_MAX, message=f"{where}: images must hold raw pixel "
                                               "values in 0..255 (the model rescales them itself)")]

    def check_labels_tf(labels):
        if len(labels.shape) == 2 and labels.shape[-1] == 1:
            labels = labels[:, 0]
        if len(labels.shape) != 1:
            return [], labels  # packed labels (e.g. mixup's [B, 3]) pass unchecked
        checks = []
        if labels.dtype.is_floating:
            checks.append(tf.debugging.assert_equal(labels, tf.round(labels), message=f"{where}: labels must be "
                                                    "whole class ids", summarize=MAX_SHOWN))
        ids = tf.cast(labels, tf.int64)
        allowed = ">= 0" if num_classes is None else f"in [0, num_classes) = [0, {num_classes})"
        message = f"{where}: labels must be class ids {allowed}"
        checks.append(tf.debugging.assert_greater_equal(ids, tf.constant(0, tf.int64), message=message,
                                                        summarize=MAX_SHOWN))
        if num_classes is not None:
            checks.append(tf.debugging.assert_less(ids, tf.constant(num_classes, tf.int64), message=message,
                                                   summarize=MAX_SHOWN))
        return checks, tf.cast(ids, tf.int32)

    def fn(*element):
        images = element[0]
        checks = check_images_tf(images)
        if drop_labels or len(element) == 1:
            with tf.control_dependencies(checks):
                return tf.identity(images)
        label_checks, labels = check_labels_tf(element[1])
        with tf.control_dependencies(checks + label_checks):
            images, labels = tf.identity(images), tf.identity(labels)
        x = {IMAGES_KEY: images, LABELS_KEY: labels} if needs_labels else images
        return (x, labels) + tuple(element[2:])

    return ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


# -- Python generators and keras.utils.PyDataset ----------------------------------------------------------------
def _is_pydataset(x):
    try:
        import keras
    except ImportError:  # pragma: no cover
        return False
    return isinstance(x, keras.utils.PyDataset)


def _is_generator(x):
    import types

    return isinstance(x, types.GeneratorType)


def _check_batch(batch, num_classes, needs_labels, where, drop_labels):
    if not isinstance(batch, tuple):
        batch = (batch,)
    images = check_images(batch[0], where, name="images")
    if drop_labels or len(batch) == 1:
        if needs_labels:
            raise ValueError(f"{where}: this head learns from the labels; the generator must yield (images, labels).")
        return images
    labels = check_labels(batch[1], num_classes, where, name="labels", count=len(images))
    x = {IMAGES_KEY: images, LABELS_KEY: labels} if needs_labels else images
    return (x, labels) + tuple(batch[2:])


def _generator_feed(source, num_classes, needs_labels, where, drop_labels=False):
    import keras

    if _is_generator(source):
        return (_check_batch(b, num_classes, needs_labels, where, drop_labels) for b in source)

    class CheckedPyDataset(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=getattr(source, "workers", 1),
                             use_multiprocessing=getattr(source, "use_multiprocessing", False),
                             max_queue_size=getattr(source, "max_queue_size", 10))

        def __len__(self):
            return len(source)

        def __getitem__(self, index):
            return _check_batch(source[index], num_classes, needs_labels, where, drop_labels)

        def on_epoch_end(self):
            source.on_epoch_end()

    return CheckedPyDataset()


def _finite_range(x, where, name):
    if np.issubdtype(x.dtype, np.floating):
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{where}: `{name}` holds NaN or inf pixel values.")
    return float(np.min(x)), float(np.max(x))


def _show(values):
    values = np.unique(values)
    shown = ", ".join(f"{v:g}" for v in values[:MAX_SHOWN].astype("float64"))
    return f"{shown}{', ...' if len(values) > MAX_SHOWN else ''} ({len(values)} distinct bad value(s))"
