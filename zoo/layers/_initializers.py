"""Initialisers shared by the hyperbolic layers (HyperbolicMLR, HyperbolicLinear)."""

import keras

__all__ = ["reference_initializer", "reference_bias_initializer"]


def reference_initializer():
    """torch's `kaiming_uniform_(a=sqrt(5))` on a [K, d] weight, U(±1/sqrt(d)), as a Keras initializer.

    Applied to the Keras [d, K] kernel (fan_in = d): VarianceScaling(scale=1/3, fan_in, uniform) draws from
    U(±sqrt(3 · (1/3) / d)) = U(±1/sqrt(d)), the default initialisation of hyptorch's `HypLinear` weight
    and `HyperbolicMLR` parameters.
    """
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")


def reference_bias_initializer(fan_in):
    """U(±1/sqrt(fan_in)), the bias initialisation of hyptorch's `HypLinear` (fan_in known at build time)."""
    bound = 1.0 / float(fan_in) ** 0.5
    return keras.initializers.RandomUniform(-bound, bound)
