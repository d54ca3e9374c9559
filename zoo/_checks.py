"""Argument validators shared by every package of the zoo.

Each returns the value converted to its plain Python type, or raises a `ValueError` whose message names
the argument, the allowed range and the value received (prefixed with `owner`, the function or class that
was called, when given). They are host-side checks on constructor and function arguments, never on
tensors inside a step.

Example:
    >>> from zoo._checks import check_int, check_positive
    >>> check_int(5, "shot", minimum=1, owner="episodes")
    5
    >>> check_positive(0.0, "scale", owner="ArcFaceLoss")
    Traceback (most recent call last):
    ValueError: ArcFaceLoss: `scale` must be a finite number > 0; got 0.0.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

__all__ = [
    "check_bool",
    "check_choice",
    "check_embedding_dim",
    "check_input_shape",
    "check_int",
    "check_positive",
    "check_range",
    "prefix",
]


def prefix(owner: str | None) -> str:
    """`"owner: "` or the empty string: the start of every message."""
    return f"{owner}: " if owner else ""


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Integral)


def check_int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None,
              owner: str | None = None) -> int:
    """`value` as an int in [minimum, maximum] (either bound optional); bools and floats are refused.

    Args:
        value: the argument.
        name: its name, used in the message.
        minimum, maximum: inclusive bounds (None: unbounded).
        owner: the function or class that received it (message prefix).
    """
    if minimum is not None and maximum is not None:
        allowed = f"an integer in [{minimum}, {maximum}]"
    elif minimum is not None:
        allowed = f"an integer >= {minimum}"
    elif maximum is not None:
        allowed = f"an integer <= {maximum}"
    else:
        allowed = "an integer"
    if (not _is_int(value) or (minimum is not None and int(value) < minimum)
            or (maximum is not None and int(value) > maximum)):
        raise ValueError(f"{prefix(owner)}`{name}` must be {allowed}; got {value!r}.")
    return int(value)


def check_positive(value: Any, name: str, owner: str | None = None) -> float:
    """`value` as a float if it is a finite real number > 0."""
    message = f"{prefix(owner)}`{name}` must be a finite number > 0; got {value!r}."
    if isinstance(value, bool):
        raise ValueError(message)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(message)
    return v


def check_range(value: Any, name: str, owner: str | None, lo: float, hi: float, lo_text: str | None = None,
                hi_text: str | None = None, *, lo_open: bool = False, hi_open: bool = False) -> float:
    """`value` as a float in the interval from `lo` to `hi` (closed unless `lo_open`/`hi_open`).

    `lo_text`/`hi_text` replace the bounds in the message (e.g. "π/2").
    """
    allowed = f"{'(' if lo_open else '['}{lo_text or lo}, {hi_text or hi}{')' if hi_open else ']'}"
    if isinstance(value, bool):
        raise ValueError(f"{prefix(owner)}`{name}` must be a number in {allowed}; got {value!r}.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{prefix(owner)}`{name}` must be a number in {allowed}; got {value!r}.") from None
    above_lo = v > lo if lo_open else v >= lo
    below_hi = v < hi if hi_open else v <= hi
    if not (math.isfinite(v) and above_lo and below_hi):
        raise ValueError(f"{prefix(owner)}`{name}` must be in {allowed}; got {value!r}.")
    return v


def check_bool(value: Any, name: str, owner: str | None = None) -> bool:
    """`value` as a bool; only True/False (Python or numpy) are accepted."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise ValueError(f"{prefix(owner)}`{name}` must be True or False; got {value!r}.")
    return bool(value)


def check_choice(value: Any, name: str, choices: Iterable[Any], owner: str | None = None) -> Any:
    """`value` if it is one of `choices`, else a ValueError listing them."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{prefix(owner)}`{name}` must be one of {list(choices)}; got {value!r}.")
    return value


def check_embedding_dim(embedding_dim: Any, owner: str | None = None) -> int:
    """`embedding_dim` as an int >= 1."""
    return check_int(embedding_dim, "embedding_dim", minimum=1, owner=owner)


def check_input_shape(input_shape: Any, *, backbone: str, min_size: int = 1,
                      allow_none: bool = False) -> tuple:
    """Validate an image shape `(H, W, C)` (channels last, no batch axis).

    Args:
        input_shape: the shape to check.
        backbone: backbone name, used in the messages.
        min_size: the smallest H and W the network accepts.
        allow_none: whether H and W may be None (networks that end in a global pooling).

    Returns:
        The shape as a tuple of ints (or None for H/W where allowed).
    """
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise ValueError(
            f"`input_shape` must be a tuple (height, width, channels) of rank 3; got {input_shape!r}."
        ) from None
    if len(shape) != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, channels), rank 3 without the batch axis; "
            f"got {input_shape!r} (rank {len(shape)})."
        )
    out = []
    for axis, (size, what) in enumerate(zip(shape, ("height", "width", "channels"))):
        if size is None:
            if axis == 2 or not allow_none:
                raise ValueError(
                    f"`input_shape` {what} must be a known positive integer for {backbone!r}; "
                    f"got {input_shape!r}."
                )
            out.append(None)
            continue
        if not _is_int(size) or int(size) < 1:
            raise ValueError(f"`input_shape` {what} must be a positive integer; got {input_shape!r}.")
        out.append(int(size))
    for size, what in zip(out[:2], ("height", "width")):
        if size is not None and size < min_size:
            raise ValueError(
                f"`input_shape` {input_shape!r} is too small for {backbone!r}: {what} must be >= "
                f"{min_size}."
            )
    return tuple(out)
