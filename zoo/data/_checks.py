"""Argument and pixel checks shared by the functions of `zoo.data`: `check_seed` (one rule for every seed) and
`pixel_scale` (the value range of integer and float images, checked on the host before a pipeline is built).

Pure numpy; the messages name the function (`owner`) and the argument.
"""

import numpy as np

from zoo._checks import check_bool, check_int

__all__ = ["SEED_MAX", "check_raw", "check_seed", "pixel_scale"]

#: Largest seed accepted: seeds reach numpy's `default_rng`, `tf.data` and keras' `SeedGenerator` (uint32 state
#: on some backends; the crop preset uses seed + 1), so they stay in the int32 range every one of them accepts.
SEED_MAX = 2**31 - 1


def check_seed(seed, owner):
    """`seed` as an int in [0, SEED_MAX]; a ValueError naming `seed` otherwise (bools and floats refused)."""
    return check_int(seed, "seed", minimum=0, maximum=SEED_MAX, owner=owner)


def check_raw(raw, normalize, owner):
    """`raw` as a bool; a ValueError when `raw=True` comes with a `normalize` (raw pixels are not normalised)."""
    raw = check_bool(raw, "raw", owner=owner)
    if raw and normalize is not None:
        raise ValueError(f"{owner}: `raw=True` keeps pixel values in 0..255 for models that scale and normalise "
                         f"themselves (zoo.models); it cannot be combined with `normalize` (got {normalize!r}). "
                         "Pass normalize=None, or raw=False.")
    return raw


def pixel_scale(x, owner, dtype_error=TypeError):
    """The factor that brings images `x` (a numpy array) to [0, 1]: 1/255 for integers, 1 for floats.

    Integer images must lie in 0..255 (uint8 always does); float images must be finite and in [0, 1]. Float
    images in 0..255 (the usual mistake: normalisation then ends up off by 255x) and NaN or inf pixels are
    refused with a message that says how to fix them. Costs one min and one max pass over `x`.

    Raises:
        `dtype_error`: neither an integer nor a float dtype (bool included).
        ValueError: values out of range, or non-finite float values.
    """
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise dtype_error(f"{owner}: `x` must be uint8 images (0..255) or floating images ([0, 1]); got dtype "
                          f"{x.dtype}.")
    if np.issubdtype(x.dtype, np.integer):
        if x.dtype != np.uint8 and x.size and (x.min() < 0 or x.max() > 255):
            raise ValueError(f"{owner}: `x`: integer images must be in 0..255; got {x.min()}..{x.max()} ({x.dtype}).")
        return 1.0 / 255.0
    if not x.size:
        return 1.0
    lo, hi = x.min(), x.max()  # NaN propagates through min/max, so one comparison catches it too
    if lo >= 0 and hi <= 1:
        return 1.0
    n_nan, n_inf = int(np.isnan(x).sum()), int(np.isinf(x).sum())
    if n_nan or n_inf:
        raise ValueError(f"{owner}: `x` holds {n_nan} NaN and {n_inf} inf pixel values; images must be finite "
                         "(uint8 in 0..255, or float in [0, 1]).")
    hint = ("pass the images before normalisation and let `normalize=(mean, std)` standardise them" if lo < 0 else
            "pass uint8 images in 0..255 (x.astype('uint8')) or divide by 255 (x / 255)")
    raise ValueError(f"{owner}: `x` holds float images with values in {float(lo):g}..{float(hi):g}, but float "
                     f"images must be in [0, 1]: {hint}.")
