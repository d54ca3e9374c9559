"""`FromPoincare`: points of the Poincaré ball -> tangent vectors (log map at 0 or at a base point)."""

import keras

from zoo.geometry import poincare as P
from zoo.geometry.curvature import c_tensor
from zoo.layers._ball import BallMapLayer

__all__ = ["FromPoincare"]


@keras.saving.register_keras_serializable(package="zoo")
class FromPoincare(BallMapLayer):
    """Map points of the Poincaré ball back to Euclidean (tangent) vectors: u = log_{x_p}(y), x_p = 0 by default.

    At the origin u = artanh(sqrt(c)||y||) y / (sqrt(c)||y||); at a base point x_p,
    u = (2/(sqrt(c) lambda_{x_p})) artanh(sqrt(c)||w||) w/||w|| with w = (-x_p) (+)_c y (evaluated in the
    well-conditioned asinh form of `zoo.geometry.poincare.logmap`). Inverse of `ToPoincare` with the same
    c and base point (inside the projection radius).

    Inputs are first projected onto the ball of radius (1 - 1e-3)/sqrt(c) (the identity on ToPoincare
    outputs): a point past the boundary would otherwise reach artanh's clamp, whose straight-through form
    in zoo.geometry.numerics rounds to 1 for large arguments and gives NaN gradients.

    Its inputs are points of a ball: called on the output of a ToPoincare (or HyperbolicLinear), it must
    use the same c, or share it with `c=<that layer>` (the way to invert a ToPoincare whose c trains);
    a different ball is a ValueError naming both layers and both curvatures.

    Args:
        c: curvature magnitude > 0; with `train_c` the initial value of this layer's own trainable c. Or a
            ball layer whose c this one shares.
        train_c: learn c (softplus-parametrised, owned by this layer).
        train_x: learn the base point (stored in the tangent space at 0, initialised at `base_point` or 0).
        ball_dim: optional expected input dimension; a mismatch with the input is an error.
        base_point: optional point of the ball (list of floats), initial (train_x) or fixed base point.
        share_ball: set by `c=<layer>` and stored in the config (see `zoo.layers.HyperbolicMLR`).
        **kwargs: Layer arguments; the dtype policy is float32 (float64 if asked), mixed policies are
            replaced by float32.

    Example:
        >>> to_ball = zoo.layers.ToPoincare(c=0.5)
        >>> back = zoo.layers.FromPoincare(c=0.5)
        >>> u = keras.ops.ones((2, 3)) * 0.1
        >>> back(to_ball(u))   # ~u
        >>> trained = zoo.layers.ToPoincare(c=0.5, train_c=True)
        >>> inverse = zoo.layers.FromPoincare(c=trained)   # shares the trainable c

    Reference:
        Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (hyptorch/nn.py `FromPoincare`).

    Departures from the reference code:
        - hyptorch's log_x(y) does not floor ||(-x) (+) y||, so log_x(x) is NaN; here it is 0.
        - A trainable c is softplus-parametrised (the reference leaves it unconstrained).
        - Inputs are projected onto the ball first (the reference does not).
    """

    reads_ball = True
    writes_ball = False  # its outputs are tangent vectors

    def build(self, input_shape):
        self._build_ball(self._check_dim(input_shape))

    def call(self, y):
        c = c_tensor(self.curvature, self.compute_dtype)
        base = self._base(c)
        y = P.project(y, c)  # identity on ToPoincare outputs; keeps inputs past the ball NaN-free
        return P.logmap0(y, c) if base is None else P.logmap(base, y, c)
