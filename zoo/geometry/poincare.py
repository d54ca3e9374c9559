"""The Poincaré ball of curvature -c (c > 0, radius 1/sqrt(c)): pure functions on keras.ops, and the
`Poincare` geometry object over them.

Conventions follow hyptorch (Khrulkov et al. 2020): `c` is the curvature *magnitude*, points satisfy
c||x||^2 < 1, the conformal factor is lambda_x = 2 / (1 - c||x||^2). Every function validates c with
`zoo.geometry.curvature.check_c` (Python and numpy numbers must be finite and > 0; a tensor, e.g. a
trainable c, is used as it is).

Where the reference formulas lose precision in float32 near the boundary we use algebraically equal,
better-conditioned forms (all derived in the docstrings):

* Möbius addition: 1 + 2c<x,y> + c^2||x||^2||y||^2 = c||x+y||^2 + (1-c||x||^2)(1-c||y||^2), a sum of
  non-negative terms, and the numerator (1-c||x||^2)(x+y) + c||x+y||^2 x. No cancellation, so no
  +1e-5 fudge in the denominator (hyptorch adds 1e-5, which is larger than the denominator itself
  when both points are within 1e-3 of the boundary).
* Distance: d(x,y) = (2/sqrt c) asinh( sqrt(c)||x-y|| / sqrt((1-c||x||^2)(1-c||y||^2)) ), which equals
  (2/sqrt c) artanh(sqrt(c)||(-x)+y||) but never evaluates artanh next to 1, is exactly symmetric,
  and has the closed pairwise form used by `pairwise_dist` (O(nm) memory).
* logmap(x, y) uses the same asinh form for its magnitude.
* Einstein midpoint: a closed form in the ball's own coordinates, without the round trip through the
  Klein model and without cancellation in 1 - c||m_K||^2 (see `midpoint`).

Functions of a single norm (expmap0, logmap0, dist0, mobius_matvec) keep hyptorch's form with its
clamps: tanh argument <= 15, straight-through artanh clip at 1 - 1e-5, norms floored (at 1e-15 here,
1e-5 there: see zoo.geometry.numerics). Inputs past the ball never produce NaN: 1 - c||x||^2 is
floored at MIN_DENOM; call `project` to put points back inside.

Example:
    >>> x = keras.ops.convert_to_tensor([[0.5, 0.0]])
    >>> zoo.geometry.poincare.dist0(x, c=1.0)  # [2 artanh(0.5)] = [1.0986]

Reference:
    Khrulkov, Mirvakhabova, Ustinova, Oseledets, Lempitsky. "Hyperbolic Image Embeddings". CVPR 2020.
    Ganea, Bécigneul, Hofmann. "Hyperbolic Neural Networks". NeurIPS 2018.
    Ungar. "A Gyrovector Space Approach to Hyperbolic Geometry" (Einstein midpoint), 2008.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from zoo.geometry import numerics as nx
from zoo.geometry._tensors import Tensor, TensorLike, check_weights, float_tensors, matmul, upcast_half
from zoo.geometry.base import Geometry
from zoo.geometry.curvature import c_tensor, check_c, is_scalar_number

__all__ = [
    "Poincare", "conformal_factor", "project", "mobius_add", "expmap0", "logmap0", "expmap", "logmap", "dist",
    "dist0", "pairwise_dist", "mobius_matvec", "to_klein", "from_klein", "midpoint",
]

# `zoo.geometry.poincare.check_c` was public before the curvature got one owner; it stays importable here.

Curvature = Any  # a number > 0 or a backend tensor (a trainable c)


def _inputs(*xs: TensorLike) -> tuple[list, Any]:
    """Float tensors for the ball's formulas, 16-bit floats raised to float32, and the dtype to cast the
    results back to (None for float32/float64 inputs: no extra op). In float16 and bfloat16 the clamps
    1 - BALL_EPS and 1 - ATANH_EPS round to 1, so dist0/logmap0 gave inf: the ball computes in float32."""
    ts = float_tensors(*xs)
    return upcast_half(ts if len(xs) > 1 else [ts])


def _out(y: Tensor, dtype: Any, c: Any = None) -> Tensor:
    """y in the caller's 16-bit dtype (see `_inputs`), or y unchanged. Points of the ball (pass their c) are
    projected with the 16-bit BALL_EPS first, so that rounding does not put them on or past the boundary."""
    if dtype is None:
        return y
    if c is not None:
        y = _project(y, c, nx.ball_eps(dtype))
    return ops.cast(y, dtype)


def _project(x: Tensor, c: Tensor, eps: float) -> Tensor:
    """Points with norm above (1 - eps)/sqrt(c) rescaled onto that norm. `norm <= maxnorm` (not `norm >
    maxnorm` with the branches swapped): a NaN maxnorm (an invalid c guarded on the device, see
    zoo.geometry.curvature) gives NaN, not x unchanged."""
    norm = nx.safe_norm(x)
    maxnorm = (1.0 - eps) / ops.sqrt(c)
    return ops.where(norm <= maxnorm, x, x / norm * maxnorm)


def _one_minus_c_sq(x: Tensor, c: Tensor) -> Tensor:
    """1 - c||x||^2, floored at MIN_DENOM (so points past the ball give no NaN)."""
    return nx.clamp_min(1.0 - c * nx.sq_norm(x), nx.MIN_DENOM)


def conformal_factor(x: TensorLike, c: Curvature = 1.0) -> Tensor:
    """lambda_x = 2 / (1 - c||x||^2), shape [..., 1].

    Args:
        x: points in the ball, [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> zoo.geometry.poincare.conformal_factor(keras.ops.zeros((1, 2)))  # [[2.]]
    """
    (x,), out = _inputs(x)
    c = c_tensor(c, x.dtype)
    return _out(2.0 / _one_minus_c_sq(x, c), out)


def project(x: TensorLike, c: Curvature = 1.0) -> Tensor:
    """Rescale points with norm above (1 - BALL_EPS)/sqrt(c) onto that norm; others are unchanged.

    BALL_EPS is 1e-3 in float32 (hyptorch's value) and 1e-5 in float64 (`zoo.geometry.numerics`); float16
    and bfloat16 points are computed in float32 and projected with their own BALL_EPS (1e-3, 1e-2).

    Args:
        x: [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> zoo.geometry.poincare.project(keras.ops.ones((1, 2)) * 10.0)  # norm 0.999
    """
    (x,), out = _inputs(x)
    c = c_tensor(c, x.dtype)
    return _out(_project(x, c, nx.ball_eps(x.dtype)), out, c)


def mobius_add(x: TensorLike, y: TensorLike, c: Curvature = 1.0) -> Tensor:
    """Möbius addition x (+)_c y, broadcasting over leading axes.

    x (+) y = [(1 + 2c<x,y> + c||y||^2) x + (1 - c||x||^2) y] / (1 + 2c<x,y> + c^2||x||^2||y||^2),
    evaluated as [a (x+y) + S x] / (S + a b) with a = 1 - c||x||^2, b = 1 - c||y||^2,
    S = c||x+y||^2 (the same expression, without cancellation near the boundary).

    Args:
        x: points in the ball, [..., d].
        y: points in the ball, broadcastable with x.
        c: curvature magnitude > 0.

    Example:
        >>> x = keras.ops.convert_to_tensor([[0.1, 0.2]])
        >>> zoo.geometry.poincare.mobius_add(x, -x)  # [[0., 0.]]
    """
    (x, y), out = _inputs(x, y)
    c = c_tensor(c, x.dtype)
    return _out(_mobius_add(x, y, _one_minus_c_sq(x, c), _one_minus_c_sq(y, c), c), out, c)


def _mobius_add(x: Tensor, y: Tensor, a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """Möbius addition given a = 1 - c||x||^2 and b = 1 - c||y||^2 (callers that know them exactly,
    like `expmap`, pass them in rather than recomputing them from rounded norms)."""
    s = x + y
    big_s = c * nx.sq_norm(s)
    return (a * s + big_s * x) / nx.clamp_min(big_s + a * b, nx.MIN_DENOM)


def expmap0(u: TensorLike, c: Curvature = 1.0) -> Tensor:
    """Exponential map at the origin: tanh(sqrt(c)||u||) u / (sqrt(c)||u||), then `project`.

    Args:
        u: tangent vectors at 0, [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> zoo.geometry.poincare.expmap0(keras.ops.ones((1, 2)), c=1.0)  # [[0.6089, 0.6089]]
    """
    (u,), out = _inputs(u)
    c = c_tensor(c, u.dtype)
    sqrt_c = ops.sqrt(c)
    norm = nx.safe_norm(u)
    return _out(project(nx.tanh_nonneg(sqrt_c * norm) * u / (sqrt_c * norm), c), out, c)


def logmap0(y: TensorLike, c: Curvature = 1.0) -> Tensor:
    """Logarithmic map at the origin: artanh(sqrt(c)||y||) y / (sqrt(c)||y||).

    Args:
        y: points in the ball, [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> u = keras.ops.ones((1, 2))
        >>> zoo.geometry.poincare.logmap0(zoo.geometry.poincare.expmap0(u))  # ~u
    """
    (y,), out = _inputs(y)
    c = c_tensor(c, y.dtype)
    sqrt_c = ops.sqrt(c)
    norm = nx.safe_norm(y)
    return _out(nx.artanh(sqrt_c * norm) * y / (sqrt_c * norm), out)


def expmap(x: TensorLike, u: TensorLike, c: Curvature = 1.0) -> Tensor:
    """Exponential map at x: x (+) [tanh(t) u / (sqrt(c)||u||)] with t = sqrt(c) lambda_x ||u|| / 2,
    projected.

    The second summand has 1 - c||.||^2 = 1 - tanh(t)^2 = 1/cosh(t)^2, which is passed to the Möbius
    addition exactly instead of being recomputed from its (rounded) norm: that keeps float32 accurate
    when tanh(t) is close to 1.

    Args:
        x: base points in the ball, [..., d].
        u: tangent vectors at x, [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> x = keras.ops.convert_to_tensor([[0.3, 0.0]])
        >>> zoo.geometry.poincare.expmap(x, keras.ops.zeros((1, 2)))  # x
    """
    (x, u), out = _inputs(x, u)
    c = c_tensor(c, x.dtype)
    sqrt_c = ops.sqrt(c)
    norm = nx.safe_norm(u)
    a = _one_minus_c_sq(x, c)
    t = ops.clip(sqrt_c * norm / a, 0.0, nx.TANH_MAX)  # lambda_x / 2 = 1 / a
    second = nx.tanh_nonneg(t) * u / (sqrt_c * norm)
    b = 1.0 / ops.square(ops.cosh(t))
    return _out(project(_mobius_add(x, second, a, b, c), c), out, c)


def logmap(x: TensorLike, y: TensorLike, c: Curvature = 1.0) -> Tensor:
    """Logarithmic map at x: (2 / (sqrt(c) lambda_x)) artanh(sqrt(c)||w||) w/||w||, w = (-x) (+) y.

    Evaluated as (1 - c||x||^2)/sqrt(c) * asinh(sqrt(c)||y-x|| / sqrt((1-c||x||^2)(1-c||y||^2))) * w/||w||
    (artanh(sqrt(c)||w||) equals that asinh; it stays accurate when ||w|| is next to 1/sqrt(c)).
    hyptorch does not floor ||w||, so its logmap(x, x) is NaN; here it is 0.

    Args:
        x: base points in the ball, [..., d].
        y: points in the ball, [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> x = keras.ops.convert_to_tensor([[0.3, 0.0]])
        >>> zoo.geometry.poincare.logmap(x, x)  # [[0., 0.]]
    """
    (x, y), out = _inputs(x, y)
    c = c_tensor(c, x.dtype)
    sqrt_c = ops.sqrt(c)
    a = _one_minus_c_sq(x, c)
    b = _one_minus_c_sq(y, c)
    w = _mobius_add(-x, y, a, b, c)
    diff_norm = nx.safe_norm(y - x)
    magnitude = a / sqrt_c * ops.arcsinh(sqrt_c * diff_norm / ops.sqrt(a * b))
    return _out(magnitude * w / nx.safe_norm(w), out)


def dist(x: TensorLike, y: TensorLike, c: Curvature = 1.0, keepdims: bool = False) -> Tensor:
    """Geodesic distance d_c(x, y) = (2/sqrt c) artanh(sqrt(c)||(-x) (+) y||), broadcasting.

    Evaluated as (2/sqrt c) asinh(sqrt(c)||x-y|| / sqrt((1-c||x||^2)(1-c||y||^2))): equal, symmetric
    to the bit, and accurate next to the boundary (see the module docstring).

    Args:
        x: points in the ball, [..., d].
        y: points in the ball, broadcastable with x.
        c: curvature magnitude > 0.
        keepdims: keep the last axis (size 1).

    Example:
        >>> zoo.geometry.poincare.dist(keras.ops.zeros((1, 2)), keras.ops.convert_to_tensor([[0.5, 0.]]))
        ... # [2*artanh(0.5)] = [1.0986]
    """
    (x, y), out = _inputs(x, y)
    c = c_tensor(c, x.dtype)
    sqrt_c = ops.sqrt(c)
    a = _one_minus_c_sq(x, c)
    b = _one_minus_c_sq(y, c)
    diff_norm = nx.safe_norm(x - y)
    d = 2.0 / sqrt_c * ops.arcsinh(sqrt_c * diff_norm / ops.sqrt(a * b))
    return _out(d if keepdims else ops.squeeze(d, axis=-1), out)


def dist0(x: TensorLike, c: Curvature = 1.0, keepdims: bool = False) -> Tensor:
    """Distance to the origin, (2/sqrt c) artanh(sqrt(c)||x||): the paper's uncertainty score.

    Args:
        x: points in the ball, [..., d].
        c: curvature magnitude > 0.
        keepdims: keep the last axis (size 1).

    Example:
        >>> zoo.geometry.poincare.dist0(keras.ops.convert_to_tensor([[0.5, 0.]]))  # [1.0986]
    """
    (x,), out = _inputs(x)
    c = c_tensor(c, x.dtype)
    sqrt_c = ops.sqrt(c)
    d = 2.0 / sqrt_c * nx.artanh(sqrt_c * nx.safe_norm(x))
    return _out(d if keepdims else ops.squeeze(d, axis=-1), out)


def pairwise_dist(x: TensorLike, y: TensorLike, c: Curvature = 1.0) -> Tensor:
    """All distances between rows of x [n, d] and rows of y [m, d] -> [n, m], in O(nm) memory.

    Uses ||x_i - y_j||^2 = ||x_i||^2 + ||y_j||^2 - 2<x_i, y_j> (one matmul, clipped at 0 against rounding)
    in the asinh form of `dist`; no [n, m, d] tensor is built. The closed form cancels for close pairs:
    float32 rounding of ||x||^2 + ||y||^2 - 2<x,y> is ~4 eps (||x||^2 + ||y||^2), which at the projection
    radius (1 - c||x||^2 = 2e-3) reads as a distance of up to ~0.8/sqrt(c) between a point and itself
    (measured: 0.82 at c = 1, 7.6 at c = 0.01; the elementwise `dist` gives 0). Use `dist` where close
    pairs next to the boundary matter.

    Args:
        x: [n, d] points in the ball.
        y: [m, d] points in the ball.
        c: curvature magnitude > 0.

    Example:
        >>> zoo.geometry.poincare.pairwise_dist(keras.ops.zeros((3, 2)), keras.ops.zeros((4, 2)))  # zeros (3, 4)
    """
    (x, y), out = _inputs(x, y)
    c = c_tensor(c, x.dtype)
    sqrt_c = ops.sqrt(c)
    x2 = nx.sq_norm(x)  # [n, 1]
    y2 = ops.transpose(nx.sq_norm(y))  # [1, m]
    diff2 = ops.relu(x2 + y2 - 2.0 * matmul(x, ops.transpose(y)))  # relu keeps float64 on torch
    a = nx.clamp_min(1.0 - c * x2, nx.MIN_DENOM)
    b = nx.clamp_min(1.0 - c * y2, nx.MIN_DENOM)
    return _out(2.0 / sqrt_c * ops.arcsinh(sqrt_c * nx.safe_sqrt(diff2) / ops.sqrt(a * b)), out)


def mobius_matvec(m: TensorLike, x: TensorLike, c: Curvature = 1.0) -> Tensor:
    """Möbius matrix-vector product M (x)_c x = (1/sqrt c) tanh(||Mx||/||x|| artanh(sqrt(c)||x||)) Mx/||Mx||.

    Keras convention: `Mx` is `x @ m` with `m` of shape [d_in, d_out]. A row whose Mx is 0 maps to 0.
    The result is projected onto the ball.

    Args:
        m: [d_in, d_out] matrix.
        x: [..., d_in] points in the ball.
        c: curvature magnitude > 0.

    Example:
        >>> zoo.geometry.poincare.mobius_matvec(keras.ops.eye(2), keras.ops.convert_to_tensor([[0.3, 0.1]]))
        ... # the same point
    """
    (x,), out = _inputs(x)
    c = c_tensor(c, x.dtype)
    sqrt_c = ops.sqrt(c)
    x_norm = nx.safe_norm(x)
    mx = matmul(x, ops.cast(m, x.dtype))
    mx_norm = nx.safe_norm(mx)
    res = nx.tanh_nonneg(mx_norm / x_norm * nx.artanh(sqrt_c * x_norm)) * mx / (mx_norm * sqrt_c)
    return _out(project(res, c), out, c)


def to_klein(x: TensorLike, c: Curvature = 1.0) -> Tensor:
    """Poincaré -> Klein: 2x / (1 + c||x||^2).

    Args:
        x: points in the Poincaré ball, [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> zoo.geometry.poincare.to_klein(keras.ops.convert_to_tensor([[0.5, 0.]]))  # [[0.8, 0.]]
    """
    (x,), out = _inputs(x)
    c = c_tensor(c, x.dtype)
    return _out(2.0 * x / (1.0 + c * nx.sq_norm(x)), out)


def from_klein(k: TensorLike, c: Curvature = 1.0) -> Tensor:
    """Klein -> Poincaré: k / (1 + sqrt(1 - c||k||^2)) (1 - c||k||^2 floored at 0).

    Args:
        k: points in the Klein ball, [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> zoo.geometry.poincare.from_klein(keras.ops.convert_to_tensor([[0.8, 0.]]))  # [[0.5, 0.]]
    """
    (k,), out = _inputs(k)
    c = c_tensor(c, k.dtype)
    return _out(k / (1.0 + ops.sqrt(ops.relu(1.0 - c * nx.sq_norm(k)))), out, c)  # relu keeps float64 on torch


def midpoint(x: TensorLike, c: Curvature = 1.0, weights: TensorLike | None = None, axis: int = -2) -> Tensor:
    """Einstein midpoint (hyperbolic average, the paper's HypAve) of points of the ball along `axis`.

    Definition (Klein model): m_K = sum_i w_i gamma_i k_i / sum_i w_i gamma_i with k_i = to_klein(x_i) =
    2x_i/(1 + c||x_i||^2) and Lorentz factors gamma_i = 1/sqrt(1 - c||k_i||^2) = (1 + c||x_i||^2)/a_i,
    a_i = 1 - c||x_i||^2; the midpoint is from_klein(m_K) = m_K / (1 + sqrt(1 - c||m_K||^2)).

    Evaluated in the ball's coordinates, in closed form. With u_i = w_i/a_i, U = sum u_i, S = sum w_i:
    gamma_i k_i = 2 x_i/a_i, so sum w_i gamma_i k_i = 2 sum u_i x_i and W = sum w_i gamma_i = 2U - S.
    Since gamma_i gamma_j (1 - c<k_i, k_j>) = cosh(sqrt(c) d_ij) = 1 + 2c||x_i - x_j||^2/(a_i a_j),
        W^2 (1 - c||m_K||^2) = sum_ij w_i w_j cosh(sqrt(c) d_ij) = S^2 + 4c U V,
        V = sum_i u_i ||x_i - xbar||^2,   xbar = sum_i u_i x_i / U,
    a sum of non-negative terms (the direct 1 - c||m_K||^2 cancels next to the boundary), and
        midpoint = 2 sum_i u_i x_i / (2U - S + sqrt(S^2 + 4c U V)).
    One weighted sum and one centred sum of squares over the points: no Klein round trip, which in
    float32 moves a point 1e-3 of the radius from the boundary by ~1e-4 of the radius.

    Args:
        x: points in the ball, [..., n, d] (points along `axis`, coordinates on the last axis).
        c: curvature magnitude > 0.
        weights: optional non-negative weights broadcastable to x without its last axis, e.g. [..., n].
            Weights readable on the host (numbers, numpy, concrete CPU tensors) must be finite, >= 0 and
            not all 0 for any mean (ValueError naming `weights`); traced weights are not checked.
        axis: the axis holding the points to average (not the last one).

    Example:
        >>> pts = keras.ops.convert_to_tensor([[0.5, 0.0], [-0.5, 0.0]])
        >>> zoo.geometry.poincare.midpoint(pts)  # [0., 0.]

    Reference:
        Ungar, "A Gyrovector Space Approach to Hyperbolic Geometry", 2008 (Einstein midpoint);
        Khrulkov et al., CVPR 2020 (hyptorch's poincare_mean computes the same function step by step: to
        Klein, Lorentz factors, weighted mean, back to the ball; benchmarks/midpoint.py compares the two).
    """
    (x,), out = _inputs(x)
    c = check_c(c)  # a Python float multiplies a tensor in the tensor's dtype on every backend
    c = c if isinstance(c, float) else c_tensor(c, x.dtype)
    rank = len(x.shape)
    axis = axis % rank
    if axis == rank - 1:
        raise ValueError("`axis` must index the points, not the coordinates (the last axis).")
    if weights is not None:
        check_weights(weights, x.shape, axis)
    a = _one_minus_c_sq(x, c)  # [..., n, 1]
    if weights is None:
        # S = n >= 1 and U >= n: no floors needed below (fewer ops on the hot path of ProtoNet heads).
        u = 1.0 / a
        n = x.shape[axis]
        s = float(n) if n is not None else ops.cast(ops.shape(x)[axis], x.dtype)
        big_u = ops.sum(u, axis=axis)  # [..., 1]
        num = ops.sum(u * x, axis=axis)  # [..., d]: sum_i u_i x_i
        xbar = ops.expand_dims(num / big_u, axis)
        v = ops.sum(u * nx.sq_norm(x - xbar), axis=axis)  # [..., 1]
        return _out(2.0 * num / (2.0 * big_u - s + ops.sqrt(s * s + 4.0 * c * big_u * v)), out, c)
    w = ops.expand_dims(ops.cast(weights, x.dtype), -1) + ops.zeros_like(a)  # [..., n, 1] like a
    u = w / a
    s = ops.sum(w, axis=axis)
    big_u = ops.sum(u, axis=axis)
    num = ops.sum(u * x, axis=axis)
    xbar = ops.expand_dims(num / nx.clamp_min(big_u, nx.MIN_DENOM), axis)
    v = ops.sum(u * nx.sq_norm(x - xbar), axis=axis)
    # Weights that can be read on the host are checked above (>= 0, not all 0). Traced all-zero weights
    # give 0 (not NaN): the floors keep the value and the gradient finite.
    den = 2.0 * big_u - s + nx.safe_sqrt(ops.square(s) + 4.0 * c * big_u * v)
    return _out(2.0 * num / nx.clamp_min(den, nx.MIN_DENOM), out, c)


class Poincare(Geometry):
    """Poincaré ball of curvature -c (c > 0): `zoo.geometry.poincare`'s functions behind the `Geometry`
    interface. The distance is `dist`, the mean the Einstein midpoint.

    Args:
        c: curvature magnitude, a finite number > 0 (ball radius 1/sqrt(c)).

    Example:
        >>> geo = zoo.geometry.Poincare(c=0.05)   # or zoo.geometry.get("poincare", c=0.05)
        >>> geo.pairwise_distance(geo.project(a), geo.project(b))   # [n, m]
    """

    name = "poincare"

    def __init__(self, c: float = 1.0):
        if not is_scalar_number(c) and hasattr(c, "dtype") and hasattr(c, "shape"):
            # A tensor or Variable: a geometry holds a Python float, so read it once here and check the value
            # (a negative tensor used to become a ball of curvature +1).
            try:
                value = np.asarray(ops.convert_to_numpy(c))
            except Exception as err:  # noqa: BLE001 - a traced tensor has no value to hold
                raise ValueError(f"`c` must be a finite number > 0 (curvature -c, ball radius 1/sqrt(c)); got the "
                                 f"tensor {c!r}, whose value cannot be read here.") from err
            if value.size == 1:
                c = value.reshape(())
        self.c = float(check_c(c))

    def project(self, x: TensorLike) -> Tensor:
        return project(x, self.c)

    def distance(self, x: TensorLike, y: TensorLike) -> Tensor:
        return dist(x, y, self.c)

    def pairwise_distance(self, x: TensorLike, y: TensorLike) -> Tensor:
        return pairwise_dist(x, y, self.c)

    def mean(self, x: TensorLike, weights: TensorLike | None = None, axis: int = -2) -> Tensor:
        return midpoint(x, self.c, weights=weights, axis=axis)

    def get_config(self) -> dict:
        return {"name": self.name, "c": self.c}
