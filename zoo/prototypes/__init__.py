"""Fixed hyperspherical prototypes and the label-to-prototype assignment (host-side numpy/scipy).

- `uniform(num, dim, steps=1000, seed=0)`: prototypes spread by the Gaussian potential (DL2PA §3.2.1).
- `etf(num, dim)`: the simplex equiangular tight frame (needs dim >= num - 1).
- `assign(scores)` / `assign_from_means(class_means, prototypes)`: Hungarian assignment (scipy).
- `save`, `load`, `load_or_estimate`, `cache_dir`: `.npy` files with a sha256 sidecar; a set is
  estimated once per (num, dim, seed, steps) and reused (cache in `$ZOO_PROTOTYPES_DIR` or
  `~/.keras/zoo/prototypes`).

Nothing here imports a deep-learning framework: the estimate is numpy, so the same seed gives the same
prototypes on every Keras backend. `zoo.layers.PrototypeHead` holds a set as a fixed weight,
`zoo.callbacks.PrototypeReassignment` re-solves the assignment during training.

Example:
    >>> protos = zoo.prototypes.uniform(10, 3, seed=0)          # [10, 3] unit rows
    >>> sigma = zoo.prototypes.assign(class_means @ protos.T)   # class k -> prototype sigma[k]
"""

from zoo.prototypes.assignment import assign, assign_from_means, check_assignment
from zoo.prototypes.etf import etf
from zoo.prototypes.store import PrototypeFileError, cache_dir, load, load_or_estimate, save, sha256_file
from zoo.prototypes.uniform import PAPER_LR, PAPER_T, gaussian_potential, pairwise_cosine_stats, uniform

__all__ = [
    "uniform", "etf", "assign", "assign_from_means", "check_assignment",
    "save", "load", "load_or_estimate", "cache_dir", "sha256_file", "PrototypeFileError",
    "gaussian_potential", "pairwise_cosine_stats", "PAPER_LR", "PAPER_T",
]
