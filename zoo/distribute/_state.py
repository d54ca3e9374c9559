"""Shared plumbing of `zoo.distribute`: which engine runs, how many replicas and processes there are.

Nothing here imports an engine at module level; each function imports the one it asks (lazily), and none
starts a JAX computation (so `process_info()` may be called before `zoo.distribute.initialize`).
"""

import keras

__all__ = ["backend", "jax_distribution", "num_replicas", "pad_multiple", "process_info", "tf_strategy"]


def backend():
    """The Keras backend name ("jax", "tensorflow", "torch", "numpy", ...)."""
    return keras.backend.backend()


def jax_distribution():
    """The active `keras.distribution` Distribution on JAX (None elsewhere or when none is set)."""
    if backend() != "jax":
        return None
    return keras.distribution.distribution()


def tf_strategy():
    """The active non-default `tf.distribute.Strategy` on TensorFlow (None elsewhere or outside any scope)."""
    if backend() != "tensorflow":
        return None
    import tensorflow as tf

    return tf.distribute.get_strategy() if tf.distribute.has_strategy() else None


def num_replicas():
    """Global number of model replicas of the active data-parallel setting; 1 outside one."""
    dist = jax_distribution()
    if dist is not None:
        mesh = dist.device_mesh
        batch_axis = list(mesh.axis_names).index(dist.batch_dim_name) if dist.batch_dim_name in mesh.axis_names else 0
        return int(mesh.shape[batch_axis])
    strategy = tf_strategy()
    if strategy is not None:
        return int(strategy.num_replicas_in_sync)
    return 1


def process_info():
    """(num_processes, process_index): multi-process JAX after `initialize`; (1, 0) otherwise.

    Reads JAX's distributed client state rather than `jax.process_count()`, so it never initialises a JAX
    backend (which would make a later `jax.distributed.initialize` fail).
    """
    if backend() != "jax":
        return 1, 0
    try:
        from jax._src import distributed

        state = distributed.global_state
        if getattr(state, "client", None) is not None:
            return int(state.num_processes), int(state.process_id)
        return 1, 0
    except (ImportError, AttributeError):  # pragma: no cover - a JAX without that module
        import jax

        return int(jax.process_count()), int(jax.process_index())


def pad_multiple():
    """What every evaluation/prediction batch must be a multiple of: the replica count under data parallelism
    (JAX's input sharding refuses uneven batches, keras-team/keras#21167; TensorFlow's MirroredStrategy splits
    them unevenly, which its `evaluate` step then fails to reduce: AddN of [51, ...] and [50, ...] shapes for a
    batch of 101 on 2 replicas, measured with Keras 3.15.1 / TF 2.21), else 1."""
    return num_replicas()
