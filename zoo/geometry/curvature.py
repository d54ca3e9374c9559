"""The one owner of the curvature: validation of c and its conversion to a tensor.

The Poincaré ball of curvature −c (c > 0) has radius 1/√c. Every function of `zoo.geometry.poincare`
and every layer on the ball goes through `check_c` (arguments) and `c_tensor` (computation), so there
is one rule for what a valid c is.

Example:
    >>> zoo.geometry.curvature.check_c(0.05)
    0.05
    >>> zoo.geometry.curvature.check_c(-1)
    Traceback (most recent call last):
    ValueError: `c` must be a finite number > 0 (curvature -c, ball radius 1/sqrt(c)); got -1.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from keras import ops

__all__ = ["check_c", "c_tensor", "is_scalar_number"]


def is_scalar_number(c: Any) -> bool:
    """True for a Python or numpy real scalar (including a 0-d numpy array), False for bools and tensors."""
    if isinstance(c, (bool, np.bool_)):
        return False
    if isinstance(c, np.ndarray):
        return c.ndim == 0 and np.issubdtype(c.dtype, np.number)
    return isinstance(c, numbers.Real)


def check_c(c: Any, name: str = "c") -> Any:
    """Validate a curvature magnitude: a finite real number > 0, returned as a Python float.

    Python and numpy scalars are checked (np.float32(-1) is refused like -1); strings, bools and other
    objects are refused. A backend tensor or variable (a trainable c, kept positive by its layer) is
    returned unchanged: its value is not read on the host, so the check never forces a device sync.

    Args:
        c: the curvature magnitude.
        name: the argument's name in the message.

    Raises:
        ValueError: naming `name`, the rule and the value.
    """
    message = f"`{name}` must be a finite number > 0 (curvature -c, ball radius 1/sqrt(c)); got {c!r}."
    if is_scalar_number(c):
        value = float(c)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(message)
        return value
    if isinstance(c, (str, bytes, bool, np.bool_, list, tuple, dict)) or c is None:
        raise ValueError(message)
    if isinstance(c, np.ndarray):  # an array of several values is not a curvature
        raise ValueError(message)
    return c


def c_tensor(c: Any, dtype: Any) -> Any:
    """c as a scalar tensor of `dtype`, validated when it is a number.

    A Python float goes straight to `dtype` (casting would round it to float32 first: c = 1e-3 would be
    off by 5e-8 in float64); a tensor (a trainable c) is cast.
    """
    c = check_c(c)
    if isinstance(c, float):
        return ops.convert_to_tensor(c, dtype=dtype)
    return ops.cast(c, dtype)
