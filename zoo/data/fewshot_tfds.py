"""Few-shot class splits of two tensorflow_datasets (tfds) datasets, one module each:
`zoo.data.fewshot_omniglot` (Omniglot: Vinyals or Lake character splits, grey, rotations) and
`zoo.data.fewshot_cub` (CUB-200-2011: Chen et al.'s 100/50/50 class split, bbox crops). Their public names
are re-exported here (the module this API first lived in).

Example:
    >>> splits = zoo.data.fewshot_tfds.omniglot(data_dir="/data/tfds")            # Vinyals split
    >>> cub = zoo.data.fewshot_tfds.caltech_birds2011(data_dir="/data/tfds", image_size=84)
"""

from zoo.data.fewshot_cub import caltech_birds2011, cub_class_split
from zoo.data.fewshot_omniglot import (
    OMNIGLOT_ALPHABETS,
    OMNIGLOT_BACKGROUND_ALPHABETS,
    OMNIGLOT_EVALUATION_ALPHABETS,
    OMNIGLOT_VINYALS,
    omniglot,
)

__all__ = [
    "omniglot",
    "caltech_birds2011",
    "OMNIGLOT_ALPHABETS",
    "OMNIGLOT_BACKGROUND_ALPHABETS",
    "OMNIGLOT_EVALUATION_ALPHABETS",
    "OMNIGLOT_VINYALS",
    "cub_class_split",
]
