"""`PoincareDistance`: geodesic distances on the Poincaré ball, row-wise or all pairs (closed form)."""

import keras

from zoo._checks import check_bool
from zoo.geometry import poincare as P
from zoo.geometry.curvature import c_tensor
from zoo.layers._ball import BallLayer

__all__ = ["PoincareDistance"]


@keras.saving.register_keras_serializable(package="zoo")
class PoincareDistance(BallLayer):
    """Geodesic distance d_c(x, y) = (2/sqrt c) artanh(sqrt(c)||(-x) (+)_c y||) between points of the ball.

    Called on `[x, y]`. Row-wise (default): x, y broadcastable [..., d] -> [...] (or [..., 1] with
    `keepdims`). With `pairwise=True`: x [n, d], y [m, d] -> [n, m] through the closed form
    (2/sqrt c) asinh(sqrt(c)||x - y|| / sqrt((1 - c||x||^2)(1 - c||y||^2))) with
    ||x - y||^2 = ||x||^2 + ||y||^2 - 2<x, y> from one matmul (O(nm) memory, no [n, m, d] tensor).

    Both inputs must lie on this layer's ball: called on symbolic inputs, it checks that its c equals
    that of the nearest ToPoincare / HyperbolicLinear upstream of x and of y (a ValueError names both
    layers and both curvatures otherwise); `c=<that layer>` shares a trainable c.

    Args:
        c: curvature magnitude > 0, or the ball layer whose c to share.
        pairwise: all pairs [n, m] instead of row-wise distances.
        keepdims: keep a trailing axis of size 1 (row-wise mode only).
        share_ball: set by `c=<layer>` and stored in the config (see `zoo.layers.HyperbolicMLR`).
        **kwargs: Layer arguments; the dtype policy is float32 (float64 if asked), mixed policies are
            replaced by float32.

    Example:
        >>> dist = zoo.layers.PoincareDistance(c=1.0, pairwise=True)
        >>> d = dist([queries, prototypes])          # [n_queries, n_prototypes]
        >>> logits = -d                               # hyperbolic ProtoNet logits (T = 1)

    Reference:
        Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (hyptorch/nn.py
        `HyperbolicDistanceLayer`, and the ProtoNet distance of examples/fewshot).

    Departures from the reference code:
        - The distance is evaluated in the asinh form (equal to the artanh form, exactly symmetric, and
          accurate next to the boundary; hyptorch's artanh of a Möbius norm saturates at the 1 - 1e-5 clip).
        - The pairwise mode never builds the [n, m, d] Möbius tensor the reference's ProtoNet broadcasts.
    """

    reads_ball = True
    writes_ball = False  # distances

    def __init__(self, c=1.0, pairwise=False, keepdims=False, **kwargs):
        super().__init__(c=c, **kwargs)
        self.pairwise = check_bool(pairwise, "pairwise", owner="PoincareDistance")
        self.keepdims = check_bool(keepdims, "keepdims", owner="PoincareDistance")
        if self.pairwise and self.keepdims:
            raise ValueError("`keepdims` applies to row-wise distances only; it cannot be used with `pairwise`.")

    def build(self, input_shape):
        if not (isinstance(input_shape, (list, tuple)) and len(input_shape) == 2
                and isinstance(input_shape[0], (list, tuple))):
            raise ValueError(f"PoincareDistance is called on [x, y]; got input shape {input_shape}.")
        sx, sy = input_shape
        if sx[-1] is not None and sy[-1] is not None and sx[-1] != sy[-1]:
            raise ValueError(f"PoincareDistance: x has dimension {sx[-1]} but y has dimension {sy[-1]}.")
        if self.pairwise and (len(sx) != 2 or len(sy) != 2):
            raise ValueError(f"pairwise=True needs x [n, d] and y [m, d]; got shapes {sx} and {sy}.")

    def call(self, inputs):
        x, y = inputs
        c = c_tensor(self.curvature, self.compute_dtype)
        if self.pairwise:
            return P.pairwise_dist(x, y, c)
        return P.dist(x, y, c, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        sx, sy = input_shape
        if self.pairwise:
            return (sx[0], sy[0])
        batch = sx[:-1] if len(sx) >= len(sy) else sy[:-1]
        return tuple(batch) + ((1,) if self.keepdims else ())

    def get_config(self):
        config = super().get_config()
        config.update(pairwise=self.pairwise, keepdims=self.keepdims)
        return config
