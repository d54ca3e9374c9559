"""The Poincaré ball of curvature -c (c > 0, radius 1/sqrt(c)): pure functions on keras.ops.

Conventions follow hyptorch (Khrulkov et al. 2020): `c` is the curvature *magnitude*, points satisfy
c||x||^2 < 1, the conformal factor is lambda_x = 2 / (1 - c||x||^2).

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

Functions of a single norm (expmap0, logmap0, dist0, mobius_matvec) keep hyptorch's form with its
clamps: tanh argument <= 15, straight-through artanh clip at 1 - 1e-5, norms floored (at 1e-15 here,
1e-5 there: see zoo.geometry.numerics). Inputs past the ball never produce NaN: 1 - c||x||^2 is
floored at MIN_DENOM; call `project` to put points back inside.

Reference:
    Khrulkov, Mirvakhabova, Ustinova, Oseledets, Lempitsky. "Hyperbolic Image Embeddings". CVPR 2020.
    Ganea, Bécigneul, Hofmann. "Hyperbolic Neural Networks". NeurIPS 2018.
    Ungar. "A Gyrovector Space Approach to Hyperbolic Geometry" (Einstein midpoint), 2008.
"""

import math

from keras import ops

from zoo.geometry import numerics as nx


def check_c(c):
    """Validate a Python-number curvature (c > 0). Tensors (e.g. a trainable c) pass unchecked."""
    if isinstance(c, (int, float)):
        if not (c > 0 and math.isfinite(c)):
            raise ValueError(
                f"Curvature `c` must be a finite number > 0 (ball radius 1/sqrt(c)); got c={c!r}."
            )
    return c


def _c(c, x):
    check_c(c)
    if isinstance(c, (int, float)):
        # Straight to x's dtype: casting a Python float goes through float32 on some backends
        # (c = 1e-3 would be off by 5e-8 in float64).
        return ops.convert_to_tensor(c, dtype=x.dtype)
    return ops.cast(c, x.dtype)


def _t(*xs):
    """Convert inputs (numpy arrays, lists, tensors) to backend tensors of a float dtype."""
    out = []
    for x in xs:
        x = ops.convert_to_tensor(x)
        if "float" not in str(x.dtype):
            x = ops.cast(x, "float32")
        out.append(x)
    return out if len(out) > 1 else out[0]


def _one_minus_c_sq(x, c):
    """1 - c||x||^2, floored at MIN_DENOM (so points past the ball give no NaN)."""
    return ops.maximum(1.0 - c * nx.sq_norm(x), nx.MIN_DENOM)


def conformal_factor(x, c=1.0):
    """lambda_x = 2 / (1 - c||x||^2), shape [..., 1].

    Args:
        x: points in the ball, [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> zoo.geometry.poincare.conformal_factor(keras.ops.zeros((1, 2)))  # [[2.]]
    """
    x = _t(x)
    c = _c(c, x)
    return 2.0 / _one_minus_c_sq(x, c)


def project(x, c=1.0):
    """Rescale points with norm above (1 - BALL_EPS)/sqrt(c) onto that norm; others are unchanged.

    Args:
        x: [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> zoo.geometry.poincare.project(keras.ops.ones((1, 2)) * 10.0)  # norm 0.999
    """
    x = _t(x)
    c = _c(c, x)
    norm = nx.safe_norm(x)
    maxnorm = (1.0 - nx.ball_eps(x.dtype)) / ops.sqrt(c)
    return ops.where(norm > maxnorm, x / norm * maxnorm, x)


def mobius_add(x, y, c=1.0):
    """Möbius addition x (+)_c y, broadcasting over leading axes.

    x (+) y = [(1 + 2c<x,y> + c||y||^2) x + (1 - c||x||^2) y] / (1 + 2c<x,y> + c^2||x||^2||y||^2),
    evaluated as [a (x+y) + S x] / (S + a b) with a = 1 - c||x||^2, b = 1 - c||y||^2,
    S = c||x+y||^2 (the same expression, without cancellation near the boundary).

    Args:
        x, y: points in the ball, broadcastable [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> x = keras.ops.convert_to_tensor([[0.1, 0.2]])
        >>> zoo.geometry.poincare.mobius_add(x, -x)  # [[0., 0.]]
    """
    x, y = _t(x, y)
    c = _c(c, x)
    return _mobius_add(x, y, _one_minus_c_sq(x, c), _one_minus_c_sq(y, c), c)


def _mobius_add(x, y, a, b, c):
    """Möbius addition given a = 1 - c||x||^2 and b = 1 - c||y||^2 (callers that know them exactly,
    like `expmap`, pass them in rather than recomputing them from rounded norms)."""
    s = x + y
    big_s = c * nx.sq_norm(s)
    return (a * s + big_s * x) / ops.maximum(big_s + a * b, nx.MIN_DENOM)


def expmap0(u, c=1.0):
    """Exponential map at the origin: tanh(sqrt(c)||u||) u / (sqrt(c)||u||), then `project`.

    Args:
        u: tangent vectors at 0, [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> zoo.geometry.poincare.expmap0(keras.ops.ones((1, 2)), c=1.0)
    """
    u = _t(u)
    c = _c(c, u)
    sqrt_c = ops.sqrt(c)
    norm = nx.safe_norm(u)
    return project(nx.tanh_nonneg(sqrt_c * norm) * u / (sqrt_c * norm), c)


def logmap0(y, c=1.0):
    """Logarithmic map at the origin: artanh(sqrt(c)||y||) y / (sqrt(c)||y||).

    Args:
        y: points in the ball, [..., d].
        c: curvature magnitude > 0.

    Example:
        >>> u = keras.ops.ones((1, 2))
        >>> zoo.geometry.poincare.logmap0(zoo.geometry.poincare.expmap0(u))  # ~u
    """
    y = _t(y)
    c = _c(c, y)
    sqrt_c = ops.sqrt(c)
    norm = nx.safe_norm(y)
    return nx.artanh(sqrt_c * norm) * y / (sqrt_c * norm)


def expmap(x, u, c=1.0):
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
    x, u = _t(x, u)
    c = _c(c, x)
    sqrt_c = ops.sqrt(c)
    norm = nx.safe_norm(u)
    a = _one_minus_c_sq(x, c)
    t = ops.clip(sqrt_c * norm / a, 0.0, nx.TANH_MAX)  # lambda_x / 2 = 1 / a
    second = nx.tanh_nonneg(t) * u / (sqrt_c * norm)
    b = 1.0 / ops.square(ops.cosh(t))
    return project(_mobius_add(x, second, a, b, c), c)


def logmap(x, y, c=1.0):
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
    x, y = _t(x, y)
    c = _c(c, x)
    sqrt_c = ops.sqrt(c)
    a = _one_minus_c_sq(x, c)
    b = _one_minus_c_sq(y, c)
    w = mobius_add(-x, y, c)
    diff_norm = nx.safe_norm(y - x)
    magnitude = a / sqrt_c * ops.arcsinh(sqrt_c * diff_norm / ops.sqrt(a * b))
    return magnitude * w / nx.safe_norm(w)


def dist(x, y, c=1.0, keepdims=False):
    """Geodesic distance d_c(x, y) = (2/sqrt c) artanh(sqrt(c)||(-x) (+) y||), broadcasting.

    Evaluated as (2/sqrt c) asinh(sqrt(c)||x-y|| / sqrt((1-c||x||^2)(1-c||y||^2))): equal, symmetric
    to the bit, and accurate next to the boundary (see the module docstring).

    Args:
        x, y: points in the ball, broadcastable [..., d].
        c: curvature magnitude > 0.
        keepdims: keep the last axis (size 1).

    Example:
        >>> zoo.geometry.poincare.dist(keras.ops.zeros((1, 2)), keras.ops.convert_to_tensor([[0.5, 0.]]))
        ... # [2*artanh(0.5)] = [1.0986]
    """
    x, y = _t(x, y)
    c = _c(c, x)
    sqrt_c = ops.sqrt(c)
    a = _one_minus_c_sq(x, c)
    b = _one_minus_c_sq(y, c)
    diff_norm = nx.safe_norm(x - y)
    d = 2.0 / sqrt_c * ops.arcsinh(sqrt_c * diff_norm / ops.sqrt(a * b))
    return d if keepdims else ops.squeeze(d, axis=-1)


def dist0(x, c=1.0, keepdims=False):
    """Distance to the origin, (2/sqrt c) artanh(sqrt(c)||x||): the paper's uncertainty score.

    Args:
        x: points in the ball, [..., d].
        c: curvature magnitude > 0.
        keepdims: keep the last axis (size 1).

    Example:
        >>> zoo.geometry.poincare.dist0(keras.ops.convert_to_tensor([[0.5, 0.]]))  # [1.0986]
    """
    x = _t(x)
    c = _c(c, x)
    sqrt_c = ops.sqrt(c)
    d = 2.0 / sqrt_c * nx.artanh(sqrt_c * nx.safe_norm(x))
    return d if keepdims else ops.squeeze(d, axis=-1)


def pairwise_dist(x, y, c=1.0):
    """All distances between rows of x [n, d] and rows of y [m, d] -> [n, m], in O(nm) memory.

    Uses ||x_i - y_j||^2 = ||x_i||^2 + ||y_j||^2 - 2<x_i, y_j> (one matmul) in the asinh form of `dist`;
    no [n, m, d] tensor is built.

    Args:
        x: [n, d] points in the ball.
        y: [m, d] points in the ball.
        c: curvature magnitude > 0.

    Example:
        >>> zoo.geometry.poincare.pairwise_dist(keras.ops.zeros((3, 2)), keras.ops.zeros((4, 2)))  # zeros (3, 4)
    """
    x, y = _t(x, y)
    c = _c(c, x)
    sqrt_c = ops.sqrt(c)
    x2 = nx.sq_norm(x)  # [n, 1]
    y2 = ops.transpose(nx.sq_norm(y))  # [1, m]
    diff2 = ops.maximum(x2 + y2 - 2.0 * ops.matmul(x, ops.transpose(y)), 0.0)
    a = ops.maximum(1.0 - c * x2, nx.MIN_DENOM)
    b = ops.maximum(1.0 - c * y2, nx.MIN_DENOM)
    return 2.0 / sqrt_c * ops.arcsinh(sqrt_c * nx.safe_sqrt(diff2) / ops.sqrt(a * b))


def mobius_matvec(m, x, c=1.0):
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
    x = _t(x)
    c = _c(c, x)
    sqrt_c = ops.sqrt(c)
    x_norm = nx.safe_norm(x)
    mx = ops.matmul(x, ops.cast(m, x.dtype))
    mx_norm = nx.safe_norm(mx)
    res = nx.tanh_nonneg(mx_norm / x_norm * nx.artanh(sqrt_c * x_norm)) * mx / (mx_norm * sqrt_c)
    return project(res, c)


def to_klein(x, c=1.0):
    """Poincaré -> Klein: 2x / (1 + c||x||^2).

    Example:
        >>> zoo.geometry.poincare.to_klein(keras.ops.convert_to_tensor([[0.5, 0.]]))  # [[0.8, 0.]]
    """
    x = _t(x)
    c = _c(c, x)
    return 2.0 * x / (1.0 + c * nx.sq_norm(x))


def from_klein(k, c=1.0):
    """Klein -> Poincaré: k / (1 + sqrt(1 - c||k||^2)) (1 - c||k||^2 floored at 0).

    Example:
        >>> zoo.geometry.poincare.from_klein(keras.ops.convert_to_tensor([[0.8, 0.]]))  # [[0.5, 0.]]
    """
    k = _t(k)
    c = _c(c, k)
    return k / (1.0 + ops.sqrt(ops.maximum(1.0 - c * nx.sq_norm(k), 0.0)))


def midpoint(x, c=1.0, weights=None, axis=-2):
    """Einstein midpoint (hyperbolic average, the paper's HypAve) through the Klein model.

    m_K = sum_i w_i gamma_i k_i / sum_i w_i gamma_i with k_i = to_klein(x_i) and Lorentz factor
    gamma_i = 1/sqrt(1 - c||k_i||^2), which equals (1 + c||x_i||^2)/(1 - c||x_i||^2) and is evaluated
    that way (no cancellation near the boundary); the midpoint is from_klein(m_K).

    Args:
        x: points in the ball, [..., n, d] (points along `axis`, coordinates on the last axis).
        c: curvature magnitude > 0.
        weights: optional non-negative weights broadcastable to x without its last axis, e.g. [..., n].
        axis: the axis holding the points to average (not the last one).

    Example:
        >>> pts = keras.ops.convert_to_tensor([[0.5, 0.0], [-0.5, 0.0]])
        >>> zoo.geometry.poincare.midpoint(pts)  # [0., 0.]
    """
    x = _t(x)
    c = _c(c, x)
    rank = len(x.shape)
    axis = axis % rank
    if axis == rank - 1:
        raise ValueError("`axis` must index the points, not the coordinates (the last axis).")
    x2 = c * nx.sq_norm(x)
    gamma = (1.0 + x2) / ops.maximum(1.0 - x2, nx.MIN_DENOM)  # [..., n, 1]
    if weights is not None:
        weights = ops.cast(weights, x.dtype)
        gamma = gamma * ops.expand_dims(weights, -1)
    k = to_klein(x, c)
    num = ops.sum(gamma * k, axis=axis)
    den = ops.maximum(ops.sum(gamma, axis=axis), nx.MIN_DENOM)
    return from_klein(num / den, c)
