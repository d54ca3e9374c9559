"""Host-side helpers for callbacks under data parallelism: read replicated state, agree on host results."""

import numpy as np

from zoo.distribute import _state

__all__ = ["same_on_every_process", "to_numpy"]


def to_numpy(value):
    """A replicated variable or tensor as numpy, also when it spans several JAX processes (read from the local
    copy: every device holds the whole value under data parallelism)."""
    import keras

    value = getattr(value, "value", value)
    shards = getattr(value, "addressable_shards", None)
    if shards is not None and not getattr(value, "is_fully_addressable", True):
        return np.asarray(shards[0].data)
    return np.asarray(keras.ops.convert_to_numpy(value))


def same_on_every_process(array):
    """`array` as computed by process 0, on every process (multi-process JAX); unchanged otherwise.

    A host-side solve (e.g. the Hungarian assignment) then gives every process the same result even if float
    ties broke differently."""
    num_processes, _ = _state.process_info()
    if num_processes == 1:
        return array
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.broadcast_one_to_all(np.asarray(array)))
