"""`ToPoincare`: Euclidean features -> points of the Poincaré ball (exp map, projection, gradient rescale).

Also holds `_BallLayer`, the private base shared by the hyperbolic layers of this package: the float32
dtype policy, the curvature (a constant or a per-layer trainable weight kept positive), the optional
base point and the argument checks.
"""

import math

import keras
import numpy as np
from keras import ops

from zoo.geometry import poincare as P

__all__ = ["ToPoincare"]

# Smallest value a *trainable* curvature can take: c = max(softplus(raw), MIN_TRAINABLE_C). softplus is
# positive in exact arithmetic but underflows to 0 in float32 for raw < -104, and c = 0 divides by
# sqrt(c) everywhere; 1e-8 is a ball of radius 1e4, flat for every practical purpose. (Belongs with the
# other clamps in zoo/geometry/numerics.py; kept here because this issue may not edit that file.)
MIN_TRAINABLE_C = 1e-8


def geometry_dtype(dtype):
    """The dtype policy of a hyperbolic layer: float32 unless float64 was asked for explicitly.

    Mixed policies (`mixed_float16`, `mixed_bfloat16`) and low-precision ones become float32: with 16-bit
    floats 1 - 1e-5 rounds to 1 and artanh is infinite at the clamp (seeds-spec §2.9). Keras casts the
    layer's floating inputs to its compute dtype, so a float16 backbone feeds float32 geometry.
    """
    if dtype is None:
        return "float32"
    policy = keras.dtype_policies.get(dtype)
    if policy.compute_dtype == "float64" and policy.variable_dtype == "float64":
        return policy
    return "float32"


def check_positive_c(c, name="c"):
    """c must be a finite Python number > 0 (the curvature magnitude; ball radius 1/sqrt(c))."""
    if isinstance(c, bool) or not isinstance(c, (int, float, np.floating, np.integer)):
        raise ValueError(f"`{name}` must be a finite number > 0 (curvature -c, ball radius 1/sqrt(c)); got {c!r}.")
    if not (math.isfinite(float(c)) and float(c) > 0):
        raise ValueError(f"`{name}` must be a finite number > 0 (curvature -c, ball radius 1/sqrt(c)); got {c!r}.")
    return float(c)


def c_tensor(c, dtype):
    """c as a scalar tensor of `dtype`. A Python float goes straight to `dtype` (ops.cast would round it to
    float32 first: c = 1e-3 would be off by 5e-8 in a float64 layer); a tensor (trainable c) is cast."""
    if isinstance(c, (int, float, np.floating, np.integer)):
        return ops.convert_to_tensor(float(c), dtype=dtype)
    return ops.cast(c, dtype)


def _inverse_softplus(c):
    """raw with softplus(raw) = c, in float64 (log(expm1(c)); c itself for large c)."""
    return float(c + math.log(-math.expm1(-c)))


class _BallLayer(keras.layers.Layer):
    """Private base of the Poincaré layers: curvature, base point, dtype policy, dimension checks.

    Args:
        c: curvature magnitude > 0 (initial value when `train_c`).
        train_c: make c a trainable weight of *this* layer, c = max(softplus(raw), MIN_TRAINABLE_C).
        train_x: learn a base point x_p = project(expmap0(v)) (v in the tangent space at 0).
        ball_dim: expected input dimension (optional; checked against the input when given).
        base_point: initial (train_x) or fixed (not train_x) base point, a point of the ball given as
            a list of ball_dim floats; None = the origin.
    """

    def __init__(self, c=1.0, train_c=False, train_x=False, ball_dim=None, base_point=None, **kwargs):
        kwargs["dtype"] = geometry_dtype(kwargs.get("dtype"))
        super().__init__(**kwargs)
        self.c = check_positive_c(c)
        self.train_c = bool(train_c)
        self.train_x = bool(train_x)
        if ball_dim is not None:
            if isinstance(ball_dim, bool) or not hasattr(ball_dim, "__index__") or int(ball_dim) < 1:
                raise ValueError(f"`ball_dim` must be an integer >= 1 or None; got {ball_dim!r}.")
            ball_dim = int(ball_dim)
        self.ball_dim = ball_dim
        if base_point is not None:
            bp = np.asarray(base_point, dtype=np.float64)
            if bp.ndim != 1 or not np.all(np.isfinite(bp)):
                raise ValueError(f"`base_point` must be a finite 1-D list of floats; got {base_point!r}.")
            sq = float(np.sum(bp * bp))
            if self.c * sq >= 1.0:
                raise ValueError(
                    f"`base_point` must lie inside the Poincaré ball c*||x||^2 < 1 (radius 1/sqrt(c) = "
                    f"{1 / math.sqrt(self.c):.6g} for c={self.c}); got a point of norm {math.sqrt(sq):.6g}."
                )
            if ball_dim is not None and bp.shape[0] != ball_dim:
                raise ValueError(f"`base_point` has {bp.shape[0]} coordinates but `ball_dim` is {ball_dim}.")
            base_point = [float(v) for v in bp]
        self.base_point = base_point
        self._c_raw = None
        self._xp_raw = None

    # -- weights ------------------------------------------------------------------------------------

    def _check_dim(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(f"{type(self).__name__} needs a known last (feature) dimension; got {input_shape}.")
        if self.ball_dim is not None and dim != self.ball_dim:
            raise ValueError(
                f"{type(self).__name__}: the input has dimension {dim} but `ball_dim` is {self.ball_dim}."
            )
        if self.base_point is not None and len(self.base_point) != dim:
            raise ValueError(
                f"{type(self).__name__}: `base_point` has {len(self.base_point)} coordinates but the input "
                f"has dimension {dim}."
            )
        return int(dim)

    def _build_ball(self, dim):
        if self.train_c:
            self._c_raw = self.add_weight(
                name="c_raw", shape=(), trainable=True,
                initializer=keras.initializers.Constant(_inverse_softplus(self.c)),
            )
        if self.train_x or self.base_point is not None:
            if self.base_point is None:
                init = np.zeros((dim,))
            else:  # store v = logmap0(base point) (the reference's parametrisation of x_p)
                bp = np.asarray(self.base_point, np.float64)
                n = np.linalg.norm(bp)
                init = bp if n == 0 else np.arctanh(math.sqrt(self.c) * n) * bp / (math.sqrt(self.c) * n)
            self._xp_raw = self.add_weight(
                name="base_point", shape=(dim,), trainable=self.train_x,
                initializer=keras.initializers.Constant(init.astype("float64")),
            )

    @property
    def curvature(self):
        """The curvature magnitude c used in the forward pass: the Python float, or a scalar tensor
        when it is trainable."""
        if self._c_raw is None:
            return self.c
        return ops.maximum(ops.softplus(self._c_raw), MIN_TRAINABLE_C)

    def _base(self, c):
        """The base point x_p = project(expmap0(v)) as [1, d], or None for the origin."""
        if self._xp_raw is None:
            return None
        return P.expmap0(ops.expand_dims(ops.convert_to_tensor(self._xp_raw), 0), c)

    def base_point_value(self):
        """The current base point in the ball (numpy, [d]) or None."""
        b = self._base(self.curvature)
        return None if b is None else ops.convert_to_numpy(b)[0]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            c=self.c, train_c=self.train_c, train_x=self.train_x, ball_dim=self.ball_dim,
            base_point=self.base_point,
        )
        return config


@keras.saving.register_keras_serializable(package="zoo")
class ToPoincare(_BallLayer):
    """Map Euclidean features onto the Poincaré ball: y = project(exp_{x_p}(x)), x_p = 0 by default.

    With the origin as base point, y = project(tanh(sqrt(c)||x||) x / (sqrt(c)||x||)); with a base point
    x_p (learnable with `train_x`), y = project(x_p (+)_c [tanh(sqrt(c) lambda_{x_p}||x||/2) x /
    (sqrt(c)||x||)]). With `riemannian=True` the forward value is unchanged and the gradient reaching
    y is multiplied by the inverse metric (1 - c||y||^2)^2 / 4 (a Riemannian gradient step for plain
    SGD/Adam), written without custom_gradient as y = sg(y) + s (y - sg(y)), s = sg((1 - c||y||^2)^2/4).

    Args:
        c: curvature magnitude > 0 (ball radius 1/sqrt(c)); with `train_c` the initial value.
        train_c: learn c, owned by this layer: c = max(softplus(raw), MIN_TRAINABLE_C) > 0.
        train_x: learn the base point x_p, stored in the tangent space at 0 (x_p = project(expmap0(v))).
        ball_dim: optional expected input dimension (the reference needs it for `train_x`; here the
            dimension comes from the input, and a mismatch with `ball_dim` is an error).
        riemannian: rescale gradients by (1 - c||y||^2)^2/4 (default True, as every run of the reference).
        base_point: optional point of the ball (list of floats): the initial base point with `train_x`,
            a fixed base point without it. Outside the ball -> ValueError.
        **kwargs: Layer arguments. The dtype policy is float32 (float64 if asked); mixed policies are
            replaced by float32 (the ball's clamps do not exist in 16-bit floats).

    Example:
        >>> layer = zoo.layers.ToPoincare(c=0.05, train_c=True)
        >>> y = layer(keras.ops.ones((4, 16)) * 100.0)   # norms < (1 - 1e-3)/sqrt(0.05)
        >>> float(layer.curvature)                          # 0.05 until trained

    Reference:
        Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (hyptorch/nn.py `ToPoincare`).

    Departures from the reference code:
        - The reference stores the Riemannian-rescale c in a class-level global set at construction: two
          layers with different c overwrite each other and a trained c is ignored. Here every layer
          rescales with its own current c.
        - A trainable c is an unconstrained parameter in the reference (it can go negative and NaN);
          here it is softplus-parametrised and floored at MIN_TRAINABLE_C.
        - The rescale is a stop-gradient identity instead of a torch.autograd.Function (same values and
          gradients); it also scales the gradient reaching a trainable c and base point, as the
          reference's does.
        - exp maps use zoo.geometry.poincare (norm floor 1e-15 instead of 1e-5, expm1-based tanh).
    """

    def __init__(self, c=1.0, train_c=False, train_x=False, ball_dim=None, riemannian=True, base_point=None,
                 **kwargs):
        super().__init__(c=c, train_c=train_c, train_x=train_x, ball_dim=ball_dim, base_point=base_point,
                         **kwargs)
        self.riemannian = bool(riemannian)

    def build(self, input_shape):
        self._build_ball(self._check_dim(input_shape))

    def call(self, x):
        c = c_tensor(self.curvature, self.compute_dtype)
        base = self._base(c)
        y = P.expmap0(x, c) if base is None else P.expmap(base, x, c)
        if self.riemannian:
            scale = ops.stop_gradient(1.0 / ops.square(P.conformal_factor(y, c)))  # (1 - c||y||^2)^2 / 4
            y_const = ops.stop_gradient(y)
            y = y_const + scale * (y - y_const)
        return y

    def get_config(self):
        config = super().get_config()
        config["riemannian"] = self.riemannian
        return config
