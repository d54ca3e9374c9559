"""`zoo.data.reid(name, root)`: read a person re-identification dataset from its folder (never downloads).

Layouts (the release folder or the folder holding it can be given as `root`):

- ``market1501`` (6 cams): ``Market-1501-v15.09.15/{bounding_box_train, query, bounding_box_test}``.
- ``dukemtmcreid`` (8 cams): ``DukeMTMC-reID/{bounding_box_train, query, bounding_box_test}``.
- ``msmt17`` (15 cams): ``MSMT17_V1/{train, test}`` or ``MSMT17_V2/{mask_train_v2, mask_test_v2}``, each with
  ``list_{train,val,query,gallery}.txt``.
- ``cuhk03_np_labeled`` / ``cuhk03_np_detected`` (2 cams): Zhong et al.'s CUHK03-NP release
  ``cuhk03-np/{labeled,detected}/{bounding_box_train, query, bounding_box_test}`` (PNG, Market-style names),
  or torchreid's extraction ``cuhk03/{images_labeled, splits_new_labeled.json}`` (``..._detected``).
- ``folder`` (any cams): any Market-style tree ``{bounding_box_train, query, bounding_box_test}`` with Market
  file names (``<pid>_c<cam>...``).

The raw ``cuhk-03.mat`` is not read (extract it once with torchreid, or use the CUHK03-NP release); the classic
20-split CUHK03 protocol is not provided.
"""

import os

import numpy as np

from zoo._checks import check_bool, check_choice, check_int
from zoo.data._reid_layouts import (
    DATASETS,
    MARKET_FOLDERS,
    find_root,
    read_cuhk03_torchreid,
    read_market,
    read_msmt17,
)
from zoo.data.reid_splits import ReIDSplits

__all__ = ["REID_DATASETS", "reid"]

#: Names accepted by `zoo.data.reid`.
REID_DATASETS = tuple(DATASETS)


def _market_style(root, name, names, sub, pid_range, cam_range, owner):
    folder = find_root(root, names, MARKET_FOLDERS, owner, sub=sub)
    return folder, [read_market(os.path.join(folder, f), pid_range, cam_range, owner) for f in MARKET_FOLDERS]


def _cuhk03(root, name, names, pid_range, cam_range, owner, split_id):
    variant = name.rsplit("_", 1)[1]
    try:
        return _market_style(root, name, names, variant, pid_range, cam_range, owner)
    except FileNotFoundError as market_error:
        try:
            folder = find_root(root, names, (f"splits_new_{variant}.json", f"images_{variant}"), owner)
        except FileNotFoundError:
            raise FileNotFoundError(f"{market_error} torchreid's extracted layout (cuhk03/images_{variant} + "
                                    f"cuhk03/splits_new_{variant}.json) was not found either.") from None
        return folder, list(read_cuhk03_torchreid(folder, variant, owner, split_id))


def reid(name, root, *, with_val=False, split_id=0, verbose=False):
    """Read a re-ID dataset's train / query / gallery splits from disk.

    Rules (torchreid's and fast-reid's): junk images (pid -1) are dropped from every split; distractors (pid 0)
    stay in the gallery as always-wrong matches; train pids are relabelled to ``0..N-1`` in sorted order of the
    original ids, query/gallery keep the original ids; cameras become 0-based (file camera - 1). File names
    are sorted, so the order is reproducible. Ranges are checked per dataset (Market: pid 0..1501, cams 1..6;
    Duke: cams 1..8; MSMT17: cams 1..15; CUHK03: cams 1..2).

    Args:
        name: one of `REID_DATASETS`: "market1501", "dukemtmcreid", "msmt17", "cuhk03_np_labeled",
            "cuhk03_np_detected", "folder".
        root: the dataset folder (e.g. ``.../Market-1501-v15.09.15``) or a folder holding it (also
            ``root/<name>/<release folder>``, torchreid's ``root/market1501/Market-1501-v15.09.15``).
        with_val: MSMT17 only: add ``list_val.txt`` to train (torchreid's ``combineall``; published numbers
            train on ``list_train.txt`` alone, the default).
        split_id: torchreid's CUHK03 extraction only: which entry of ``splits_new_*.json`` (it holds one).
        verbose: print `ReIDSplits.summary()`.

    Returns:
        `zoo.data.ReIDSplits`.

    Raises:
        FileNotFoundError: a missing root, folder or list file; the message names every missing item.
        ValueError: an unknown name, a file not named like the dataset's images, a pid or camera outside the
            dataset's range, an empty split folder.

    Example:
        >>> splits = zoo.data.reid("market1501", "/data")     # /data/Market-1501-v15.09.15/...
        >>> print(splits.summary())
        >>> paths, pids, cams = splits.train                  # pids 0..750, cams 0..5

    Reference:
        Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV 2015 (Market-1501); Ristani et al.
        2016 / Zheng et al. 2017 (DukeMTMC-reID); Wei et al., "Person Transfer GAN", CVPR 2018 (MSMT17); Li et al.
        2014 / Zhong et al., "Re-ranking Person Re-identification with k-reciprocal Encoding", CVPR 2017
        (CUHK03-NP). Layout rules from torchreid ``data/datasets/image/*.py``.

    Departures:
        torchreid keeps the three Market folders directly under ``market1501/`` with a warning; here any of the
        candidate folders is accepted silently. Train relabelling uses an explicit sort (torchreid enumerates a
        set, which is sorted in practice for small ints).
    """
    owner = "zoo.data.reid"
    name = check_choice(name, "name", REID_DATASETS, owner=owner)
    with_val = check_bool(with_val, "with_val", owner=owner)
    split_id = check_int(split_id, "split_id", minimum=0, owner=owner)
    root = os.path.abspath(os.path.expanduser(os.fspath(root)))
    names, pid_range, cam_range = DATASETS[name]
    if name == "msmt17":
        folder = find_root(root, names, (("mask_train_v2", "train"), ("mask_test_v2", "test"), "list_train.txt",
                                         "list_val.txt", "list_query.txt", "list_gallery.txt"), owner)
        splits = read_msmt17(folder, cam_range, owner, with_val=with_val)
    elif name.startswith("cuhk03"):
        folder, splits = _cuhk03(root, name, names, pid_range, cam_range, owner, split_id)
    else:
        folder, splits = _market_style(root, name, names, None, pid_range, cam_range, owner)
    arrays = []
    for items in splits:
        items = [t for t in items if t[1] != -1]
        paths = np.array([t[0] for t in items], dtype=str)
        pids = np.array([t[1] for t in items], dtype=np.int64)
        cams = np.array([t[2] for t in items], dtype=np.int64) - 1
        arrays.append((paths, pids, cams))
    (tp, tpid, tc), query, gallery = arrays
    if not len(tp):
        raise ValueError(f"{owner}: no training images left in {folder!r} after dropping junk (pid -1).")
    train = (tp, np.searchsorted(np.unique(tpid), tpid).astype(np.int64), tc)
    out = ReIDSplits(name, folder, train, query, gallery)
    if verbose:
        print(out.summary())
    return out
