"""Multi-process JAX: `initialize()` and the process/replica counts the data pipelines shard by."""

import os

import keras

from zoo._checks import check_int
from zoo.distribute import _state

__all__ = ["initialize", "num_replicas", "process_info"]

ENV_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
ENV_NUM_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
ENV_PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"


def initialize(coordinator=None, num_processes=None, process_id=None, seed=0):
    """Join this process to a multi-process JAX job, then seed every process alike.

        process i of n: jax.distributed.initialize(coordinator, n, i); keras.utils.set_random_seed(seed)

    Call it first, before any JAX computation (building a model, creating a variable, `jax.devices()`), on every
    process with the same `coordinator`, `num_processes` and `seed`. Arguments left None come from the
    environment variables Keras reads: `KERAS_DISTRIBUTION_JOB_ADDRESSES` (comma-separated; the first is the
    coordinator, "host:port"), `KERAS_DISTRIBUTION_NUM_PROCESSES`, `KERAS_DISTRIBUTION_PROCESS_ID`. With one
    process (or none configured) only the seed is set.

    Args:
        coordinator: "host:port" of process 0 (or a comma-separated list of every process's address).
        num_processes: int >= 1.
        process_id: int in [0, num_processes).
        seed: the seed every process uses (`keras.utils.set_random_seed`: Python, NumPy and Keras' global
            seed, so weights are initialised identically and Keras does not pick a seed of its own).

    Returns:
        (num_processes, process_index).

    Raises:
        RuntimeError: not the JAX backend (TensorFlow's multi-worker `fit` fails in Keras 3, keras-team/keras#20585;
            torch has none).
        ValueError: num_processes < 1, process_id outside [0, num_processes), several processes without a
            coordinator address.

    Example:
        >>> # on each of two hosts (process_id 0 and 1), before anything else touches JAX:
        >>> zoo.distribute.initialize("10.0.0.1:1234", num_processes=2, process_id=0)
        >>> with zoo.distribute.data_parallel() as dp:
        ...     model = zoo.models.ImageClassifier("lenet", num_classes=10, input_shape=(28, 28, 1))

    Reference:
        `keras.distribution.initialize` (Keras 3), `jax.distributed.initialize`.

    Departures:
        Keras alone draws a per-process seed and sums them across processes when none is set; here the seed
        is explicit (default 0), so runs are reproducible.
    """
    where = "zoo.distribute.initialize"
    backend = _state.backend()
    if backend != "jax":
        raise RuntimeError(f"{where}: multi-process training is supported on the JAX backend only (Keras "
                           f"{keras.__version__}, backend {backend!r}); set KERAS_BACKEND=jax.")
    coordinator = coordinator if coordinator is not None else os.environ.get(ENV_ADDRESSES) or None
    if num_processes is None and os.environ.get(ENV_NUM_PROCESSES):
        num_processes = int(os.environ[ENV_NUM_PROCESSES])
    if process_id is None and os.environ.get(ENV_PROCESS_ID):
        process_id = int(os.environ[ENV_PROCESS_ID])
    num_processes = 1 if num_processes is None else check_int(num_processes, "num_processes", minimum=1, owner=where)
    process_id = 0 if process_id is None else check_int(process_id, "process_id", minimum=0, owner=where)
    if process_id >= num_processes:
        raise ValueError(f"{where}: `process_id` must be in [0, num_processes) = [0, {num_processes}); got "
                         f"{process_id}.")
    seed = check_int(seed, "seed", minimum=0, owner=where)
    keras.utils.set_random_seed(seed)
    if num_processes == 1:
        return 1, 0
    if not coordinator:
        raise ValueError(f"{where}: {num_processes} processes need the coordinator address ('host:port' of process "
                         f"0): pass `coordinator` or set {ENV_ADDRESSES}.")
    keras.distribution.initialize(coordinator, num_processes, process_id)
    return _state.process_info()


def process_info():
    """(num_processes, process_index): after `zoo.distribute.initialize` on several JAX processes, this
    process's place; (1, 0) otherwise. Never starts a JAX computation.

    Example:
        >>> n, i = zoo.distribute.process_info()   # shard i of n of every global batch is this process's
    """
    return _state.process_info()


def num_replicas():
    """Global number of devices of the active `zoo.distribute.data_parallel` block (or any
    `keras.distribution` / `tf.distribute` strategy); 1 outside one.

    Example:
        >>> with zoo.distribute.data_parallel(4):
        ...     assert zoo.distribute.num_replicas() == 4
    """
    return _state.num_replicas()
