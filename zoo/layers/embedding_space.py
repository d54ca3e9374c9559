"""`EmbeddingSpace`: the exponential-triplet embedding maps "l2", "unit_ball", "unit_bounce"."""

import keras
from keras import ops

from zoo._checks import check_choice, check_positive
from zoo.geometry import numerics as nx

__all__ = ["EmbeddingSpace"]

SPACES = ("l2", "unit_ball", "unit_bounce", "none")
BOUNCES = ("limit", "periodic", "squared")
# The reference's collapse factor for ‖x‖ >= 2·c_s in `unit_range_bounce_limit` (output u·1e-20).
_COLLAPSE = 1e-20


@keras.saving.register_keras_serializable(package="zoo")
class EmbeddingSpace(keras.layers.Layer):
    """Map embeddings x into a bounded space; n = ‖x‖ is under stop-gradient, u = x / n.

        "l2":          c_s·u                              (the sphere of radius c_s)
        "unit_ball":   x if n <= c_s else c_s·u           (the ball of radius c_s)
        "unit_bounce": x if n <= c_s, else, with k = ⌊n / c_s⌋, r = n - k·c_s:
            bounce="limit" (default, the code's `unit_range_bounce_limit`, used in its runs):
                (2c_s - n)·u if k = 1 (a reflection off the sphere), u·1e-20 ≈ 0 if k >= 2
            bounce="periodic" (the code's `unit_range_bounce`): (c_s - r)·u if k odd, (r - c_s)·u if even
            bounce="squared" (the poster's f_bounce): "periodic" with n replaced by ‖x‖² in k and r
        "none":        x

    Because n is a constant for the gradient, every map is x times a stop-gradient factor: the
    gradient flows through x only, as in the reference (`normalize_output`).

    Args:
        space: "l2", "unit_ball", "unit_bounce" or "none".
        scale: c_s > 0 (default 1, the reference's `embedding_scale`).
        bounce: "limit", "periodic" or "squared" (only used by "unit_bounce").
        **kwargs: `keras.layers.Layer` arguments; dtype defaults to float32 (a geometry layer keeps
            float32 under mixed precision).

    Example:
        >>> layer = zoo.layers.EmbeddingSpace("unit_bounce", scale=1.0)
        >>> layer(keras.ops.convert_to_tensor([[0.3, 0.4], [0.9, 1.2]]))   # [[0.3, 0.4], [0.3, 0.4]]

    Reference:
        Urtans, Nikitenko, Vecins, "Exponential Triplet Loss", ICCDA 2020; code
        evaldsurtans/exponential-triplet-loss, modules/torch_utils.normalize_output.

    Departures from the reference code:
        The norm has a floor (`zoo.geometry.numerics.safe_norm`) so x = 0 maps to 0 instead of NaN.
        The poster writes the l2 space as c_s·x/|x|² (a typo) and the bounce with |x|²; the default
        follows the code (norm ‖x‖), the poster form is `bounce="squared"`. The reference computes
        k = ⌊(n - 1e-20)/c_s⌋; the 1e-20 vanishes in float32 and is dropped (the n = c_s boundary
        maps to x either way).
    """

    def __init__(self, space="unit_bounce", scale=1.0, bounce="limit", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.space = check_choice(space, "space", SPACES, owner="EmbeddingSpace")
        self.bounce = check_choice(bounce, "bounce", BOUNCES, owner="EmbeddingSpace")
        self.scale = check_positive(scale, "scale", owner="EmbeddingSpace")

    def build(self, input_shape):
        self.built = True

    def _factor(self, n):
        s = self.scale
        one = ops.ones_like(n)
        if self.space == "l2":
            return s / n
        if self.space == "unit_ball":
            return ops.where(n > s, s / n, one)
        if self.bounce == "limit":
            k = ops.floor(n / s)
            out = ops.where(k < 2.0, (2.0 * s - n) / n, _COLLAPSE / n)
            return ops.where(n > s, out, one)
        m = ops.square(n) if self.bounce == "squared" else n
        k = ops.floor(m / s)
        r = m - k * s
        odd = ops.equal(ops.mod(k, 2.0), 1.0)
        target = ops.where(odd, s - r, r - s)
        return ops.where(m > s, target / n, one)

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.space == "none":
            return x
        n = ops.stop_gradient(nx.safe_norm(x, axis=-1, keepdims=True))
        return x * ops.stop_gradient(self._factor(n))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "space": self.space, "scale": self.scale, "bounce": self.bounce}
