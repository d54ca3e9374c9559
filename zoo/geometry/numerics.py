"""Named clamp constants and numerically safe primitives shared by every geometry.

Every clamp used anywhere in the zoo is a named constant here with the reason for its value. All functions
are `keras.ops` only, so they run on TensorFlow, JAX and PyTorch, and they keep their input's dtype: on the
torch backend `keras.ops.maximum` and `keras.ops.minimum` return float32 even for float64 inputs (keras
3.15 resolves the result dtype of two torch tensors, or of a tensor and a Python float, to float32), so
floors and ceilings go through `clamp_min` / `clamp_max`, written with `ops.clip`, which keeps the dtype.

Example:
    >>> x = keras.ops.zeros((2, 3))
    >>> zoo.geometry.numerics.safe_norm(x)  # [[1e-15], [1e-15]], gradient 0 (not NaN)

Reference:
    Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (the clamps of its hyptorch/pmath.py:
    norms floored at 1e-5, artanh argument clipped to 1 - 1e-5 with a straight-through gradient, tanh
    argument clipped to 15, points projected to norm (1 - 1e-3)/sqrt(c)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras import ops
from keras.backend import standardize_dtype as backend_standardize_dtype

__all__ = [
    "MIN_NORM", "BALL_EPS", "ATANH_EPS", "TANH_MAX", "MIN_DENOM", "ACOS_EPS", "MIN_TRAINABLE_C", "LOG_EPS",
    "ball_eps", "clamp_min", "clamp_max", "sq_norm", "safe_sqrt", "safe_norm", "clip_straight_through",
    "artanh", "tanh_nonneg",
]

Tensor = Any  # a backend tensor (tf.Tensor, jax.Array, torch.Tensor) or anything keras.ops converts

# Floor for vector norms. A norm is computed as sqrt(max(sum x^2, MIN_NORM^2)), so its gradient is
# finite (zero) at x = 0: `ops.norm` has a NaN gradient at 0 on TF and JAX. hyptorch floors norms at
# 1e-5, which silently rescales inputs with norms below 1e-5 (e.g. Möbius mat-vec of a 1e-7 vector
# comes out 100x too small); 1e-15 keeps float32 exact down to norm 1e-15 (1e-30 is a normal float32).
MIN_NORM = 1e-15

# Margin between the Poincaré ball's boundary and the largest norm we allow, as a fraction of the
# radius 1/sqrt(c): points are projected to norm (1 - BALL_EPS)/sqrt(c). In float32, 1 - c||x||^2
# near the boundary keeps about 4 significant digits at 1e-3 (hyptorch's value); float64 can go
# to 1e-5. 16-bit inputs are computed in float32 (zoo.geometry.poincare) and their points are projected
# once more before rounding back: float16 (spacing 2^-11 below 1) keeps a point at 1 - 1e-3 inside the
# ball, bfloat16 (spacing 2^-8: 1 - 1e-3 rounds to 1, and rounding each coordinate can grow the norm by
# 2^-9 of itself) needs 1e-2.
BALL_EPS = {"float16": 1e-3, "bfloat16": 1e-2, "float32": 1e-3, "float64": 1e-5}

# artanh is evaluated on arguments clipped to [-1 + ATANH_EPS, 1 - ATANH_EPS] (hyptorch's value), so
# the largest distance to the origin is (2/sqrt(c))*artanh(1 - 1e-5) = 12.2/sqrt(c). The clip is
# straight-through (the gradient is that of artanh at the clipped value), as hyptorch's Artanh.
ATANH_EPS = 1e-5

# tanh arguments are clipped to [-TANH_MAX, TANH_MAX]: tanh(15) = 1 - 1.9e-13 is already 1 in float32
# and float64-close to 1; the clip bounds the argument so gradients of products stay finite.
TANH_MAX = 15.0

# Floor for denominators (Möbius addition, 1 - c||x||^2, Klein conversions). hyptorch adds 1e-5 to
# the Möbius denominator; near the boundary that denominator is ~(1 - c||x||^2)(1 - c||y||^2) ~ 4e-6,
# so +1e-5 changes the result by a factor ~3. We use the well-conditioned form of the denominator
# (a sum of non-negative terms) and only guard against an exact 0.
MIN_DENOM = 1e-15

# arccos arguments are clipped to [-1 + ACOS_EPS, 1 - ACOS_EPS] (HyperSpaceX's value): the derivative
# of arccos is infinite at +-1. Float32 only: in float16 1 - 1e-7 rounds to 1 (heads run in float32).
ACOS_EPS = 1e-7

# Smallest value a *trainable* curvature can take: c = max(softplus(raw), MIN_TRAINABLE_C). softplus is
# positive in exact arithmetic but underflows to 0 in float32 for raw < -104, and c = 0 divides by
# sqrt(c) everywhere; 1e-8 is a ball of radius 1e4, flat for every practical purpose.
MIN_TRAINABLE_C = 1e-8

# Floor for arguments of log in losses (exponential triplet loss): the reference adds 1e-20, which
# vanishes next to 1.0 in float32 and gives log(0) = -inf when a batch mean reaches its bound.
LOG_EPS = 1e-7


def ball_eps(dtype: Any) -> float:
    """BALL_EPS for a dtype (any backend's dtype object or name; float32's value unless float64).

    Example:
        >>> zoo.geometry.numerics.ball_eps("float64")
        1e-05
    """
    return BALL_EPS.get(backend_standardize_dtype(dtype), 1e-3)


def clamp_min(x: Tensor, lo: float) -> Tensor:
    """max(x, lo) in x's dtype (`ops.maximum` gives float32 for float64 inputs on torch).

    The gradient is 1 above `lo` and 0 below it, as for `ops.maximum`.

    Example:
        >>> zoo.geometry.numerics.clamp_min(keras.ops.convert_to_tensor([-1.0, 2.0]), 0.5)  # [0.5, 2.]
    """
    return ops.clip(x, lo, math.inf)


def clamp_max(x: Tensor, hi: float) -> Tensor:
    """min(x, hi) in x's dtype (`ops.minimum` gives float32 for float64 inputs on torch).

    Example:
        >>> zoo.geometry.numerics.clamp_max(keras.ops.convert_to_tensor([-1.0, 2.0]), 0.5)  # [-1., 0.5]
    """
    return ops.clip(x, -math.inf, hi)


def sq_norm(x: Tensor, axis: int = -1, keepdims: bool = True) -> Tensor:
    """Squared Euclidean norm sum(x^2) along `axis`.

    Written x * x: the same value as ops.square(x) (and the same gradient, 2 x), but one light kernel
    on PyTorch, where keras' square costs about 1.5x a multiplication.

    Example:
        >>> zoo.geometry.numerics.sq_norm(keras.ops.convert_to_tensor([[3.0, 4.0]]))  # [[25.]]
    """
    return ops.sum(x * x, axis=axis, keepdims=keepdims)


def safe_sqrt(x: Tensor, floor: float = MIN_NORM) -> Tensor:
    """sqrt(max(x, floor^2)): finite value and gradient at 0 (gradient 0 below the floor).

    Example:
        >>> zoo.geometry.numerics.safe_sqrt(keras.ops.convert_to_tensor([0.0, 4.0]))  # [1e-15, 2.]
    """
    return ops.sqrt(clamp_min(x, floor * floor))


def _overflow_threshold(dtype: str, n: int | None) -> float:
    """Largest max|x_i| for which sum of n squares x_i^2 stays finite in `dtype`, with a 4x margin."""
    return math.sqrt(float(np.finfo(dtype).max) / (n or 2**20)) / 4.0


def safe_norm(x: Tensor, axis: int = -1, keepdims: bool = True, floor: float = MIN_NORM) -> Tensor:
    """Euclidean norm sqrt(max(sum x^2, floor^2)), floored at `floor`, with a finite gradient at x = 0 and
    no overflow for huge x.

    `ops.norm` has a NaN gradient at 0 on TensorFlow and JAX. The squared norm overflows when max|x_i|
    reaches sqrt(max float / n) (1.8e19 in float32, 256 in float16): the norm became inf and `project`,
    `expmap0`, `dist0` sent the most confident inputs to the origin (or NaN). Rows whose max|x_i| is above a
    quarter of that are rescaled, s ||x / s|| with s = max|x_i| (a constant for the gradient: the norm is
    homogeneous, so the gradient x/||x|| is the same); every other row uses s = 1 exactly, so its value and
    gradient are bit for bit those of the plain form.

    Args:
        x: tensor.
        axis: axis to reduce.
        keepdims: keep the reduced axis (default True, convenient for broadcasting).
        floor: smallest value returned.

    Example:
        >>> zoo.geometry.numerics.safe_norm(keras.ops.zeros((2, 3)))  # [[1e-15], [1e-15]]
        >>> zoo.geometry.numerics.safe_norm(keras.ops.ones((1, 2)) * 3e19)  # [[4.2e19]] (was inf)
    """
    x = ops.convert_to_tensor(x)
    dtype = backend_standardize_dtype(x.dtype)
    if "float" not in dtype:
        return safe_sqrt(sq_norm(x, axis=axis, keepdims=keepdims), floor)
    big = _overflow_threshold(dtype, x.shape[axis])
    m = ops.max(ops.abs(x), axis=axis, keepdims=True)
    s = ops.stop_gradient(ops.where(m > big, m, ops.ones_like(m)))  # exactly 1 unless the squares overflow
    norm = s * safe_sqrt(sq_norm(x / s, axis=axis, keepdims=True), floor)
    return norm if keepdims else ops.squeeze(norm, axis=axis)


def clip_straight_through(x: Tensor, lo: float, hi: float) -> Tensor:
    """Clip `x` to [lo, hi] in the forward pass; pass the gradient through unchanged.

    stop_gradient(clip(x)) + (x - stop_gradient(x)): the value is clip(x) exactly (the second term is 0),
    the derivative is 1, so a function f applied to the result is differentiated at the clipped value
    (hyptorch's custom Artanh backward). The other common spelling, x + stop_gradient(clip(x) - x),
    rounds to exactly 1.0 for |x| >> 1 in float32 (1000 + (0.99999 - 1000)), making artanh infinite.

    Example:
        >>> zoo.geometry.numerics.clip_straight_through(keras.ops.convert_to_tensor([2.0]), -1.0, 1.0)  # [1.]
    """
    x = ops.convert_to_tensor(x)
    return ops.stop_gradient(ops.clip(x, lo, hi)) + (x - ops.stop_gradient(x))


def artanh(x: Tensor) -> Tensor:
    """artanh(x) with the straight-through clip of x to ±(1 - ATANH_EPS) (hyptorch's Artanh).

    Example:
        >>> zoo.geometry.numerics.artanh(keras.ops.convert_to_tensor([0.5, 1.0]))  # [0.5493, 6.1030]
    """
    return ops.arctanh(clip_straight_through(x, -1.0 + ATANH_EPS, 1.0 - ATANH_EPS))


def tanh_nonneg(t: Tensor) -> Tensor:
    """tanh(t) for t >= 0 as -expm1(-2t) / (2 + expm1(-2t)), argument clipped to [0, TANH_MAX].

    TensorFlow's float32 tanh is a fast rational approximation with ~1e-6 relative error; Möbius
    additions next to the boundary cancel and amplify that ~1000x. expm1 is accurate to an ulp on every
    backend, so this form keeps the exponential maps at float32 accuracy.

    Example:
        >>> zoo.geometry.numerics.tanh_nonneg(keras.ops.convert_to_tensor([0.0, 1.0]))  # [0., 0.7616]
    """
    e = ops.expm1(-2.0 * clamp_max(t, TANH_MAX))  # t >= 0 by contract: no clip at 0 (ties halve gradients on JAX)
    return -e / (2.0 + e)
