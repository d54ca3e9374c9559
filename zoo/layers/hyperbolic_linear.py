"""`HyperbolicLinear`: Möbius matrix-vector product followed by a Möbius bias on the Poincaré ball."""

import keras
from keras import ops

from zoo.geometry import poincare as P
from zoo.layers.hyperbolic_mlr import reference_initializer
from zoo.layers.to_poincare import c_tensor, check_positive_c, geometry_dtype

__all__ = ["HyperbolicLinear"]


@keras.saving.register_keras_serializable(package="zoo")
class HyperbolicLinear(keras.layers.Layer):
    """Hyperbolic linear layer: y = project((W (x)_c x) (+)_c expmap0(b)), ball [B, d_in] -> ball [B, units].

    W (x)_c x = (1/sqrt c) tanh((||xW||/||x||) artanh(sqrt(c)||x||)) xW/||xW|| (Möbius mat-vec, Keras
    convention x @ W with W of shape [d_in, units]); the bias b lives in the tangent space at 0 and is
    mapped with expmap0, then Möbius-added. Inputs are first projected onto the ball of radius
    (1 - 1e-3)/sqrt(c) (the identity on ToPoincare outputs; keeps inputs past the ball NaN-free).

    Args:
        units: output dimension >= 1.
        c: curvature magnitude > 0 (input and output ball).
        use_bias: add the Möbius bias (default True).
        kernel_initializer: default U(+-1/sqrt(d_in)) (torch's kaiming_uniform_(a=sqrt(5)), as the reference).
        bias_initializer: default U(+-1/sqrt(d_in)) (the reference's bias init; fan_in is only known in
            `build`, so None selects it there).
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
    """

    def __init__(self, units, c=1.0, use_bias=True, kernel_initializer=None, bias_initializer=None, **kwargs):
        kwargs["dtype"] = geometry_dtype(kwargs.get("dtype"))
        super().__init__(**kwargs)
        if isinstance(units, bool) or not hasattr(units, "__index__") or int(units) < 1:
            raise ValueError(f"`units` must be an integer >= 1; got {units!r}.")
        self.units = int(units)
        self.c = check_positive_c(c)
        self.use_bias = bool(use_bias)
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
                bound = 1.0 / float(dim) ** 0.5
                init = keras.initializers.RandomUniform(-bound, bound)
            self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=init)

    def call(self, x):
        c = c_tensor(self.c, self.compute_dtype)
        y = P.mobius_matvec(self.kernel, P.project(x, c), c)
        if self.bias is not None:
            y = P.mobius_add(y, P.expmap0(ops.expand_dims(ops.convert_to_tensor(self.bias), 0), c), c)
        return P.project(y, c)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units, c=self.c, use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=(keras.initializers.serialize(self.bias_initializer)
                              if self.bias_initializer is not None else None),
        )
        return config
