"""Padded `predict` / `evaluate` under JAX data parallelism (used by `zoo.models.Task`).

JAX's input sharding needs every batch divisible by the device count (keras-team/keras#21167), and a
prediction or evaluation cannot drop examples. So each batch is padded to a multiple of the device count by
repeating its last row (a real, valid example: no input check fires and in-batch computations such as
batch-hard mining are unchanged), and the padding is removed again:

- predict: the outputs of the padded rows are dropped (arrays: the tail; streams: per batch, from the real
  sizes recorded as the batches are produced, in order);
- evaluate: padded rows get sample weight 0, so they add nothing to the loss and to `weighted_metrics`; but
  Keras divides the loss by every row it saw (reported loss = sum over the N real examples / (N + padding),
  padding < devices per padded batch), and metrics compiled as plain `metrics` ignore sample weights in Keras 3,
  so they count the padded copies of the batch's last example. For exact metrics use `weighted_metrics`, or
  evaluate a number of examples the batches split evenly (no padding then).

Streams (tf.data datasets, generators, `keras.utils.PyDataset`s) are read on the host batch by batch (as
Keras' JAX trainer does anyway) and handed to Keras as a generator.
"""

import numpy as np

__all__ = ["DEFAULT_BATCH_SIZE", "batch_size_for", "evaluate", "pad_rows", "predict"]

#: Keras' default batch size for arrays, rounded up to a multiple of the device count when none is given.
DEFAULT_BATCH_SIZE = 32
_EVALUATE_ARGS = ("batch_size", "verbose", "sample_weight", "steps", "callbacks", "return_dict")


def batch_size_for(batch_size, multiple, where):
    """The batch size to use with `multiple` devices: the given one if divisible (ValueError otherwise), or
    Keras' default 32 rounded up to a multiple."""
    if batch_size is None:
        return -(-DEFAULT_BATCH_SIZE // multiple) * multiple
    if int(batch_size) % multiple:
        raise ValueError(f"{where}: `batch_size` ({batch_size}) must be divisible by the number of devices "
                         f"({multiple}) under data parallelism; e.g. {-(-int(batch_size) // multiple) * multiple}.")
    return int(batch_size)


def pad_rows(tree, multiple):
    """(padded tree, real rows): every array of a (nested) structure padded on axis 0 to a multiple of `multiple`
    by repeating its last row."""
    leaves = _leaves(tree)
    n = len(leaves[0])
    extra = -n % multiple
    if not extra:
        return tree, n
    return _map(lambda a: np.concatenate([a, np.repeat(a[-1:], extra, axis=0)], axis=0), tree), n


def _leaves(tree):
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in _leaves(v)]
    if isinstance(tree, (list, tuple)):
        return [leaf for v in tree for leaf in _leaves(v)]
    return [tree]


def _map(fn, tree):
    if isinstance(tree, dict):
        return {k: _map(fn, v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_map(fn, v) for v in tree)
    return fn(np.asarray(tree))


def _is_array_like(x):
    return isinstance(x, np.ndarray) or (isinstance(x, dict) and all(isinstance(v, np.ndarray) for v in x.values()))


def _host_batches(source):
    """numpy batches (tuples) of a tf.data dataset, generator or PyDataset, in order."""
    if hasattr(source, "as_numpy_iterator"):
        batches = source.as_numpy_iterator()
    elif hasattr(source, "__getitem__") and hasattr(source, "__len__"):
        batches = (source[i] for i in range(len(source)))
    else:
        batches = source
    for batch in batches:
        yield batch if isinstance(batch, tuple) else (batch,)


def predict(run, data, *, multiple, batch_size, where, allow=True):
    """`run(data, batch_size)` (a Keras predict) on batches padded to `multiple`; the padded rows' outputs removed."""
    if _is_array_like(data):
        size = batch_size_for(batch_size, multiple, where)
        padded, n = pad_rows(data, multiple)
        if padded is not data and not allow:
            raise ValueError(f"{where}: {n} images are not divisible by the number of devices ({multiple}) and this "
                             "model's batches cannot be padded (episodes); pass a multiple of the device count.")
        return _map(lambda a: a[:n], run(padded, size))
    sizes = []

    def padded_stream():
        for batch in _host_batches(data):
            images = batch[0]
            padded, n = pad_rows(images, multiple)
            if padded is not images and not allow:
                raise ValueError(f"{where}: a batch of {n} is not divisible by the number of devices ({multiple}) "
                                 "and this model's batches cannot be padded (episodes).")
            sizes.append((n, len(_leaves(padded)[0])))
            yield (padded,)  # Keras takes (x,) tuples from a generator

    outputs = run(padded_stream(), None)
    keep = np.concatenate([np.arange(total) < n for n, total in sizes]) if sizes else np.zeros(0, bool)
    return _map(lambda a: a[keep], outputs)


def evaluate(run, x, y, args, kwargs, *, multiple, where, allow=True):
    """`run(x, y, **kwargs)` (a Keras evaluate) on batches padded to `multiple`, padded rows weighted 0."""
    kwargs = dict(kwargs)
    for name, value in zip(_EVALUATE_ARGS, args):
        kwargs[name] = value
    weights = kwargs.pop("sample_weight", None)
    if _is_array_like(x):
        kwargs["batch_size"] = batch_size_for(kwargs.get("batch_size"), multiple, where)
        n = len(_leaves(x)[0])
        weights = np.ones(n, "float32") if weights is None else np.asarray(weights, "float32")
        padded, _ = pad_rows((x,) if y is None else (x, y), multiple)
        px, py = padded[0], (None if y is None else padded[1])
        if px is not x and not allow:
            raise ValueError(f"{where}: {n} examples are not divisible by the number of devices ({multiple}) and "
                             "this model's batches cannot be padded (episodes).")
        pw = np.concatenate([weights, np.zeros(len(_leaves(px)[0]) - n, "float32")])
        return run(px, py, sample_weight=pw, **kwargs)
    if weights is not None:
        raise ValueError(f"{where}: `sample_weight` must be None when `x` is a dataset or generator (it yields them).")
    kwargs.pop("batch_size", None)

    def padded_stream():
        for batch in _host_batches(x):
            if len(batch) < 2:
                raise ValueError(f"{where}: the dataset must yield (images, labels) batches to evaluate.")
            bx, by = batch[0], batch[1]
            n = len(_leaves(bx)[0])
            bw = np.ones(n, "float32") if len(batch) < 3 else np.asarray(batch[2], "float32")
            (px, py), _ = pad_rows((bx, by), multiple)
            if px is not bx and not allow:
                raise ValueError(f"{where}: a batch of {n} is not divisible by the number of devices ({multiple}) and "
                                 "this model's batches cannot be padded (episodes).")
            yield px, py, np.concatenate([bw, np.zeros(len(_leaves(px)[0]) - n, "float32")])

    return run(padded_stream(), None, **kwargs)
