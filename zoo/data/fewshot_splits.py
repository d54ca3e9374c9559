"""`fewshot_splits(name, **kw)`: class-disjoint train / val / test `FewShotSplit`s of few-shot datasets.

Names (`FEWSHOT_DATASETS`):

- ``"fashion_mnist"``: offline demonstration split of Fashion-MNIST (`zoo.data.fashion_mnist`): classes 0-4
  (T-shirt/top, Trouser, Pullover, Dress, Coat) from the 60k training file are the train classes, classes
  5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot) from the 10k test file the test classes; no val split.
- ``"mini_imagenet"``: the MiniImageNet layout of Ravi & Larochelle's split files (as used by FEAT and the
  hyperbolic ProtoNet code): ``root/images/<filename>`` and ``root/train.csv``, ``root/val.csv``,
  ``root/test.csv`` with a header line ``filename,label`` and rows such as
  ``n0153282900000005.jpg,n01532829``; images decoded lazily at ``image_size`` (84 by default).
- ``"folder"``: ``root/train/<class>/<images>``, ``root/val/...`` (optional), ``root/test/...``.
- ``"omniglot"``, ``"caltech_birds2011"``: tensorflow_datasets adapters in `zoo.data.fewshot_tfds`.

Every name returns ``{"train": FewShotSplit, "val": FewShotSplit (when the dataset has one),
"test": FewShotSplit}``; splits sharing a class name are rejected.
"""

import csv
import os

import numpy as np

from zoo.data.fewshot_split import FewShotSplit

__all__ = ["fewshot_splits", "FEWSHOT_DATASETS", "MINI_IMAGENET_SPLIT_FILES"]

#: Names accepted by `fewshot_splits`.
FEWSHOT_DATASETS = ("fashion_mnist", "mini_imagenet", "folder", "omniglot", "caltech_birds2011")
#: split -> CSV file of the MiniImageNet layout (Ravi & Larochelle); val is optional.
MINI_IMAGENET_SPLIT_FILES = {"train": "train.csv", "val": "val.csv", "test": "test.csv"}
_MAX_NAMED_MISSING = 5


def _check_disjoint(splits, where):
    names = list(splits)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            shared = sorted(set(splits[a].class_names) & set(splits[b].class_names))
            if shared:
                raise ValueError(f"{where}: the {a!r} and {b!r} splits share {len(shared)} classes (first: "
                                 f"{shared[:5]}); few-shot splits must be class-disjoint.")
    return splits


def _fashion_mnist(path=None, download=None, train_classes=(0, 1, 2, 3, 4), test_classes=(5, 6, 7, 8, 9)):
    from zoo.data.fashion_mnist import FASHION_MNIST_CLASSES, fashion_mnist

    train_classes, test_classes = [int(c) for c in train_classes], [int(c) for c in test_classes]
    for what, cs in (("train_classes", train_classes), ("test_classes", test_classes)):
        if not cs or any(c < 0 or c > 9 for c in cs) or len(set(cs)) != len(cs):
            raise ValueError(f"fewshot_splits('fashion_mnist'): `{what}` must be distinct classes in 0..9; got {cs}.")
    if set(train_classes) & set(test_classes):
        raise ValueError("fewshot_splits('fashion_mnist'): `train_classes` and `test_classes` must be disjoint; "
                         f"got {train_classes} and {test_classes}.")
    (x_train, y_train), (x_test, y_test) = fashion_mnist(path=path, download=download)
    keep_train = np.isin(y_train, train_classes)
    keep_test = np.isin(y_test, test_classes)
    return {
        "train": FewShotSplit.from_arrays(x_train[keep_train], y_train[keep_train], FASHION_MNIST_CLASSES),
        "test": FewShotSplit.from_arrays(x_test[keep_test], y_test[keep_test], FASHION_MNIST_CLASSES),
    }


def _read_split_csv(csv_path, images_dir, listing):
    with open(csv_path, newline="") as f:
        rows = [[c.strip() for c in row] for row in csv.reader(f) if row and any(c.strip() for c in row)]
    if not rows or [c.lower() for c in rows[0][:2]] != ["filename", "label"] or len(rows[0]) != 2:
        got = rows[0] if rows else "an empty file"
        raise ValueError(f"fewshot_splits('mini_imagenet'): {csv_path} must start with the header line "
                         f"'filename,label' (Ravi & Larochelle's split files); got {got}.")
    rows = rows[1:]
    bad = [i + 2 for i, r in enumerate(rows) if len(r) != 2 or not r[0] or not r[1]]
    if bad:
        raise ValueError(f"fewshot_splits('mini_imagenet'): {csv_path} lines {bad[:5]} are not 'filename,label' rows.")
    if not rows:
        raise ValueError(f"fewshot_splits('mini_imagenet'): {csv_path} names no images (empty split).")
    missing = [r[0] for r in rows if r[0] not in listing]
    if missing:
        raise FileNotFoundError(
            f"fewshot_splits('mini_imagenet'): {csv_path} names {len(missing)} images missing from {images_dir}, "
            f"first: {missing[:_MAX_NAMED_MISSING]}.")
    paths = [os.path.join(images_dir, r[0]) for r in rows]
    names, labels = np.unique([r[1] for r in rows], return_inverse=True)
    return paths, labels.reshape(-1), list(names)


def _mini_imagenet(root, image_size=84, channels=3):
    root = os.fspath(root)
    images_dir = os.path.join(root, "images")
    if not os.path.isdir(images_dir):
        raise FileNotFoundError(f"fewshot_splits('mini_imagenet'): no folder {images_dir} (expected root/images/ "
                                "and root/train.csv, val.csv, test.csv).")
    listing = set(os.listdir(images_dir))
    splits = {}
    for split, name in MINI_IMAGENET_SPLIT_FILES.items():
        csv_path = os.path.join(root, name)
        if not os.path.isfile(csv_path):
            if split == "val":
                continue
            raise FileNotFoundError(f"fewshot_splits('mini_imagenet'): missing split file {csv_path} (expected "
                                    "root/train.csv, root/test.csv and optionally root/val.csv).")
        paths, labels, names = _read_split_csv(csv_path, images_dir, listing)
        splits[split] = FewShotSplit.from_files(paths, labels, names, image_size=image_size, channels=channels)
    return _check_disjoint(splits, "fewshot_splits('mini_imagenet')")


def _folder(root, image_size=None, channels=None, verbose="auto"):
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"fewshot_splits('folder'): {root!r} is not a folder (expected "
                                "root/train/<class>/<images>, root/val/... (optional), root/test/...).")
    splits = {}
    for split in ("train", "val", "test"):
        folder = os.path.join(root, split)
        if not os.path.isdir(folder):
            if split == "val":
                continue
            raise FileNotFoundError(f"fewshot_splits('folder'): missing {folder} (expected root/train/<class>/"
                                    "<images>, root/val/... (optional), root/test/...).")
        s = FewShotSplit.from_folder(folder, image_size=image_size, channels=channels, verbose=verbose)
        # One image size and channel count for all splits: the first split's (from its first image by default).
        image_size, channels = s.image_size, s.channels
        splits[split] = s
    return _check_disjoint(splits, "fewshot_splits('folder')")


def _omniglot(**kw):
    from zoo.data import fewshot_omniglot

    return fewshot_omniglot.omniglot(**kw)


def _caltech_birds2011(**kw):
    from zoo.data import fewshot_cub

    return fewshot_cub.caltech_birds2011(**kw)


_REGISTRY = {
    "fashion_mnist": _fashion_mnist,
    "mini_imagenet": _mini_imagenet,
    "folder": _folder,
    "omniglot": _omniglot,
    "caltech_birds2011": _caltech_birds2011,
}


def fewshot_splits(name, **kw):
    """Class-disjoint few-shot splits of a dataset: ``{"train": ..., "val": ... (if any), "test": ...}``.

    Each value is a `zoo.data.FewShotSplit` for `zoo.data.episodes`.

    Args:
        name: one of `FEWSHOT_DATASETS`:

            - ``"fashion_mnist"`` (offline): ``path=None, download=None`` as `zoo.data.fashion_mnist`;
              ``train_classes=(0, 1, 2, 3, 4)`` taken from the 60k training file (30,000 images),
              ``test_classes=(5, 6, 7, 8, 9)`` from the 10k test file (5,000 images); no val split.
            - ``"mini_imagenet"``: ``root`` (with ``images/`` and ``train.csv``, ``test.csv`` and optionally
              ``val.csv``, rows ``filename,label`` after a ``filename,label`` header), ``image_size=84``,
              ``channels=3`` (grayscale files are converted to RGB). Images stay on disk (decoded lazily; use
              ``split.in_memory()`` to decode once into memory, about 800 MB for the 38,400 train images).
            - ``"folder"``: ``root`` with ``train/``, ``test/`` and optionally ``val/``, each with one
              sub-folder per class; ``image_size=None`` and ``channels=None`` (taken from the first train
              image, then used for every split), ``verbose="auto"``.
            - ``"omniglot"``, ``"caltech_birds2011"``: passed to `zoo.data.fewshot_tfds.omniglot` /
              ``caltech_birds2011`` (``data_dir=None, download=False, image_size=...``).
        **kw: the dataset's arguments above.

    Returns:
        dict of split name -> `FewShotSplit`, with pairwise-disjoint class names.

    Raises:
        ValueError: an unknown name; a split file without the ``filename,label`` header or with malformed
            rows; splits sharing classes. FileNotFoundError: a missing root, ``images/`` folder, split file or
            split folder; a split file naming missing images (the CSV and the first missing files are named).

    Example:
        >>> splits = zoo.data.fewshot_splits("fashion_mnist")
        >>> splits["train"].class_names, splits["test"].class_names
        (('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat'), ('Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'))
        >>> mini = zoo.data.fewshot_splits("mini_imagenet", root="/data/mini-imagenet")
        >>> train = zoo.data.episodes(mini["train"], way=30, shot=1, query=15, augment="flip",
        ...                           normalize=((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)))

    Reference:
        Ravi & Larochelle, "Optimization as a Model for Few-Shot Learning", ICLR 2017 (MiniImageNet split
        files: 64 / 16 / 20 classes of 600 images); Vinyals et al., NeurIPS 2016 (MiniImageNet).
    """
    if name not in _REGISTRY:
        raise ValueError(f"fewshot_splits: unknown dataset {name!r}; use one of {FEWSHOT_DATASETS}.")
    return _REGISTRY[name](**kw)
