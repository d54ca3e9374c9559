"""`ToPoincare`: Euclidean features -> points of the Poincaré ball (exp map, projection, gradient rescale)."""

import keras
from keras import ops

from zoo._checks import check_bool
from zoo.geometry import poincare as P
from zoo.geometry.curvature import c_tensor
from zoo.layers._ball import BallMapLayer

__all__ = ["ToPoincare"]


@keras.saving.register_keras_serializable(package="zoo")
class ToPoincare(BallMapLayer):
    """Map Euclidean features onto the Poincaré ball: y = project(exp_{x_p}(x)), x_p = 0 by default.

    With the origin as base point, y = project(tanh(sqrt(c)||x||) x / (sqrt(c)||x||)); with a base point
    x_p (learnable with `train_x`), y = project(x_p (+)_c [tanh(sqrt(c) lambda_{x_p}||x||/2) x /
    (sqrt(c)||x||)]). With `riemannian=True` the forward value is unchanged and the gradient reaching
    y is multiplied by the inverse metric (1 - c||y||^2)^2 / 4 (a Riemannian gradient step for plain
    SGD/Adam), written without custom_gradient as y = sg(y) + s (y - sg(y)), s = sg((1 - c||y||^2)^2/4).

    The layer owns the ball its outputs lie on: layers called downstream on its outputs (HyperbolicMLR,
    HyperbolicLinear, PoincareDistance, FromPoincare, a Poincaré PrototypicalHead) must use the same c, or
    share it with `c=<this layer>` (required when c is trainable); two different balls in one model are
    a ValueError naming both layers and both curvatures.

    Args:
        c: curvature magnitude > 0 (ball radius 1/sqrt(c)); with `train_c` the initial value. Or another
            ball layer whose c this one shares (e.g. the ToPoincare of a second input branch).
        train_c: learn c, owned by this layer: c = max(softplus(raw), MIN_TRAINABLE_C) > 0.
        train_x: learn the base point x_p, stored in the tangent space at 0 (x_p = project(expmap0(v))).
        ball_dim: optional expected input dimension (the reference needs it for `train_x`; here the
            dimension comes from the input, and a mismatch with `ball_dim` is an error).
        riemannian: rescale gradients by (1 - c||y||^2)^2/4 (default True, as every run of the reference).
        base_point: optional point of the ball (list of floats): the initial base point with `train_x`,
            a fixed base point without it. Outside the ball -> ValueError.
        share_ball: set by `c=<layer>` and stored in the config (see `zoo.layers.HyperbolicMLR`).
        **kwargs: Layer arguments. The dtype policy is float32 (float64 if asked); mixed policies are
            replaced by float32 (the ball's clamps do not exist in 16-bit floats).

    Example:
        >>> layer = zoo.layers.ToPoincare(c=0.05, train_c=True)
        >>> y = layer(keras.ops.ones((4, 16)) * 100.0)   # norms < (1 - 1e-3)/sqrt(0.05)
        >>> float(layer.curvature)                          # 0.05 until trained
        >>> logits = zoo.layers.HyperbolicMLR(10, c=layer)(y)  # the MLR shares the trainable c

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

    reads_ball = False  # its inputs are Euclidean
    writes_ball = True

    def __init__(self, c=1.0, train_c=False, train_x=False, ball_dim=None, riemannian=True, base_point=None,
                 **kwargs):
        super().__init__(c=c, train_c=train_c, train_x=train_x, ball_dim=ball_dim, base_point=base_point,
                         **kwargs)
        self.riemannian = check_bool(riemannian, "riemannian", owner="ToPoincare")

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
