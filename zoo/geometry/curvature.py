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
    """True for a Python or numpy real scalar (including a 0-d numpy array of integers or floats); False
    for bools, complex numbers, strings, arrays with elements and backend tensors.

    Example:
        >>> zoo.geometry.curvature.is_scalar_number(np.float32(0.5)), zoo.geometry.curvature.is_scalar_number(True)
        (True, False)
    """
    if isinstance(c, (bool, np.bool_)):
        return False
    if isinstance(c, np.ndarray):
        return c.ndim == 0 and (np.issubdtype(c.dtype, np.integer) or np.issubdtype(c.dtype, np.floating))
    return isinstance(c, numbers.Real)


def _is_tensor(c: Any) -> bool:
    """A backend tensor, keras Variable or symbolic tensor: it has a dtype and a shape (numpy arrays are
    handled before this is asked)."""
    return hasattr(c, "dtype") and hasattr(c, "shape") and not isinstance(c, (np.ndarray, np.generic))


def check_c(c: Any, name: str = "c") -> Any:
    """Validate a curvature magnitude: a finite real number > 0, returned as a Python float.

    Python and numpy scalars (and 0-d numpy arrays) are checked: np.float32(-1) is refused like -1, and
    so are nan, inf, 0 and negative values. Strings, bools, None, lists, arrays with elements and other
    objects are refused. A backend tensor or variable (a trainable c, kept positive by its layer) is
    returned unchanged: its value is not read on the host, so the check never forces a device sync.

    Args:
        c: the curvature magnitude.
        name: the argument's name in the message.

    Returns:
        `float(c)` for a number, the tensor itself for a tensor.

    Raises:
        ValueError: naming `name`, the rule and the value.

    Example:
        >>> zoo.geometry.curvature.check_c(np.float32(0.5))
        0.5
    """
    if is_scalar_number(c):
        value = float(c)
        if math.isfinite(value) and value > 0:
            return value
    elif _is_tensor(c):
        return c
    raise ValueError(f"`{name}` must be a finite number > 0 (curvature -c, ball radius 1/sqrt(c)); got {c!r}.")


def c_tensor(c: Any, dtype: Any) -> Any:
    """c as a scalar tensor of `dtype`, validated when it is a number (see `check_c`).

    A Python float goes straight to `dtype` (casting would round it to float32 first: c = 1e-3 would be
    off by 5e-8 in float64); a tensor (a trainable c) is cast.

    Args:
        c: the curvature magnitude: a number or a backend tensor.
        dtype: the dtype of the result (a name or any backend's dtype object).

    Example:
        >>> zoo.geometry.curvature.c_tensor(0.05, "float32")  # a 0-d float32 tensor
    """
    c = check_c(c)
    if isinstance(c, float):
        return ops.convert_to_tensor(c, dtype=dtype)
    return ops.cast(c, dtype)
