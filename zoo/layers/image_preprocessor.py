"""`ImagePreprocessor`: raw images (pixel values 0..255) -> the normalised float input a backbone expects."""

import keras
import numpy as np
from keras import ops

from zoo._checks import check_positive

__all__ = ["ImagePreprocessor"]

# Images per chunk when `adapt` streams over an array (float64 sums, a few MB at a time).
ADAPT_CHUNK = 1024
# `adapt` reads at most this many images (a dataset is read until it has them, or to its end).
ADAPT_MAX_IMAGES = 50_000


def _mean_std_arg(value, channels, what):
    if value is None:
        return None
    arr = np.asarray(value, dtype="float64").reshape(-1)
    if arr.size not in (1, channels) or not np.all(np.isfinite(arr)):
        raise ValueError(f"ImagePreprocessor: `{what}` must be a finite scalar or one value per channel "
                         f"({channels}); got {value!r}.")
    return [float(v) for v in np.broadcast_to(arr, (channels,))]


@keras.saving.register_keras_serializable(package="zoo")
class ImagePreprocessor(keras.layers.Layer):
    """Raw images -> backbone input: channels, size, scale and per-channel normalisation, saved with the model.

        y = (resize(channels(x)) · scale − mean) / std

    `x` holds pixel values in 0..255 (uint8 or float) `[B, H, W]` or `[B, H, W, C]`. `channels` adds the
    channel axis of `[B, H, W]` input, repeats a grey channel to RGB when the backbone wants 3 channels
    (and averages RGB to grey when it wants 1); `resize` is bilinear to `image_shape[:2]` when the input
    size differs (keras.ops.image.resize); `scale` (default 1/255) maps to [0, 1]; `mean` and `std` are the
    per-channel statistics of the scaled training pixels, given or measured by `adapt` (stored as weights,
    so a `.keras` file keeps them and raw images give the same scores after loading).

    Args:
        image_shape: `(height, width, channels)` the backbone takes; height/width None = keep the input size.
        mean: None (0 until `adapt`), a scalar or one value per channel, in scaled ([0, 1]) units.
        std: None (1 until `adapt`), a scalar or one value per channel (> 0).
        scale: factor applied to the pixel values before normalising (default 1/255).

    Example:
        >>> prep = zoo.layers.ImagePreprocessor((28, 28, 1))
        >>> prep.adapt(x_train)                     # uint8 [N, 28, 28]
        >>> float_images = prep(x_train[:8])        # [8, 28, 28, 1], mean ~0, std ~1

    Departures:
        None from the usual practice (torchvision's `Normalize` after `ToTensor`); written as one layer rather
        than `keras.layers.Rescaling` + `keras.layers.Normalization` because the statistics are measured
        after the channel conversion, and `adapted` records whether they were, so task models adapt once.
    """

    def __init__(self, image_shape, mean=None, std=None, scale=1.0 / 255.0, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        shape = tuple(None if v is None else int(v) for v in image_shape)
        if len(shape) != 3 or shape[2] not in (1, 3) or any(v is not None and v < 1 for v in shape[:2]):
            raise ValueError("ImagePreprocessor: `image_shape` must be (height, width, channels) with channels 1 "
                             f"or 3 and sizes >= 1 (or None); got {image_shape!r}.")
        self.image_shape = shape
        self.channels = shape[2]
        self.scale = check_positive(scale, "scale", "ImagePreprocessor")
        self.mean_arg = _mean_std_arg(mean, self.channels, "mean")
        self.std_arg = _mean_std_arg(std, self.channels, "std")
        if self.std_arg is not None and min(self.std_arg) <= 0:
            raise ValueError(f"ImagePreprocessor: `std` must be > 0; got {std!r}.")

    def build(self, input_shape=None):
        given = self.mean_arg is not None
        self.mean = self.add_weight(
            name="mean", shape=(self.channels,), trainable=False,
            initializer=keras.initializers.Constant(self.mean_arg if given else 0.0))
        self.std = self.add_weight(
            name="std", shape=(self.channels,), trainable=False,
            initializer=keras.initializers.Constant(self.std_arg if self.std_arg is not None else 1.0))
        # 1 once the statistics are known (given, or measured by `adapt`); saved, so a loaded model never re-adapts.
        self.adapted = self.add_weight(name="adapted", shape=(), trainable=False,
                                       initializer=keras.initializers.Constant(1.0 if given else 0.0))
        self.built = True

    @property
    def is_adapted(self):
        """Whether the normalisation statistics are set (given or adapted)."""
        return bool(np.asarray(ops.convert_to_numpy(self.adapted)) > 0.5)

    def convert(self, images):
        """Channels and size only (pixel values unchanged): `[B, H, W(, C)]` -> `[B, h, w, channels]` float32."""
        x = ops.cast(images, "float32")
        if len(x.shape) == 3:
            x = ops.expand_dims(x, -1)
        have = x.shape[-1]
        if have != self.channels:
            if have == 1:
                x = ops.repeat(x, self.channels, axis=-1)
            elif have == 3 and self.channels == 1:
                x = ops.mean(x, axis=-1, keepdims=True)
            else:
                raise ValueError(f"ImagePreprocessor: images with {have} channels cannot feed a backbone that takes "
                                 f"{self.channels}.")
        height, width = self.image_shape[:2]
        if (height is not None and x.shape[1] != height) or (width is not None and x.shape[2] != width):
            size = (height or x.shape[1], width or x.shape[2])
            x = ops.image.resize(x, size, interpolation="bilinear", antialias=True)
        return x

    def call(self, images):
        x = self.convert(images) * self.scale
        return (x - ops.cast(self.mean, x.dtype)) / ops.cast(self.std, x.dtype)

    def adapt(self, data, max_images=ADAPT_MAX_IMAGES):
        """Measure the per-channel mean and std of the scaled pixels of `data` and store them.

        Args:
            data: images `[N, H, W(, C)]` (numpy-like, 0..255), or a `tf.data.Dataset` of image batches or
                of `(images, labels, ...)` batches.
            max_images: read at most this many images (the first ones; shuffle the data for a fair sample).
        """
        if not self.built:
            self.build()
        total = np.zeros(self.channels)
        total_sq = np.zeros(self.channels)
        count = pixels = 0
        for batch in _batches(data):
            if count >= max_images:
                break
            batch = batch[: max_images - count]
            x = np.asarray(ops.convert_to_numpy(self.convert(batch)), dtype="float64") * self.scale
            x = x.reshape(-1, self.channels)
            total += x.sum(axis=0)
            total_sq += np.square(x).sum(axis=0)
            count += len(batch)
            pixels += x.shape[0]
        if count == 0:
            raise ValueError("ImagePreprocessor.adapt: `data` holds no images.")
        mean = total / pixels
        std = np.sqrt(np.maximum(total_sq / pixels - np.square(mean), 0.0))
        if not np.all(np.isfinite(mean)) or not np.all(np.isfinite(std)):
            raise ValueError("ImagePreprocessor.adapt: the images hold NaN or inf values.")
        std = np.where(std > 1e-6, std, 1.0)  # a constant channel is left unscaled rather than divided by 0
        self.mean.assign(mean.astype("float32"))
        self.std.assign(std.astype("float32"))
        self.adapted.assign(1.0)
        return self

    def compute_output_shape(self, input_shape):
        height = self.image_shape[0] or input_shape[1]
        width = self.image_shape[1] or input_shape[2]
        return (input_shape[0], height, width, self.channels)

    def get_config(self):
        return {**super().get_config(), "image_shape": list(self.image_shape), "mean": self.mean_arg,
                "std": self.std_arg, "scale": self.scale}


def _batches(data):
    """numpy image batches from an array (chunks of ADAPT_CHUNK) or a tf.data dataset (its batches)."""
    if hasattr(data, "element_spec"):
        for element in data.as_numpy_iterator():
            element = element[0] if isinstance(element, tuple) else element
            yield element["images"] if isinstance(element, dict) else element
        return
    data = np.asarray(data)
    for start in range(0, len(data), ADAPT_CHUNK):
        yield data[start:start + ADAPT_CHUNK]

