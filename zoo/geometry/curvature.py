"""The one owner of the curvature: validation of c and its conversion to a tensor.

The Poincaré ball of curvature −c (c > 0) has radius 1/√c. Every function of `zoo.geometry.poincare`
and every layer on the ball goes through `check_c` (arguments) and `c_tensor` (computation), so there
is one rule for what a valid c is.

What is checked, by the kind of c:
    - Python and numpy numbers (0-d arrays included): on the host, a ValueError for anything but a finite
      number > 0 (also strings, bools, None, lists).
    - A concrete backend tensor or keras Variable held in host memory (CPU): read on the host (a few µs, no
      device sync) and refused like a number.
    - A traced tensor (inside tf.function, jax.jit, torch.compile, a symbolic Keras graph) or one on an
      accelerator: its value cannot be read, or reading it would stall the device on every call. It is
      guarded on the device instead: `c_tensor` returns NaN where c is not a finite number > 0, so every
      result of the geometry is NaN, never a finite wrong answer (one scalar `where`, no sync). The layers'
      trainable c is softplus-parametrised and never takes that branch.

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

from zoo.geometry._tensors import host_value

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


def _validate(c: Any, name: str) -> tuple[Any, bool]:
    """(check_c's result, whether it is a tensor whose value could not be read: see the module docstring)."""
    if is_scalar_number(c):
        value = float(c)
        if math.isfinite(value) and value > 0:
            return value, False
    elif _is_tensor(c):
        value = host_value(c)
        if value is None:
            return c, True
        if value.size and np.all(np.isfinite(value) & (value > 0)):
            return c, False
    raise ValueError(f"`{name}` must be a finite number > 0 (curvature -c, ball radius 1/sqrt(c)); got {c!r}.")


def _guard(c: Any) -> Any:
    """c where c is a finite number > 0, NaN elsewhere (log(c) is finite exactly there), on the device."""
    return ops.where(ops.isfinite(ops.log(c)), c, ops.full_like(c, math.nan))


def check_c(c: Any, name: str = "c") -> Any:
    """Validate a curvature magnitude: a finite real number > 0, returned as a Python float.

    Python and numpy scalars (and 0-d numpy arrays) are checked: np.float32(-1) is refused like -1, and
    so are nan, inf, 0 and negative values. Strings, bools, None, lists, arrays with elements and other
    objects are refused. A backend tensor or keras Variable (e.g. a trainable c) is returned unchanged;
    a concrete one in host memory is read and refused like a number, a traced one or one on an
    accelerator is not read (no device sync): `c_tensor` guards it on the device (module docstring).

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
    return _validate(c, name)[0]


def c_tensor(c: Any, dtype: Any) -> Any:
    """c as a scalar tensor of `dtype`, validated (see `check_c`).

    A Python float goes straight to `dtype` (casting would round it to float32 first: c = 1e-3 would be
    off by 5e-8 in float64); a tensor (a trainable c) is cast, and when its value could not be read on the
    host, guarded: NaN unless it is a finite number > 0.

    Args:
        c: the curvature magnitude: a number or a backend tensor.
        dtype: the dtype of the result (a name or any backend's dtype object).

    Example:
        >>> zoo.geometry.curvature.c_tensor(0.05, "float32")  # a 0-d float32 tensor
    """
    c, unread = _validate(c, "c")
    if isinstance(c, float):
        return ops.convert_to_tensor(c, dtype=dtype)
    c = ops.cast(c, dtype)
    return _guard(c) if unread else c
