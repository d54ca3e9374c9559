"""Process slicing shared by the batch pipelines of `zoo.data` (`pk_batches`, `episodes`): the checks of
``num_processes`` / ``process_index`` and the guard against Keras slicing an already sliced dataset again.

Multi-process data parallelism (JAX, `zoo.distribute.initialize`) feeds each process its part of every global
batch. A pipeline built with ``num_processes=n, process_index=i`` makes the SAME global plan on every process
(shared seed) and yields slice i of each global batch; Keras' own multi-process auto-sharding of `tf.data`
(`keras.distribution.DataParallel(auto_shard_dataset=True)`, the default) re-batches every dataset to
global / n and keeps shard i, so it must be off for such pipelines, or it would keep a part of a part.
"""

__all__ = ["check_processes", "local_range"]


def check_processes(num_processes, process_index, owner):
    """``(num_processes, process_index)`` as ints (>= 1, in [0, num_processes)); a ValueError naming the argument.

    When ``num_processes`` > 1 and a Keras distribution is active, also refuse (ValueError) a distribution that
    runs on another number of processes or that auto-shards datasets across processes (the pipeline is already
    this process's slice).
    """
    from zoo._checks import check_int

    num_processes = check_int(num_processes, "num_processes", minimum=1, owner=owner)
    process_index = check_int(process_index, "process_index", minimum=0, maximum=num_processes - 1, owner=owner)
    if num_processes > 1:
        _check_distribution(num_processes, owner)
    return num_processes, process_index


def local_range(size, num_processes, process_index):
    """(start, length) of process `process_index`'s contiguous slice of `size` rows (size divisible by n)."""
    length = size // num_processes
    return process_index * length, length


def _check_distribution(num_processes, owner):
    import keras

    dist = keras.distribution.distribution()
    if dist is None:
        return
    running = int(getattr(dist, "num_processes", 1))
    if running > 1 and running != num_processes:
        raise ValueError(f"{owner}: num_processes = {num_processes}, but the active keras distribution runs on "
                         f"{running} processes; pass num_processes={running} (zoo.distribute.process_info()).")
    if running > 1 and getattr(dist, "auto_shard_dataset", False):
        raise ValueError(f"{owner}: num_processes = {num_processes} makes this process's slice of every global "
                         "batch, but the active keras distribution auto-shards tf.data datasets across processes as "
                         "well (it would keep a part of the slice). Set `auto_shard_dataset = False` on the "
                         "distribution (e.g. `dp.distribution.auto_shard_dataset = False` inside "
                         "zoo.distribute.data_parallel()), or build the global pipeline (num_processes=1) where "
                         "Keras can shard it (see docs/scaling.md).")
