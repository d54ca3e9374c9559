"""Tensor plumbing shared by the geometry modules (private): input conversion and type aliases.

Example:
    >>> from zoo.geometry._tensors import float_tensors
    >>> x, y = float_tensors([[1, 2]], np.zeros((1, 2)))  # float32 and float64 backend tensors
"""

from __future__ import annotations

import sys
from typing import Any

import keras
import numpy as np
from keras import ops
from keras.backend import standardize_dtype

__all__ = ["Tensor", "TensorLike", "HALF_DTYPES", "float_tensors", "upcast_half", "matmul", "host_value",
           "check_weights"]

#: 16-bit floats: the ball's clamps (1 - 1e-3, 1 - 1e-5) round to 1 in them, so the ball computes in float32.
HALF_DTYPES = ("float16", "bfloat16")

#: A backend tensor (tf.Tensor, jax.Array, torch.Tensor, a keras Variable or KerasTensor).
Tensor = Any
#: What the geometry functions accept for points: a backend tensor, a numpy array or nested lists.
TensorLike = Any


def float_tensors(*xs: TensorLike) -> Any:
    """Convert inputs (numpy arrays, lists, tensors) to backend tensors of a floating dtype.

    Floating inputs keep their dtype; integer and boolean inputs become float32. Several inputs of
    different float dtypes are promoted to the wider one (float64 if any, else float32), as torch does;
    TensorFlow refused (a bare InvalidArgumentError from a Mul) and keras 3.15's result_type gives float32
    for float32 x float64. One input gives one tensor, several give a list.
    """
    out = []
    for x in xs:
        x = ops.convert_to_tensor(x)
        if "float" not in str(x.dtype):
            x = ops.cast(x, "float32")
        out.append(x)
    if len(out) > 1:
        dtypes = [standardize_dtype(x.dtype) for x in out]
        if len(set(dtypes)) > 1:
            common = "float64" if "float64" in dtypes else "float32"  # float16 x bfloat16 -> float32
            out = [x if d == common else ops.cast(x, common) for x, d in zip(out, dtypes)]
    return out if len(out) > 1 else out[0]


def upcast_half(xs: list) -> tuple[list, Any]:
    """(tensors with 16-bit floats cast to float32, the dtype to cast results back to or None).

    The first tensor sets the result dtype: a float16/bfloat16 first input gives results in its dtype,
    computed in float32 (in 16 bits 1 - ATANH_EPS rounds to 1 and artanh gives inf).
    """
    out = xs[0].dtype if standardize_dtype(xs[0].dtype) in HALF_DTYPES else None
    return [ops.cast(x, "float32") if standardize_dtype(x.dtype) in HALF_DTYPES else x for x in xs], out


def host_value(t: Any) -> np.ndarray | None:
    """The value of a concrete tensor (or keras Variable) held in host memory, as float64 numpy; None for
    a traced or symbolic tensor and for one on an accelerator (reading it would sync the device).

    Backend modules are looked up in sys.modules, never imported (a tensor of a backend means that backend
    is loaded). TensorFlow: an EagerTensor on a CPU device (inside tf.function only tensors captured from
    outside are); JAX: a concrete array on CPU devices (not a tracer); torch: a CPU tensor outside
    torch.compile.
    """
    if isinstance(t, keras.Variable):
        t = t.value
    if type(t).__name__ == "ResourceVariable":  # a TensorFlow variable: its current value (symbolic when traced)
        t = t.read_value()
    kind = type(t).__name__
    try:
        if kind == "EagerTensor":
            return np.asarray(t.numpy(), np.float64) if "CPU" in t.device else None
        if kind == "ArrayImpl":
            return np.asarray(t, np.float64) if all(d.platform == "cpu" for d in t.devices()) else None
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(t, torch.Tensor):
            if torch.compiler.is_compiling() or t.device.type != "cpu":
                return None
            return t.detach().to(torch.float64).numpy()
    except Exception:  # noqa: BLE001 - anything unreadable is left to the device-side handling
        return None
    return None


def check_weights(weights: Any, points_shape: tuple, axis: int) -> None:
    """Host-side check of the weights of a weighted mean, when they can be read without a device sync
    (numbers, lists, numpy arrays, concrete tensors in host memory; traced ones are not checked): finite,
    >= 0, and not all zero for any of the means (the mean of no points is undefined).

    Args:
        weights: the weights, broadcastable to `points_shape` without its last axis.
        points_shape: the static shape of the points [..., n, d].
        axis: the (non-negative) axis of the points.

    Raises:
        ValueError: naming `weights`.
    """
    if hasattr(weights, "dtype") and hasattr(weights, "shape") and not isinstance(weights, (np.ndarray, np.generic)):
        w = host_value(weights)
        if w is None:
            return
    else:
        try:
            w = np.asarray(weights, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"`weights` must be numbers >= 0; got {weights!r}.") from err
    if not np.all(np.isfinite(w)):
        raise ValueError(f"`weights` contain NaN or inf ({int((~np.isfinite(w)).sum())} values).")
    if np.any(w < 0):
        raise ValueError(f"`weights` must be >= 0 (a weighted mean of points); got {int((w < 0).sum())} negative "
                         f"values, the smallest {w.min():g}.")
    shape = tuple(points_shape)[:-1]
    if any(s is None for s in shape):
        return
    try:
        sums = np.broadcast_to(w, shape).sum(axis=axis)
    except ValueError:
        return  # a shape mismatch is reported by the computation itself
    if np.any(sums == 0):
        raise ValueError(f"`weights` sum to 0 for {int(np.sum(sums == 0))} of the {sums.size} means along axis "
                         f"{axis}: the mean of no points is undefined.")


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b for a [..., k] and a matrix b [k, m], in a's dtype.

    keras 3.15's `ops.matmul` returns float32 for two float64 tensors on the torch backend; float64 goes
    through `ops.einsum`, which keeps it. Other dtypes use `ops.matmul` (the same numbers as before).
    """
    if standardize_dtype(a.dtype) == "float64":
        return ops.einsum("...k,km->...m", a, b)
    return ops.matmul(a, b)
