"""Helpers shared by the backbone tests (this module holds no tests).

Why they exist: on the JAX backend every random initialiser is XLA-compiled once per weight shape
(about 1 s of CPU each on the 2-core machine), which made building the handful of small models
these tests need cost more than everything else together. So:

* `shapes_only()` builds models whose weights are never initialised: enough for parameter counts
  and static output shapes, on every backend.
* `quick(build)` builds a runnable model. On JAX it skips Keras' initialisers and fills the weights
  from numpy (normal / sqrt(fan_in) for kernels and embeddings, 1 for BN/LN scales and variances,
  0 for biases, shifts and means); on TensorFlow and torch, where initialisers are cheap, it is
  simply `build()`, so the real initialisers are exercised there.
"""

import contextlib
import math

import keras
import numpy as np

ONES = ("gamma", "variance")
ZEROS = ("beta", "bias", "mean")


@contextlib.contextmanager
def shapes_only():
    """Build models inside without running initialisers (count parameters, read shapes only)."""
    with keras.StatelessScope(initialize_variables=False):
        yield
    keras.backend.clear_session()          # forget the list of never-initialised variables


def quick(build):
    """`build()` a model; on JAX fill its weights from numpy instead of the compiled initialisers."""
    if keras.backend.backend() != "jax":
        return build()
    with keras.StatelessScope(initialize_variables=False):
        model = build()
    keras.backend.clear_session()          # the variables are assigned below, not initialised
    rng = np.random.default_rng(0)
    for v in model.variables:
        shape = tuple(v.shape)
        if not keras.backend.is_float_dtype(v.dtype):             # seed-generator states
            value = np.zeros(shape)
        elif any(key in v.name for key in ONES):
            value = np.ones(shape)
        elif any(key in v.name for key in ZEROS):
            value = np.zeros(shape)
        else:
            value = rng.normal(size=shape) / math.sqrt(max(1, math.prod(shape[:-1])))
        v.assign(value.astype(v.dtype))
    return model
