"""Image-classification data of the recipes as raw uint8 arrays: built-in sets, tfds names and image folders.

`--dataset` of the classification recipe is one of:

- ``fashion_mnist`` (offline from Debian's `dataset-fashion-mnist`) or ``digits`` (scikit-learn's 8x8 digits);
- a path to a folder of class subfolders (``root/<class>/*.png``), read with
  `keras.utils.image_dataset_from_directory`: either ``root/train/<class>/`` and ``root/test/<class>/`` (or
  ``val/`` / ``validation/`` for the test split), or one folder of class subfolders from which a stratified,
  seeded `test_fraction` is held out for test;
- any `tensorflow_datasets` name (``cifar10``, ``cifar100``, ``caltech_birds2011``, ...) through
  `zoo.data.load_tfds`: prepared data in `data_dir` only, never a download unless `download=True`.

Every source comes back as uint8 images `[N, H, W, C]` (`[N, H, W]` for the built-in grey sets) in 0..255 and
int32 labels: the task models take raw pixels and own their preprocessing. Images whose size varies (folders,
caltech_birds2011) are resized to `image_size` when loaded (bilinear with antialiasing, rounded back to uint8);
fixed-size sources keep their size (the model resizes to its backbone's input itself).

Departure from a streaming pipeline: the data are read into memory once (uint8), which the stratified
validation split and a reproducible shuffle need; for data sets larger than memory load a `train[:N]` slice.
"""

import os

import numpy as np

__all__ = ["BUILTIN_DATASETS", "DEFAULT_IMAGE_SIZE", "ClassificationData", "dataset_kind", "load_classification_data",
           "parse_image_size", "stratified_split"]

#: Offline datasets that need no path and no tfds.
BUILTIN_DATASETS = ("fashion_mnist", "digits")
#: Size images of varying size (folders, some tfds sets) are loaded at when `--image-size` is not given.
DEFAULT_IMAGE_SIZE = 224
#: Images per batch while reading a folder or a tfds split into memory.
READ_BATCH = 256
#: Subfolders of a folder dataset taken as its test split (the first that exists), next to ``train/``.
FOLDER_TEST_SPLITS = ("test", "val", "validation")


class ClassificationData:
    """The arrays of one classification dataset: `train` and `test` `(images uint8, labels int32)` pairs."""

    def __init__(self, train, test, class_names, source):
        self.train = train
        self.test = test
        self.class_names = list(class_names)
        self.num_classes = len(self.class_names)
        self.source = source


def dataset_kind(name):
    """"builtin", "folder" (an existing directory) or "tfds" (any other name) for a `--dataset` value."""
    if name in BUILTIN_DATASETS:
        return "builtin"
    if os.path.isdir(name):
        return "folder"
    return "tfds"


def parse_image_size(value):
    """`(height, width)` from 32, "32", "32x48" or (32, 48); None stays None; ValueError naming --image-size."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.lower().replace(",", "x").split("x")
    elif isinstance(value, (tuple, list)):
        parts = list(value)
    else:
        parts = [value]
    try:
        size = [int(p) for p in parts]
    except (TypeError, ValueError):
        size = []
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"--image-size must be N or HxW with positive ints (e.g. 32 or 64x48); got {value!r}.")
    return tuple(size)


def stratified_split(labels, fraction, seed):
    """(kept indices, held-out indices), each sorted: `fraction` of every class held out (seeded).

    Every class with at least 2 images gives at least 1 held-out image and keeps at least 1.
    """
    labels = np.asarray(labels)
    if not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"the held-out fraction must be in (0, 1); got {fraction!r}.")
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            continue
        k = min(max(int(round(fraction * len(idx))), 1), len(idx) - 1)
        held.append(rng.permutation(idx)[:k])
    held = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    if held.size == 0:
        raise ValueError(f"cannot hold out {fraction} of {len(labels)} images: no class has 2 images or more.")
    kept = np.setdiff1d(np.arange(len(labels)), held)
    return kept, held


def load_classification_data(name, *, data_dir=None, download=False, image_size=None, train_limit=None,
                             test_limit=None, test_fraction=0.2, seed=0, train_split="train", test_split="test"):
    """A `ClassificationData` for a `--dataset` value (see the module docstring).

    Args:
        name: "fashion_mnist", "digits", a folder path or a tfds name (with optional config/version).
        data_dir: tfds data folder (None: tfds' default, `$TFDS_DATA_DIR` or ~/tensorflow_datasets).
        download: let tfds download and prepare a dataset that is not prepared (needs network access).
        image_size: `(height, width)` to load images of varying size at (None: `DEFAULT_IMAGE_SIZE`).
        train_limit / test_limit: keep only the first N training / test images.
        test_fraction: fraction of each class held out for test from a folder without a test subfolder.
        seed: seed of that held-out split.
        train_split / test_split: tfds split names.
    """
    kind = dataset_kind(name)
    if kind == "builtin":
        data = _builtin(name)
    elif kind == "folder":
        data = _folder(name, image_size, test_fraction, seed)
    else:
        data = _tfds(name, data_dir, download, image_size, train_split, test_split, train_limit, test_limit)
    (xtr, ytr), (xte, yte) = data.train, data.test
    if train_limit:
        xtr, ytr = xtr[:train_limit], ytr[:train_limit]
    if test_limit:
        xte, yte = xte[:test_limit], yte[:test_limit]
    data.train, data.test = (xtr, ytr.astype("int32")), (xte, yte.astype("int32"))
    return data


# -- the sources ----------------------------------------------------------------------------------------------
def _builtin(name):
    import zoo.data

    if name == "fashion_mnist":
        (xtr, ytr), (xte, yte) = zoo.data.fashion_mnist()
        names = list(zoo.data.FASHION_MNIST_CLASSES)
    else:
        (xtr, ytr), (xte, yte) = zoo.data.digits()
        names = [str(i) for i in range(10)]
    return ClassificationData((xtr, ytr), (xte, yte), names, name)


def _folder(root, image_size, test_fraction, seed):
    size = image_size or (DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE)
    train_dir = os.path.join(root, "train")
    test_dir = next((os.path.join(root, s) for s in FOLDER_TEST_SPLITS if os.path.isdir(os.path.join(root, s))),
                    None)
    if os.path.isdir(train_dir) and test_dir is not None:
        (xtr, ytr), names = _read_folder(train_dir, size)
        (xte, yte), _ = _read_folder(test_dir, size, class_names=names)
        return ClassificationData((xtr, ytr), (xte, yte), names, root)
    (x, y), names = _read_folder(root, size)
    kept, held = stratified_split(y, test_fraction, seed)
    return ClassificationData((x[kept], y[kept]), (x[held], y[held]), names, root)


def _read_folder(path, size, class_names=None):
    """((images, labels), class names) of a folder of class subfolders; with `class_names` (the training split's),
    labels index them and a subfolder outside them is an error (a class may have no test images)."""
    import keras

    present = None
    if class_names is not None:
        subdirs = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
        unknown = sorted(set(subdirs) - set(class_names))
        if unknown:
            raise ValueError(f"--dataset: {path!r} has class subfolders that the training split lacks: {unknown}.")
        present = [name for name in class_names if name in subdirs]
    try:
        ds = keras.utils.image_dataset_from_directory(path, labels="inferred", label_mode="int",
                                                      class_names=present, color_mode="rgb",
                                                      batch_size=READ_BATCH, image_size=tuple(size), shuffle=False,
                                                      verbose=False)
    except ValueError as e:
        raise ValueError(f"--dataset {path!r}: not a folder of class subfolders holding images ({e}).") from e
    names = list(ds.class_names)
    images, labels = _to_arrays(ds)
    if len(images) == 0:
        raise ValueError(f"--dataset {path!r}: no images found in its class subfolders.")
    if class_names is not None:
        labels = np.asarray([class_names.index(n) for n in names], np.int32)[labels]
        names = list(class_names)
    return (images, labels), names


def _tfds(name, data_dir, download, image_size, train_split, test_split, train_limit, test_limit):
    import zoo.data

    train, info = zoo.data.load_tfds(name, train_split, data_dir=data_dir, download=download, with_info=True)
    test = zoo.data.load_tfds(name, test_split, data_dir=data_dir, download=download)
    label = info.features[info.supervised_keys[1]] if info.supervised_keys else None
    if label is None or not hasattr(label, "num_classes"):
        raise ValueError(f"--dataset {name!r}: tfds gives no (image, class label) pairs for it; the classification "
                         "recipe takes image-classification datasets.")
    shape = tuple(info.features[info.supervised_keys[0]].shape)
    size = None
    if None in shape[:2]:
        size = image_size or (DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE)
    xtr, ytr = _to_arrays(_batched(train, size, train_limit))
    xte, yte = _to_arrays(_batched(test, size, test_limit))
    names = list(label.names) if getattr(label, "names", None) else [str(i) for i in range(label.num_classes)]
    return ClassificationData((xtr, ytr), (xte, yte), names, name)


def _batched(ds, size, limit):
    """Single (image, label) examples -> resized uint8 batches."""
    import tensorflow as tf

    if limit:
        ds = ds.take(int(limit))
    if size is not None:
        def resize(image, label):
            image = tf.image.resize(image, size, method="bilinear", antialias=True)
            return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8), label

        ds = ds.map(resize, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(READ_BATCH)


def _to_arrays(ds):
    """(uint8 images, int32 labels) from a dataset of (image, label) batches; float pixels are rounded."""
    images, labels = [], []
    for x, y in ds.as_numpy_iterator():
        if x.dtype != np.uint8:
            x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
        images.append(x)
        labels.append(np.asarray(y).reshape(-1).astype(np.int32))
    if not images:
        return np.zeros((0,), np.uint8), np.zeros((0,), np.int32)
    return np.concatenate(images), np.concatenate(labels)
