"""MaxoutDense: a Dense layer to units·pool_size outputs followed by the max over each group of pool_size."""

import keras
from keras import ops

from zoo._checks import check_int

__all__ = ["MaxoutDense", "maxout"]


def maxout(x, units, pool_size):
    """Max over consecutive groups of `pool_size` on the last axis: [..., units·pool_size] -> [..., units].

        maxout(x)_j = max_{i < pool_size} x_{j·pool_size + i}

    (the reference's `view(..., units, pool_size).max(-1)`: output j pools the contiguous slice j.)
    """
    shape = ops.shape(x)
    return ops.max(ops.reshape(x, tuple(shape[:-1]) + (units, pool_size)), axis=-1)


@keras.saving.register_keras_serializable(package="zoo")
class MaxoutDense(keras.layers.Layer):
    """Maxout units (Goodfellow et al. 2013): an affine map to units·pool_size values, then the max of each group.

        z = x W + b            W: [d_in, units·pool_size]
        y_j = max_{i < pool_size} z_{j·pool_size + i},    y: [..., units]

    The embedding head of the exponential-triplet reference (`MaxoutLinear(C_enc, d, 16)` after a BatchNorm; see
    `zoo.models.EmbeddingModel(maxout_pool=16)`). With pool_size = 1 it is a Dense layer.

    Args:
        units: output size d >= 1.
        pool_size: pieces per unit k >= 1 (default 16, the reference's `suffix_affine_layers_hidden_params`).
        use_bias: add b (default True, as torch.nn.Linear).
        kernel_initializer: default "glorot_uniform" (Xavier-uniform on the [d_in, d·k] kernel, the reference's
            `xavier_uniform_` on its [d·k, d_in] weight: the same fans).
        bias_initializer: default "zeros".
        kernel_regularizer, bias_regularizer: optional regularizers.
        **kwargs: `keras.layers.Layer` arguments (name, dtype, ...).

    Example:
        >>> layer = zoo.layers.MaxoutDense(128, pool_size=16)
        >>> layer(keras.ops.ones((4, 512))).shape          # (4, 128)

    Reference:
        Goodfellow et al., "Maxout Networks", ICML 2013; Urtans et al., "Exponential Triplet Loss", ICCDA 2020,
        code evaldsurtans/exponential-triplet-loss (modules/layer_maxout.py `MaxoutLinear`, model_13_hospital).

    Departures from the reference code:
        The bias starts at zero (the reference leaves torch.nn.Linear's U(±1/√d_in) bias after its init pass;
        its `init_parameters` helper is not in the released code).
    """

    def __init__(self, units, pool_size=16, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.units = check_int(units, "units", minimum=1, owner="MaxoutDense")
        self.pool_size = check_int(pool_size, "pool_size", minimum=1, owner="MaxoutDense")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError("MaxoutDense: the input's last axis must be known.")
        width = self.units * self.pool_size
        self.kernel = self.add_weight(name="kernel", shape=(int(dim), width), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, trainable=True)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(width,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, trainable=True)

    def call(self, inputs):
        z = ops.matmul(inputs, ops.cast(self.kernel, inputs.dtype))
        if self.bias is not None:
            z = z + ops.cast(self.bias, inputs.dtype)
        return maxout(z, self.units, self.pool_size)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "pool_size": self.pool_size,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
        }
