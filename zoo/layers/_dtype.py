"""The dtype policy of the geometry layers: float32 unless float64 was asked for explicitly.

Shared by the Poincaré-ball layers (`zoo.layers._ball`) and the fixed-prototype sphere head
(`zoo.layers.PrototypeHead`).
"""

import keras

__all__ = ["geometry_dtype"]


def geometry_dtype(dtype):
    """The dtype policy of a geometry layer: float32 unless float64 was asked for explicitly.

    Mixed policies (`mixed_float16`, `mixed_bfloat16`) and low-precision ones become float32: with 16-bit
    floats 1 - 1e-5 rounds to 1 and artanh is infinite at the clamp (`zoo.geometry.numerics.ATANH_EPS`),
    and 1 - c||x||^2 next to the ball's boundary has no significant digit left. Keras casts the layer's
    floating inputs to its compute dtype, so a float16 backbone feeds float32 geometry.

    Args:
        dtype: the `dtype` argument a layer received (None, a name or a `keras.DTypePolicy`).

    Returns:
        "float32", or the float64 policy when both its compute and variable dtypes are float64.

    Example:
        >>> zoo.layers._dtype.geometry_dtype("mixed_float16")
        'float32'
    """
    if dtype is None:
        return "float32"
    policy = keras.dtype_policies.get(dtype)
    if policy.compute_dtype == "float64" and policy.variable_dtype == "float64":
        return policy
    return "float32"
