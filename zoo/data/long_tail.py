"""Long-tailed subsets with the exponential profile of the CIFAR-LT benchmarks (numpy only).

Class i (in class-index order, class 0 the most frequent) keeps

    n_i = floor( n_max * imbalance ** (i / (C - 1)) )

images, so the smallest class has `imbalance` times the images of the largest (Cao et al. 2019; DL2PA
uses imbalance in {0.005, 0.01, 0.02}). Test sets stay balanced; accuracy is reported on the head,
medium and tail classes (`long_tail_splits`, `zoo.metrics.long_tail_accuracy`).
"""

import math
import numbers

import numpy as np

from zoo._checks import check_int
from zoo.data._checks import check_seed

__all__ = ["long_tail", "long_tail_counts", "long_tail_splits", "LONG_TAIL_SPLITS"]

#: Head / medium / tail class-index boundaries of the reference for 10 and 100 classes (CIFAR-10-LT:
#: [0, 3), [3, 7), [7, 10); CIFAR-100-LT: [0, 36), [36, 71), [71, 100)).
LONG_TAIL_SPLITS = {10: (3, 7), 100: (36, 71)}


def _check_imbalance(imbalance):
    if isinstance(imbalance, bool) or not isinstance(imbalance, numbers.Real) or not 0.0 < float(imbalance) <= 1.0:
        raise ValueError(f"`imbalance` (smallest / largest class size) must be in (0, 1]; got {imbalance!r}.")
    return float(imbalance)


def long_tail_counts(n_max, num_classes, imbalance=0.01):
    """Images per class of the exponential profile: [floor(n_max * imbalance ** (i / (C - 1)))].

    Args:
        n_max: images of class 0 (>= 1).
        num_classes: C >= 2.
        imbalance: smallest / largest class size, in (0, 1].

    Returns:
        list of C ints (non-increasing).

    Example:
        >>> zoo.data.long_tail_counts(5000, 10, 0.01)      # CIFAR-10-LT
        [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    """
    imbalance = _check_imbalance(imbalance)
    if isinstance(n_max, bool) or not isinstance(n_max, numbers.Integral) or n_max < 1:
        raise ValueError(f"`n_max` must be an integer >= 1; got {n_max!r}.")
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an integer >= 2; got {num_classes!r}.")
    return [int(math.floor(n_max * imbalance ** (i / (num_classes - 1.0)))) for i in range(int(num_classes))]


def long_tail(dataset, imbalance=0.01, seed=0, n_max=None):
    """Long-tailed subset of a labelled set: class i keeps floor(n_max * imbalance ** (i / (C - 1))) images.

    Args:
        dataset: `(x, y)`, numpy-like images [N, ...] and integer labels [N] in 0..C-1 (e.g. the training
            half of `zoo.data.fashion_mnist()`).
        imbalance: smallest / largest class size rho, in (0, 1] (1 = balanced subset of n_max per class).
        seed: seed of numpy's `default_rng` choosing which images of each class are kept (int in [0, 2**31 - 1]).
        n_max: images of class 0; default: the size of the smallest class (= the class size of a
            balanced set, as the reference's `len(data) / C`).

    Returns:
        `(x_lt, y_lt)`: the kept images and labels, in their original order.

    Raises:
        ValueError: imbalance not in (0, 1]; labels not 1-D integers; x and y of different lengths;
            a class with fewer images than its count (n_max too large); fewer than 2 classes.

    Example:
        >>> (x, y), test = zoo.data.fashion_mnist()
        >>> x_lt, y_lt = zoo.data.long_tail((x, y), imbalance=0.01)
        >>> np.bincount(y_lt)          # 6000, 3596, 2156, ..., 60

    Reference:
        Cao et al., "Learning imbalanced datasets with label-distribution-aware margin loss" (LDAM),
        NeurIPS 2019 (`IMBALANCECIFAR10.get_img_num_per_cls`); DL2PA CVPR 2024 uses the same profile.

    Departures from the reference code:
        The reference draws with the global numpy seed and concatenates the classes; this uses a
        private generator and keeps the original order (the training pipeline shuffles anyway).
    """
    imbalance = _check_imbalance(imbalance)
    seed = check_seed(seed, "long_tail")
    if n_max is not None:
        n_max = check_int(n_max, "n_max", minimum=1, owner="long_tail")
    try:
        x, y = dataset
    except (TypeError, ValueError):
        raise ValueError("`dataset` must be an (x, y) pair of images and integer labels.") from None
    x = np.asarray(x)
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be 1-D integers; got shape {y.shape}, dtype {y.dtype}.")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} images but y has {y.shape[0]} labels.")
    if y.size == 0 or y.min() < 0:
        raise ValueError("labels must be non-negative class ids and not empty.")
    num_classes = int(y.max()) + 1
    per_class = np.bincount(y, minlength=num_classes)
    if n_max is None:
        n_max = int(per_class.min())
    counts = long_tail_counts(int(n_max), num_classes, imbalance)
    rng = np.random.default_rng(seed)
    keep = []
    for c, n in enumerate(counts):
        idx = np.flatnonzero(y == c)
        if idx.size < n:
            raise ValueError(f"class {c} has {idx.size} images but the profile asks for {n} "
                             f"(n_max={n_max}, imbalance={imbalance}); pass a smaller n_max.")
        keep.append(idx[rng.permutation(idx.size)[:n]])
    keep = np.sort(np.concatenate(keep))
    return x[keep], y[keep]


def long_tail_splits(num_classes):
    """Head / medium / tail class ids by class index (class 0 most frequent).

    10 classes: [0, 3), [3, 7), [7, 10); 100 classes: [0, 36), [36, 71), [71, 100) (the reference's
    boundaries); any other C: thirds, [0, round(C/3)), [round(C/3), round(2C/3)), the rest.

    Returns:
        dict {"head": array, "medium": array, "tail": array} of int class ids.

    Example:
        >>> zoo.data.long_tail_splits(10)["tail"]
        array([7, 8, 9])
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 3:
        raise ValueError(f"`num_classes` must be an integer >= 3 for head/medium/tail splits; got {num_classes!r}.")
    c = int(num_classes)
    a, b = LONG_TAIL_SPLITS.get(c, (int(round(c / 3.0)), int(round(2.0 * c / 3.0))))
    return {"head": np.arange(0, a), "medium": np.arange(a, b), "tail": np.arange(b, c)}
