"""Tensor plumbing shared by the geometry modules (private): input conversion and type aliases.

Example:
    >>> from zoo.geometry._tensors import float_tensors
    >>> x, y = float_tensors([[1, 2]], np.zeros((1, 2)))  # float32 and float64 backend tensors
"""

from __future__ import annotations

from typing import Any

from keras import ops
from keras.backend import standardize_dtype

__all__ = ["Tensor", "TensorLike", "float_tensors", "matmul"]

#: A backend tensor (tf.Tensor, jax.Array, torch.Tensor, a keras Variable or KerasTensor).
Tensor = Any
#: What the geometry functions accept for points: a backend tensor, a numpy array or nested lists.
TensorLike = Any


def float_tensors(*xs: TensorLike) -> Any:
    """Convert inputs (numpy arrays, lists, tensors) to backend tensors of a floating dtype.

    Floating inputs keep their dtype; integer and boolean inputs become float32. One input gives one
    tensor, several give a list.
    """
    out = []
    for x in xs:
        x = ops.convert_to_tensor(x)
        if "float" not in str(x.dtype):
            x = ops.cast(x, "float32")
        out.append(x)
    return out if len(out) > 1 else out[0]


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b for a [..., k] and a matrix b [k, m], in a's dtype.

    keras 3.15's `ops.matmul` returns float32 for two float64 tensors on the torch backend; float64 goes
    through `ops.einsum`, which keeps it. Other dtypes use `ops.matmul` (the same numbers as before).
    """
    if standardize_dtype(a.dtype) == "float64":
        return ops.einsum("...k,km->...m", a, b)
    return ops.matmul(a, b)
