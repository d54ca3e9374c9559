"""`data_parallel()`: put a task model and its data on every visible device (JAX or TensorFlow)."""

import contextlib

import keras

from zoo.distribute import _state

__all__ = ["DataParallelContext", "data_parallel"]

#: The Keras release line this module was written against; the torch error names the running version.
TORCH_MESSAGE = ("zoo.distribute.data_parallel: Keras {version} has no data-parallel `fit` on the torch backend "
                 "(keras.distribution is implemented for JAX only in Keras 3.15; DDP `fit` support is unreleased, "
                 "keras-team/keras#23316). Use KERAS_BACKEND=jax (keras.distribution.DataParallel) or "
                 "KERAS_BACKEND=tensorflow (tf.distribute.MirroredStrategy), or train on one device.")

# One MirroredStrategy per device set and process: a second strategy over the same devices reuses the collective
# instance keys of the first, and its all-reduces then meet the first model's (TF aborts with "Shape mismatch in
# the collective instance"; measured with two models trained one after the other on 2 logical CPUs).
_TF_STRATEGIES = {}


class DataParallelContext:
    """What `zoo.distribute.data_parallel()` yields: the data-parallel setting of the block.

    Attributes:
        num_replicas: global number of devices (model replicas) the global batch is split over.
        num_processes: number of processes (hosts) taking part (1 without `zoo.distribute.initialize`).
        process_index: this process's index in [0, num_processes).
        backend: "jax" or "tensorflow".
        devices: the device names in use (e.g. ["cpu:0", "cpu:1"] on JAX, ["/device:CPU:0", ...] on TF).
        distribution: the engine object (a `keras.distribution.DataParallel` or a `tf.distribute.MirroredStrategy`).
    """

    def __init__(self, backend, devices, distribution, num_processes=1, process_index=0):
        self.backend = backend
        self.devices = list(devices)
        self.distribution = distribution
        self.num_replicas = len(self.devices)
        self.num_processes = int(num_processes)
        self.process_index = int(process_index)

    def check_batch_size(self, global_batch_size, where="zoo.distribute"):
        """Return `global_batch_size` if the devices split it evenly; ValueError (naming `where`) otherwise.

        Each of the `num_replicas` devices gets global_batch_size / num_replicas examples; both engines need
        equal shares (JAX's input sharding refuses uneven ones, and an uneven TF split changes the loss).
        """
        if isinstance(global_batch_size, bool) or not isinstance(global_batch_size, int) or global_batch_size < 1:
            raise ValueError(f"{where}: the global batch size must be an int >= 1; got {global_batch_size!r}.")
        if global_batch_size % self.num_replicas:
            lower = global_batch_size // self.num_replicas * self.num_replicas
            upper = lower + self.num_replicas
            options = f"{lower} or {upper}" if lower else f"{upper}"
            raise ValueError(f"{where}: the global batch size {global_batch_size} is not divisible by the number of "
                             f"devices ({self.num_replicas}); use e.g. {options}, or fewer devices (`devices=`).")
        return global_batch_size

    def __repr__(self):
        return (f"DataParallelContext(backend={self.backend!r}, num_replicas={self.num_replicas}, "
                f"num_processes={self.num_processes}, process_index={self.process_index})")


@contextlib.contextmanager
def data_parallel(devices=None):
    """Data parallelism for the models built and trained inside the block, on the engine of the backend.

        step on the global batch B = [B_1; ...; B_R], one slice per device; gradients (and, on JAX, every
        state update) are those of the whole batch; weights stay replicated

    - JAX: a `keras.distribution.DataParallel` over the devices is made the distribution for the block (the
      previous one is restored on exit). Build the model inside the block: variables are laid out when created.
      Every step sees the global batch (SPMD), so training equals the single-device run up to float
      reduction order, stateful heads included.
    - TensorFlow: a `tf.distribute.MirroredStrategy(devices)` scope. Each replica runs the step on its slice;
      Keras averages the replicas' losses and all-reduces gradients. State updated inside `call` (class means,
      centres) is averaged over replicas (`aggregation="mean"`), which is not the global-batch update: see
      docs/scaling.md.
    - torch: RuntimeError (Keras 3.15 has no data-parallel `fit` on torch).

    Args:
        devices: None (every visible accelerator, else every CPU device), an int N (the first N of those), or a
            list of device names ("cpu:0" / "gpu:1" on JAX, "/gpu:0" or "CPU:1" on TensorFlow).

    Yields:
        a `zoo.distribute.DataParallelContext` (num_replicas, num_processes, process_index, backend,
        check_batch_size).

    Raises:
        RuntimeError: torch (or another backend without data parallelism), naming the Keras version.
        ValueError: `devices` is an int outside [1, visible devices] or names a device that does not exist.
        TypeError: `devices` is neither None, an int nor a list of names.

    Example:
        >>> with zoo.distribute.data_parallel() as dp:
        ...     model = zoo.models.ImageClassifier("lenet", num_classes=10, input_shape=(28, 28, 1))
        ...     model.fit(x, y, batch_size=dp.check_batch_size(64), epochs=1)

    Reference:
        Keras distribution guide (keras.io/guides/distribution) and "Distributed training with TensorFlow"
        (keras.io/guides/distributed_training_with_tensorflow).

    Departures:
        Multi-host TensorFlow (`MultiWorkerMirroredStrategy`) is not offered: Keras 3 `fit` fails with it
        (keras-team/keras#20585). On several JAX processes call `zoo.distribute.initialize()` first.
    """
    backend = _state.backend()
    where = "zoo.distribute.data_parallel"
    if backend == "jax":
        names = _jax_devices(devices, where)
        dist = keras.distribution.DataParallel(devices=names)
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(dist)
        try:
            num_processes, process_index = _state.process_info()
            yield DataParallelContext("jax", names, dist, num_processes, process_index)
        finally:
            keras.distribution.set_distribution(previous)
    elif backend == "tensorflow":
        import tensorflow as tf

        names = _tf_devices(devices, where)
        strategy = _TF_STRATEGIES.get(tuple(names))
        if strategy is None:
            strategy = _TF_STRATEGIES[tuple(names)] = tf.distribute.MirroredStrategy(names)
        with strategy.scope():
            yield DataParallelContext("tensorflow", names, strategy)
    elif backend == "torch":
        raise RuntimeError(TORCH_MESSAGE.format(version=keras.__version__))
    else:
        raise RuntimeError(f"{where}: the {backend!r} backend has no data parallelism in Keras {keras.__version__}; "
                           "use KERAS_BACKEND=jax or tensorflow.")


def _select(visible, devices, where, normalize):
    if devices is None:
        return list(visible)
    if isinstance(devices, bool):
        raise TypeError(f"{where}: `devices` must be None, an int or a list of device names; got {devices!r}.")
    if isinstance(devices, int):
        if not 1 <= devices <= len(visible):
            raise ValueError(f"{where}: `devices` must be in [1, {len(visible)}] (the visible devices: {visible}); "
                             f"got {devices}.")
        return list(visible[:devices])
    if isinstance(devices, str) or not isinstance(devices, (list, tuple)):
        raise TypeError(f"{where}: `devices` must be None, an int or a list of device names; got "
                        f"{type(devices).__name__} {devices!r}.")
    if not devices:
        raise ValueError(f"{where}: `devices` is an empty list.")
    known = {normalize(v): v for v in visible}
    chosen = []
    for name in devices:
        key = normalize(str(name))
        if key not in known:
            raise ValueError(f"{where}: no device named {name!r}; the visible devices are {visible}.")
        chosen.append(known[key])
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"{where}: `devices` names a device twice: {list(devices)}.")
    return chosen


def _jax_devices(devices, where):
    visible = keras.distribution.list_devices()
    return _select(visible, devices, where, lambda s: s.lower())


def _tf_devices(devices, where):
    import tensorflow as tf

    visible = [d.name for d in tf.config.list_logical_devices("GPU")] or \
        [d.name for d in tf.config.list_logical_devices("CPU")]

    def normalize(name):  # "/job:localhost/replica:0/task:0/device:CPU:1", "/cpu:1", "CPU:1" -> "cpu:1"
        tail = name.lower().rsplit("device:", 1)[-1].lstrip("/")
        return tail

    return _select(visible, devices, where, normalize)
