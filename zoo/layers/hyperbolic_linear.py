"""`HyperbolicLinear`: Möbius matrix-vector product followed by a Möbius bias on the Poincaré ball."""

import keras
from keras import ops

from zoo._checks import check_bool, check_int
from zoo.geometry import poincare as P
from zoo.geometry.curvature import c_tensor
from zoo.layers._ball import BallLayer
from zoo.layers._initializers import reference_bias_initializer, reference_initializer

__all__ = ["HyperbolicLinear"]


@keras.saving.register_keras_serializable(package="zoo")
class HyperbolicLinear(BallLayer):
    """Hyperbolic linear layer: y = project((W (x)_c x) (+)_c expmap0(b)), ball [B, d_in] -> ball [B, units].

    W (x)_c x = (1/sqrt c) tanh((||xW||/||x||) artanh(sqrt(c)||x||)) xW/||xW|| (Möbius mat-vec, Keras
    convention x @ W with W of shape [d_in, units]); the bias b lives in the tangent space at 0 and is
    mapped with expmap0, then Möbius-added. Inputs are first projected onto the ball of radius
    (1 - 1e-3)/sqrt(c) (the identity on ToPoincare outputs; keeps inputs past the ball NaN-free).

    Input and output lie on the same ball: its c must equal that of the layer that made the inputs (the
    nearest ToPoincare / HyperbolicLinear upstream, checked when the layer is called on symbolic inputs),
    or share it with `c=<that layer>`; layers downstream are checked against this one in turn.

    Args:
        units: output dimension >= 1.
        c: curvature magnitude > 0 (input and output ball), or the ball layer whose c to share.
        use_bias: add the Möbius bias (default True).
        kernel_initializer: default U(+-1/sqrt(d_in)) (torch's kaiming_uniform_(a=sqrt(5)), as the reference).
        bias_initializer: default U(+-1/sqrt(d_in)) (the reference's bias init; fan_in is only known in
            `build`, so None selects it there).
        share_ball: set by `c=<layer>` and stored in the config (see `zoo.layers.HyperbolicMLR`).
        **kwargs: Layer arguments; the dtype policy is float32 (float64 if asked), mixed policies are
            replaced by float32.

    Example:
        >>> x = zoo.layers.ToPoincare(c=0.5)(keras.ops.ones((4, 8)))
        >>> y = zoo.layers.HyperbolicLinear(16, c=0.5)(x)   # [4, 16], in the ball of radius 1/sqrt(0.5)

    Reference:
        Ganea, Bécigneul, Hofmann, "Hyperbolic Neural Networks", NeurIPS 2018;
        Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (hyptorch/nn.py `HypLinear`).

    Departures from the reference code:
        - Möbius ops from zoo.geometry.poincare: no +1e-5 in the Möbius denominator, norm floor 1e-15
          instead of 1e-5 (hyptorch's floor shrinks inputs with norms below 1e-5).
        - The kernel is stored [d_in, units] (Keras) instead of [units, d_in] (torch).
        - Inputs are projected onto the ball first (hyptorch does not: a point past the boundary gives
          artanh(>1) = NaN there).
        - The bias is Möbius-added at the layer's c. hyptorch's `HypLinear` maps the bias with
          expmap0(b, c) but adds it with `pmath.mobius_add(mv, bias)` without passing c, i.e. at c = 1;
          at c != 1 its output is therefore not the gyro-translation of the ball of curvature -c (and is
          then projected onto that ball). Both agree at c = 1.
    """

    reads_ball = True
    writes_ball = True

    def __init__(self, units, c=1.0, use_bias=True, kernel_initializer=None, bias_initializer=None, **kwargs):
        super().__init__(c=c, **kwargs)
        self.units = check_int(units, "units", minimum=1, owner="HyperbolicLinear")
        self.use_bias = check_bool(use_bias, "use_bias", owner="HyperbolicLinear")
        self.kernel_initializer = (keras.initializers.get(kernel_initializer) if kernel_initializer
                                   else reference_initializer())
        self.bias_initializer = keras.initializers.get(bias_initializer) if bias_initializer else None

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(f"HyperbolicLinear needs a known last (feature) dimension; got {input_shape}.")
        self.kernel = self.add_weight(name="kernel", shape=(dim, self.units), initializer=self.kernel_initializer)
        self.bias = None
        if self.use_bias:
            init = self.bias_initializer
            if init is None:
                init = reference_bias_initializer(dim)
            self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=init)

    def call(self, x):
        c = c_tensor(self.curvature, self.compute_dtype)
        y = P.mobius_matvec(self.kernel, P.project(x, c), c)
        if self.bias is not None:
            y = P.mobius_add(y, P.expmap0(ops.expand_dims(ops.convert_to_tensor(self.bias), 0), c), c)
        return P.project(y, c)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units, use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=(keras.initializers.serialize(self.bias_initializer)
                              if self.bias_initializer is not None else None),
        )
        return config
