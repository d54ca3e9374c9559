"""Shared by the tfds few-shot adapters (`zoo.data.fewshot_omniglot`, `zoo.data.fewshot_cub`): loading a prepared
tfds dataset, progress bars, and assembling per-split image chunks into `FewShotSplit`s."""

import numpy as np

from zoo.data.fewshot_split import FewShotSplit

__all__ = ["SPLITS", "assemble", "load", "num_examples", "progbar", "to_fewshot_splits"]

#: The few-shot split names, in label order (0 train, 1 val, 2 test).
SPLITS = ("train", "val", "test")


def progbar(target, verbose, what):
    """A keras Progbar over `target` images (None: unknown), with a first line when `verbose`."""
    import keras

    if verbose:
        print(f"{what}: decoding, resizing and splitting {target if target else 'the'} images")
    return keras.utils.Progbar(target, verbose=verbose, unit_name="image")


def load(name, split, fn, data_dir, download, **kw):
    """(dataset, info) of a prepared tfds dataset, dicts per example; a `DatasetNotPreparedError` names `fn`."""
    from zoo.data.tfds import DatasetNotPreparedError, load_tfds

    try:
        return load_tfds(name, split, data_dir=data_dir, download=download, as_supervised=False, with_info=True,
                         **kw)
    except DatasetNotPreparedError as e:
        raise DatasetNotPreparedError(f"{fn}: {e} Here: zoo.data.fewshot_tfds.{fn}(download=True"
                                      + (f", data_dir={data_dir!r}" if data_dir is not None else "") + ").") from e


def num_examples(info, split):
    """Examples in `split` from the tfds metadata, or None when unknown."""
    try:
        n = int(info.splits[split].num_examples)
    except Exception:  # mocked or partial metadata: no split sizes
        return None
    return n or None


def assemble(chunks, name_of, fn):
    """chunks[s] = list of (images, keys) batches -> {split: (x uint8, y 0..K-1, class_names)}."""
    out = {}
    for split in list(chunks):
        parts = chunks.pop(split)
        if not parts:
            raise ValueError(f"{fn}: no image fell into the {split!r} classes; is the prepared dataset complete?")
        x = np.concatenate([p[0] for p in parts])
        keys = np.concatenate([p[1] for p in parts])
        del parts
        classes, y = np.unique(keys, return_inverse=True)
        out[split] = (x, y.astype(np.int32).reshape(-1), [name_of(int(k)) for k in classes])
    return out


def to_fewshot_splits(arrays):
    """{split: (x, y, class_names)} -> {split: FewShotSplit}."""
    return {s: FewShotSplit.from_arrays(x, y, class_names=names) for s, (x, y, names) in arrays.items()}
