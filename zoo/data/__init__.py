"""Offline datasets and tf.data input pipelines.

- `zoo.data.fashion_mnist(path=None, download=None, verify=True)`: Fashion-MNIST from local IDX files
  (Debian package ``dataset-fashion-mnist``, ``$ZOO_FASHION_MNIST_DIR``, keras' cache), download only if
  allowed, content checked against `FASHION_MNIST_SHA256`. `FASHION_MNIST_CLASSES`, `FASHION_MNIST_MEAN_STD`.
- `zoo.data.digits(size=None, test_fraction=0.25, seed=0)`: scikit-learn's 1,797 real 8x8 digits,
  stratified split, optionally resized (e.g. 28x28 as an out-of-distribution set). `DIGITS_MEAN_STD`.
- `zoo.data.make_dataset(x, y, ...)`: numpy images → batched, augmented, normalised
  `tf.data.Dataset` that feeds `model.fit` on the TensorFlow, JAX and PyTorch backends; ``raw=True``
  keeps pixel values in 0..255 for the task models of `zoo.models` (also in `pk_batches`, `episodes`).
- `zoo.data.load_tfds(name, split, ...)`: tensorflow_datasets adapter that never downloads unless
  ``download=True`` and fails fast with a clear message.
- `zoo.data.read_idx` / `zoo.data.write_idx`: the IDX format of (Fashion-)MNIST.
- `zoo.data.long_tail`, `long_tail_counts`, `long_tail_splits`: exponentially imbalanced subsets;
  `zoo.data.mixup`, `pack_mixup_labels`: mixup on a batched dataset.
- `zoo.data.pk_batches` / `pk_plan`: P classes x K samples per batch (metric learning).
- Person re-ID (read only, never downloaded): `zoo.data.reid(name, root)` -> `ReIDSplits` (train / query /
  gallery as (paths, pids, cams), `summary()`, `validation()`) for Market-1501, DukeMTMC-reID, MSMT17, CUHK03-NP and
  any Market-style folder; `reid_dataset` (decode, resize, flip, pad-crop, `random_erasing`; P identities x K
  images per batch from `identity_plan`); `synthetic_reid`: a synthetic multi-camera set in the Market-1501 layout
  built from Fashion-MNIST (offline demonstrations and tests).
- `zoo.data.FewShotSplit`, `episodes`, `episode_plan`: N-way K-shot episodes; `fewshot_splits(name)`:
  class-disjoint splits of fashion_mnist, MiniImageNet CSVs, a folder, or the tfds adapters
  `zoo.data.fewshot_omniglot` and `zoo.data.fewshot_cub` (also reachable as `zoo.data.fewshot_tfds`).

Note: the functions `fashion_mnist` and `digits` share their names with their modules; the package
attributes are the functions. Import names from the modules directly (e.g.
``from zoo.data.digits import resize_bilinear``).

TensorFlow and tensorflow_datasets are imported lazily (only by the functions that build pipelines).

Example:
    >>> (x_train, y_train), (x_test, y_test) = zoo.data.fashion_mnist()
    >>> train = zoo.data.make_dataset(x_train, y_train, shuffle=True, augment="flip",
    ...                               normalize=zoo.data.FASHION_MNIST_MEAN_STD)
"""

from zoo.data import fewshot_cub, fewshot_omniglot, fewshot_tfds
from zoo.data.digits import DIGITS_MEAN_STD, digits, resize_bilinear
from zoo.data.episodes import episode_plan, episodes
from zoo.data.fashion_mnist import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_FILES,
    FASHION_MNIST_MEAN_STD,
    FASHION_MNIST_SHA256,
    fashion_mnist,
)
from zoo.data.fewshot_split import IMAGE_EXTENSIONS, FewShotSplit
from zoo.data.fewshot_splits import FEWSHOT_DATASETS, MINI_IMAGENET_SPLIT_FILES, fewshot_splits
from zoo.data.idx import IDXFormatError, read_idx, write_idx
from zoo.data.long_tail import LONG_TAIL_SPLITS, long_tail, long_tail_counts, long_tail_splits
from zoo.data.mixup import mixup, pack_mixup_labels
from zoo.data.pipeline import AUGMENT_PRESETS, make_dataset
from zoo.data.pk import pk_batches, pk_plan
from zoo.data.random_erasing import BOT_ERASING_FILL, IMAGENET_MEAN_255, random_erasing
from zoo.data.reid import REID_DATASETS, reid
from zoo.data.reid_pipeline import identity_plan, identity_steps, reid_dataset
from zoo.data.reid_splits import ReIDSplits
from zoo.data.synthetic_reid import SYNTHETIC_REID_VERSION, synthetic_reid
from zoo.data.tfds import DatasetNotPreparedError, load_tfds

__all__ = [
    "fashion_mnist", "FASHION_MNIST_CLASSES", "FASHION_MNIST_MEAN_STD", "FASHION_MNIST_FILES", "FASHION_MNIST_SHA256",
    "digits", "DIGITS_MEAN_STD", "resize_bilinear",
    "make_dataset", "AUGMENT_PRESETS",
    "load_tfds", "DatasetNotPreparedError",
    "read_idx", "write_idx", "IDXFormatError",
    "long_tail", "long_tail_counts", "long_tail_splits", "LONG_TAIL_SPLITS", "mixup", "pack_mixup_labels",
    "pk_batches", "pk_plan",
    "FewShotSplit", "episodes", "episode_plan", "IMAGE_EXTENSIONS",
    "fewshot_splits", "FEWSHOT_DATASETS", "MINI_IMAGENET_SPLIT_FILES",
    "fewshot_omniglot", "fewshot_cub", "fewshot_tfds",
    "reid", "REID_DATASETS", "ReIDSplits", "identity_plan", "identity_steps", "reid_dataset", "random_erasing",
    "BOT_ERASING_FILL", "IMAGENET_MEAN_255", "synthetic_reid", "SYNTHETIC_REID_VERSION",
]
