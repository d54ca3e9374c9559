"""`ReIDSplits`: the train / query / gallery splits of a person re-identification dataset (paths, pids, cameras)."""

import numpy as np

from zoo._checks import check_int
from zoo.data._checks import check_seed

__all__ = ["ReIDSplits"]

_SPLITS = ("train", "query", "gallery")


def _split(value, name):
    try:
        paths, pids, cams = value
    except (TypeError, ValueError):
        raise ValueError(f"ReIDSplits: `{name}` must be a (paths, pids, cams) tuple; got {type(value).__name__}.") \
            from None
    paths = np.asarray(paths, dtype=str).reshape(-1) if len(paths) else np.zeros([0], dtype=str)
    pids, cams = np.asarray(pids), np.asarray(cams)
    for arr, what in ((pids, "pids"), (cams, "cams")):
        if arr.size and (arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer)):
            raise ValueError(f"ReIDSplits: `{name}` {what} must be integers of shape [N]; got {arr.dtype} "
                             f"{arr.shape}.")
    pids, cams = pids.astype(np.int64).reshape(-1), cams.astype(np.int64).reshape(-1)
    if not len(paths) == len(pids) == len(cams):
        raise ValueError(f"ReIDSplits: `{name}` has {len(paths)} paths, {len(pids)} pids and {len(cams)} cams.")
    if cams.size and cams.min() < 0:
        raise ValueError(f"ReIDSplits: `{name}` cams must be 0-based (>= 0); got {cams.min()}.")
    return paths, pids, cams


class ReIDSplits:
    """Train, query and gallery of a re-ID dataset as numpy arrays, as `zoo.data.reid` returns them.

    Each split is a tuple ``(paths, pids, cams)``: file paths (str [N]), person ids (int64 [N]) and 0-based
    camera indices (int64 [N]). Train pids are the relabelled ``0..num_train_ids - 1`` (sorted order of the
    original ids); query and gallery keep the dataset's ids (0 = Market distractor, kept in the gallery as an
    always-wrong match).

    Args:
        name: dataset name (e.g. "market1501").
        root: the folder the splits were read from.
        train, query, gallery: ``(paths, pids, cams)`` tuples.

    Attributes:
        name, root, train, query, gallery: as given (arrays converted).
        num_train_ids: number of distinct train identities.
        num_cams: number of cameras, ``max(cam) + 1`` over the three splits.

    Example:
        >>> splits = zoo.data.reid("market1501", "~/data")
        >>> print(splits.summary())
        >>> val = splits.validation(num_ids=100)          # model selection on held-out TRAIN identities
        >>> train_paths, train_pids, _ = val.train

    Reference:
        The table of `summary()` follows torchreid's dataset printout (Zhou et al., "Omni-Scale Feature Learning
        for Person Re-Identification", ICCV 2019, code `torchreid.data.datasets.dataset.ImageDataset.show_summary`).
    """

    def __init__(self, name, root, train, query, gallery):
        self.name = str(name)
        self.root = str(root)
        self.train = _split(train, "train")
        self.query = _split(query, "query")
        self.gallery = _split(gallery, "gallery")

    @property
    def num_train_ids(self):
        return int(len(np.unique(self.train[1])))

    @property
    def num_cams(self):
        cams = [s[2] for s in (self.train, self.query, self.gallery) if s[2].size]
        return int(max(c.max() for c in cams) + 1) if cams else 0

    def summary(self):
        """A text table: one row per split with its number of identities, images and cameras."""
        rows = [(n, len(np.unique(s[1])), len(s[0]), len(np.unique(s[2])))
                for n, s in zip(_SPLITS, (self.train, self.query, self.gallery))]
        line = "  " + "-" * 42
        out = [f"=> {self.name} ({self.root})", line, "  subset   | # ids | # images | # cameras", line]
        out += [f"  {n:<8} | {i:5d} | {m:8d} | {c:9d}" for n, i, m, c in rows]
        out.append(line)
        return "\n".join(out)

    def __str__(self):
        return self.summary()

    def __repr__(self):
        return self.summary()

    def validation(self, num_ids=100, seed=0):
        """Carve a validation query/gallery from `num_ids` held-out TRAINING identities (query/gallery untouched).

        The held-out identities are drawn uniformly without replacement (seeded). For each of them, every camera
        in which it has at least two images gives one query image (chosen at random); its other images go to the
        gallery. An identity whose cameras all hold a single image gives one query from one camera when it
        appears in two or more cameras; an identity seen by one camera only goes entirely to the gallery (a
        distractor-like entry with no valid query). So every validation query has a cross-camera match in the
        validation gallery and none is skipped by the protocol's same-pid-same-camera removal.

        Args:
            num_ids: held-out identities, in [1, num_train_ids - 1].
            seed: int seed of the draws.

        Returns:
            A new `ReIDSplits` named ``"<name>/validation"``: train = the remaining identities relabelled
            ``0..N'-1`` (sorted order), query/gallery = the held-out identities with their current train labels.

        Raises:
            ValueError: `num_ids` outside [1, num_train_ids - 1], a bad seed.

        Departures:
            Market's test split takes one query per identity per camera; here a camera with a single image of
            the identity keeps it in the gallery (it would otherwise leave the other cameras' queries without a
            match, and such queries are invalid under the protocol).
        """
        n_ids = self.num_train_ids
        num_ids = check_int(num_ids, "num_ids", minimum=1, maximum=max(n_ids - 1, 1), owner="ReIDSplits.validation")
        if n_ids < 2:
            raise ValueError(f"ReIDSplits.validation: needs at least 2 train identities; got {n_ids}.")
        rng = np.random.default_rng(check_seed(seed, "ReIDSplits.validation"))
        paths, pids, cams = self.train
        ids = np.unique(pids)
        held = np.sort(rng.choice(ids, size=num_ids, replace=False))
        is_held = np.isin(pids, held)
        query_idx, gallery_idx = [], []
        for pid in held:
            idx = np.flatnonzero(pids == pid)
            by_cam = {int(c): idx[cams[idx] == c] for c in np.unique(cams[idx])}
            chosen = [int(rng.choice(v)) for c, v in sorted(by_cam.items()) if len(v) >= 2]
            if not chosen and len(by_cam) >= 2:
                chosen = [int(rng.choice(idx))]
            query_idx += chosen
            gallery_idx += [int(i) for i in idx if i not in set(chosen)]
        query_idx, gallery_idx = np.sort(query_idx).astype(np.int64), np.sort(gallery_idx).astype(np.int64)
        keep = np.flatnonzero(~is_held)
        remaining = np.unique(pids[keep])
        relabel = np.searchsorted(remaining, pids[keep])
        train = (paths[keep], relabel, cams[keep])
        query = (paths[query_idx], pids[query_idx], cams[query_idx])
        gallery = (paths[gallery_idx], pids[gallery_idx], cams[gallery_idx])
        return ReIDSplits(f"{self.name}/validation", self.root, train, query, gallery)
