"""The "reid" test protocol of `zoo.pretrained.evaluate` (registered when `zoo.pretrained` is imported).

    {"kind": "reid", "dataset": "synthetic_reid", "split": "test", "ap": "non_interpolated", "flip": False,
     "batch_size": 128, "root": None}

Query against gallery in the model's geometry (`zoo.models.ReIDModel.evaluate_reid`, i.e.
`zoo.metrics.evaluate_rank`): gallery images of the query's identity seen by the query's camera removed, queries
without a valid match skipped, stable ranking; returns rank1, rank5, rank10, mAP and mINP (fractions).

Datasets: "synthetic_reid" is the SYNTHETIC multi-camera set of `zoo.data.synthetic_reid` with its defaults
(seed 0; written once to `$KERAS_HOME/zoo/datasets/synthetic_reid`, or under ``root``), so a published re-ID model
can be checked offline; its numbers only show that a model learned something. The real datasets
(`zoo.data.REID_DATASETS`: market1501, dukemtmcreid, msmt17, ...) are never downloaded: pass their folder as
``root``.

Example:
    >>> zoo.pretrained.evaluate(model, zoo.pretrained.PROTOCOLS["reid"])             # the synthetic set
    >>> zoo.pretrained.evaluate(model, {**zoo.pretrained.PROTOCOLS["reid"], "dataset": "market1501",
    ...                                 "root": "/data/Market-1501-v15.09.15"})
"""

import os

from zoo._checks import check_bool, check_choice, check_int
from zoo.pretrained.protocols import register_protocol

__all__ = []

#: The synthetic set's name in protocols and manifests.
SYNTHETIC = "synthetic_reid"
#: Queries of the synthetic set with `zoo.data.synthetic_reid`'s defaults (100 test identities x 5 cameras).
SYNTHETIC_QUERIES = 500
AP_VARIANTS = ("non_interpolated", "market")
METRICS = ("rank1", "rank5", "rank10", "mAP", "mINP")


def _splits(protocol):
    import zoo.data
    from zoo._io import keras_home

    dataset, root = protocol["dataset"], protocol.get("root")
    if dataset == SYNTHETIC:
        folder = zoo.data.synthetic_reid(root or os.path.join(keras_home(), "zoo", "datasets", SYNTHETIC))
        return zoo.data.reid("market1501", folder)
    if root is None:
        raise ValueError(f"evaluate (reid): dataset {dataset!r} is read from disk, never downloaded: pass its folder "
                         "as the protocol's 'root'.")
    return zoo.data.reid(dataset, root)


def _reid(model, protocol, data, verbose):
    """rank-1/5/10, mAP and mINP of the dataset's query against its gallery."""
    if data is not None:
        raise ValueError("evaluate (reid): `data` is not used by the re-ID protocol; give the dataset folder as the "
                         "protocol's 'root' instead.")
    if not hasattr(model, "evaluate_reid"):
        raise TypeError(f"evaluate (reid): the model must have `evaluate_reid` (a zoo.models.ReIDModel); got a "
                        f"{type(model).__name__}.")
    splits = _splits(protocol)
    res = model.evaluate_reid(splits.query, splits.gallery, flip=protocol["flip"], ap=protocol["ap"],
                              batch_size=protocol["batch_size"], verbose=verbose)
    return {key: float(res[key]) for key in METRICS}


def _check(protocol, owner):
    import zoo.data

    check_choice(protocol["dataset"], "dataset", (SYNTHETIC,) + tuple(zoo.data.REID_DATASETS), owner=owner)
    if protocol["split"] != "test":
        raise ValueError(f"{owner}: the re-ID protocol evaluates the 'test' split (query against gallery); got "
                         f"split {protocol['split']!r}.")
    if protocol.get("limit") is not None:
        raise ValueError(f"{owner}: 'limit' does not apply to the re-ID protocol (query and gallery are used whole).")
    protocol["ap"] = check_choice(protocol["ap"], "ap", AP_VARIANTS, owner=owner)
    protocol["flip"] = check_bool(protocol["flip"], "flip", owner=owner)
    protocol["batch_size"] = check_int(protocol["batch_size"], "batch_size", minimum=1, owner=owner)
    if protocol.get("root") is not None and not isinstance(protocol["root"], str):
        raise ValueError(f"{owner}: 'root' must be a folder path or None; got {protocol['root']!r}.")
    return protocol


def _describe(protocol):
    if protocol["dataset"] == SYNTHETIC:
        data = ("the SYNTHETIC re-ID set of zoo.data.synthetic_reid (defaults, seed 0: Fashion-MNIST identities "
                "through 5 fixed camera transforms, 100 test identities, 500 queries, 1,600 gallery images with "
                "distractors; its numbers only show that the model learned)")
    else:
        data = f"the {protocol['dataset']} query and gallery (read from 'root')"
    ap = "non-interpolated AP (torchreid)" if protocol["ap"] == "non_interpolated" else "the official Market AP"
    flip = ", flip test-time augmentation" if protocol["flip"] else ""
    return (f"{data}: query against gallery in the model's geometry, same identity and camera removed, queries "
            f"without a match skipped; rank-1/5/10, mAP ({ap}), mINP{flip}, batch {protocol['batch_size']}")


register_protocol("reid", _reid, defaults={"dataset": SYNTHETIC, "split": "test", "ap": "non_interpolated",
                                           "flip": False, "batch_size": 128, "root": None},
                  describe=_describe, check=_check)
