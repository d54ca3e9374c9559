"""Verification measures of the exponential-triplet reference: the equal error rate and the "range" accuracy.

Host-side numpy. `equal_error_rate(scores, is_correct)` is the EER of the ROC of a confidence score against
correctness; `range_votes` / `range_accuracy` are the reference's "range" classifier (a class votes for a sample
inside its radius around the class centroid); the reference's `test_eer` is the EER of the range classifier's
top normalised vote against its correctness (`range_scores`).

Reference:
    Urtans, Nikitenko, Vecins, "Exponential Triplet Loss", ICCDA 2020; code evaldsurtans/exponential-triplet-loss
    (main.py: `calc_err`, the "closest" / "range" accuracy after every epoch).
"""

from __future__ import annotations

import numpy as np

import zoo.geometry
from zoo.metrics._blocks import ArrayLike, GeometryLike, _distance_blocks, _embeddings, _labels
from zoo.metrics.retrieval import MAX_ELEMENTS, class_centroids

__all__ = ["equal_error_rate", "range_votes", "range_accuracy", "range_scores"]


def _roc(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) at every distinct score, highest first, from the point (0, 0) (tied scores form one
    step, a diagonal segment, as sklearn.metrics.roc_curve). The (0, 0) point's threshold is max(score) + 1."""
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]   # the last index of every group of tied scores
    tps = np.cumsum(t)[last].astype(np.float64)
    fps = (last + 1) - tps
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    thresholds = np.r_[s[0] + 1.0, s[last]]
    return fpr, tpr, thresholds


def equal_error_rate(scores: ArrayLike, is_correct: ArrayLike, return_threshold: bool = False):
    """Equal error rate of a confidence score as a detector of correct predictions.

    Accept a sample when its score is >= a threshold t. With P correct and N incorrect samples,

        FAR(t) = FPR(t) = #{incorrect accepted} / N,     FRR(t) = 1 − TPR(t) = #{correct rejected} / P,
        EER    = the x in [0, 1] where x = FPR = 1 − TPR on the ROC curve

    The ROC's vertices (one per distinct score, tied scores joined by a straight segment) are joined by straight
    lines, and the EER is where that polyline meets the anti-diagonal FPR + TPR = 1: the reference's
    `brentq(lambda x: 1 − x − interp1d(fpr, tpr)(x), 0, 1)` on `sklearn.metrics.roc_curve`, computed here in
    closed form on the crossing segment (1 − x − TPR(x) falls strictly along the curve, so the root is unique; on a
    vertical step it is that step's FPR).

    Args:
        scores: [N] confidences (higher = more likely correct), e.g. the top class probability.
        is_correct: [N] booleans (or 0/1), whether each prediction was right.
        return_threshold: also return the score threshold at the EER, interpolated along the crossing segment
            (the reference's `interp1d(fpr, thresholds)(eer)`; the (0, 0) vertex's threshold is max(score) + 1, as
            the scikit-learn of the reference's time).

    Returns:
        The EER, a float in [0, 1] (0: a threshold separates correct from incorrect perfectly; 1: every incorrect
        sample scores above every correct one); `(eer, threshold)` with `return_threshold`. NaN (and a NaN
        threshold) when all samples are correct or all incorrect: no ROC exists.

    Raises:
        ValueError: `scores` / `is_correct` not 1-D of one length N >= 1, or non-finite scores.

    Example:
        >>> zoo.metrics.equal_error_rate([0.9, 0.8, 0.7, 0.2], [True, True, False, False])   # 0.0
        >>> zoo.metrics.equal_error_rate(probs.max(1), probs.argmax(1) == y_test)

    Reference:
        Urtans et al., "Exponential Triplet Loss", ICCDA 2020; code evaldsurtans/exponential-triplet-loss,
        main.py `calc_err`.

    Departures from the reference code:
        The reference logs an exception and reports −1 when the ROC is undefined (a single class of correctness);
        here the result is NaN. The root is exact instead of brentq's (xtol 2e-12).
    """
    s = np.asarray(scores, dtype=np.float64)
    c = np.asarray(is_correct)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"equal_error_rate: `scores` must be a 1-D array of N >= 1 scores; got shape {s.shape}.")
    if c.shape != s.shape:
        raise ValueError(f"equal_error_rate: `is_correct` must have the shape of `scores` {s.shape}; got {c.shape}.")
    if not np.all(np.isfinite(s)):
        raise ValueError("equal_error_rate: `scores` holds NaN or inf.")
    c = c.astype(bool)
    if c.all() or not c.any():
        return (float("nan"), float("nan")) if return_threshold else float("nan")
    fpr, tpr, thresholds = _roc(s, c)
    f = 1.0 - fpr - tpr                             # 1 at (0, 0), −1 at (1, 1), strictly falling along the curve
    i = int(np.argmax(f[1:] <= 0.0))                # the segment [i, i + 1] where f reaches 0
    t = f[i] / (f[i] - f[i + 1])
    eer = float(fpr[i] + t * (fpr[i + 1] - fpr[i]))
    if return_threshold:
        return eer, float(thresholds[i] + t * (thresholds[i + 1] - thresholds[i]))
    return eer


def _own_distances(x: np.ndarray, y: np.ndarray, classes: np.ndarray, cents: np.ndarray, geo, max_elements: int):
    """d(x_i, c_{y_i}) for every sample (its own class's centroid)."""
    col = np.searchsorted(classes, y)
    out = np.empty(len(x), dtype=np.float64)
    for start, d in _distance_blocks(x, cents, geo, False, max_elements):
        rows = np.arange(len(d))
        out[start:start + len(d)] = d[rows, col[start:start + len(d)]]
    return out


def range_votes(embeddings: ArrayLike, labels: ArrayLike | None = None, train_embeddings: ArrayLike | None = None,
                train_labels: ArrayLike | None = None, geometry: GeometryLike = "euclidean",
                normalize_centroids: bool = False, max_elements: int = MAX_ELEMENTS) -> tuple[np.ndarray, np.ndarray]:
    """The reference's "range" classifier: (classes, [N, C] normalised votes).

        c_k = centroid of class k,   r_k = max_{j: y_j = k} d(x_j, c_k)        (over the centroid set)
        v_ik = [d(x_i, c_k) < r_k],   votes_ik = v_ik / Σ_k v_ik               (a row of zeros: no class votes)

    Args:
        embeddings: [N, d] evaluated embeddings.
        labels: their int labels [N]; needed only for the transductive version (train_embeddings None).
        train_embeddings, train_labels: where the centroids and radii come from. None = the reference's
            *transductive* protocol: centroids and radii from the evaluated split's own embeddings and labels.
        geometry: the distance (a `zoo.geometry` name / object / config; "euclidean", "cosine", ...).
        normalize_centroids: renormalise the centroids to unit length (the reference does it in its `l2` space;
            see `zoo.metrics.class_centroids`).
        max_elements: largest embeddings × classes distance block held at once.

    Returns:
        `(classes, votes)`: the sorted class ids [C] of the centroid set and float64 votes [N, C] (rows sum to 1,
        or to 0 when no class's range holds the sample).

    Raises:
        ValueError: bad shapes or labels, or `train_embeddings` without `train_labels` (or neither set labelled).

    Example:
        >>> classes, votes = zoo.metrics.range_votes(test_emb, y_test)                       # reference protocol
        >>> classes, votes = zoo.metrics.range_votes(test_emb, None, train_emb, y_train)     # clean
    """
    geo = zoo.geometry.get(geometry)
    x = _embeddings(embeddings, "embeddings", geo)
    if train_embeddings is None:
        if labels is None:
            raise ValueError("range_votes: `labels` is required when `train_embeddings` is None (the centroids come "
                             "from the evaluated split).")
        ref, ref_y = x, _labels(labels, len(x), "labels")
    else:
        if train_labels is None:
            raise ValueError("range_votes: `train_labels` is required with `train_embeddings`.")
        ref = _embeddings(train_embeddings, "train_embeddings", geo)
        ref_y = _labels(train_labels, len(ref), "train_labels")
        if ref.shape[1] != x.shape[1]:
            raise ValueError(f"range_votes: `embeddings` have dim {x.shape[1]} but `train_embeddings` have dim "
                             f"{ref.shape[1]}.")
    classes, cents = class_centroids(ref, ref_y, geo, normalize_centroids)
    own = _own_distances(ref, ref_y, classes, cents, geo, max_elements)
    radii = np.full(len(classes), -np.inf)
    np.maximum.at(radii, np.searchsorted(classes, ref_y), own)
    votes = np.zeros((len(x), len(classes)), dtype=np.float64)
    for start, d in _distance_blocks(x, cents, geo, False, max_elements):
        votes[start:start + len(d)] = d < radii[None, :]
    total = votes.sum(axis=1, keepdims=True)
    return classes, votes / np.where(total > 0, total, 1.0)


def range_scores(embeddings: ArrayLike, labels: ArrayLike, train_embeddings: ArrayLike | None = None,
                 train_labels: ArrayLike | None = None, geometry: GeometryLike = "euclidean",
                 normalize_centroids: bool = False, max_elements: int = MAX_ELEMENTS) -> tuple[np.ndarray, np.ndarray]:
    """(score, is_correct) of the range classifier, [N] each: the top normalised vote and whether its class (the
    lowest class id among tied top votes) is the label; a sample no class votes for scores 0 and is wrong.
    `equal_error_rate(*range_scores(...))` is the reference's `test_eer`. Arguments as `range_votes`.

    Example:
        >>> eer = zoo.metrics.equal_error_rate(*zoo.metrics.range_scores(test_emb, y_test, train_emb, y_train))
    """
    classes, votes = range_votes(embeddings, labels, train_embeddings, train_labels, geometry, normalize_centroids,
                                 max_elements)
    y = _labels(labels, len(votes), "labels")
    top = votes.max(axis=1)
    correct = (classes[np.argmax(votes, axis=1)] == y) & (top > 0)
    return top, correct


def range_accuracy(embeddings: ArrayLike, labels: ArrayLike, train_embeddings: ArrayLike | None = None,
                   train_labels: ArrayLike | None = None, geometry: GeometryLike = "euclidean",
                   normalize_centroids: bool = False, max_elements: int = MAX_ELEMENTS) -> float:
    """The reference's "range" accuracy: the argmax of the normalised range votes (see `range_votes`).

        pred_i = argmax_k votes_ik,   accuracy = mean_i [pred_i = y_i and some class voted for i]

    Args:
        embeddings, labels: the evaluated split ([N, d], int [N]).
        train_embeddings, train_labels, geometry, normalize_centroids, max_elements: as `range_votes` (None: the
            reference's transductive protocol, centroids and radii from the evaluated split itself; report it
            only for comparability, test labels leak into the classifier).

    Returns:
        The accuracy, a float in [0, 1].

    Raises:
        ValueError: as `range_votes`.

    Example:
        >>> zoo.metrics.range_accuracy(test_emb, y_test, train_emb, y_train)      # clean
        >>> zoo.metrics.range_accuracy(test_emb, y_test)                          # reference's
        >>> zoo.metrics.range_accuracy(test_emb, y_test, geometry="cosine")

    Reference:
        Urtans et al., "Exponential Triplet Loss", ICCDA 2020; code evaldsurtans/exponential-triplet-loss (main.py,
        the "range" branch after every epoch: radius = the largest distance of the class's own samples to its
        centroid, a vote when `max_dist > dist`, votes / (Σ votes + 1e-18), top-1 of tnt's ClassErrorMeter).

    Departures from the reference code:
        Tied top votes go to the lowest class id (the reference's torch.topk leaves the order of ties
        unspecified), and a sample no class votes for counts as an error (the reference's all-zero row has an
        arbitrary top-1, in practice a free hit for one class). An earlier reference version
        (`CentroidClassificationUtils`) dropped the farthest 10 % of each class before taking the radius; the
        final main.py does not, and neither does this. The centroids are `zoo.metrics.class_centroids` (the
        geometry's mean, as `nearest_centroid_accuracy`): for "cosine" the mean of the unit vectors, where the
        reference averages the raw embeddings (the same when they have one norm, as in its `l2` space).
    """
    top, correct = range_scores(embeddings, labels, train_embeddings, train_labels, geometry, normalize_centroids,
                                max_elements)
    return float(correct.mean())
