"""Distance-to-origin uncertainty of Poincaré embeddings and out-of-distribution AUROC (host-side numpy).

Khrulkov et al. observe that a hyperbolic classifier places confident, in-distribution images near the
boundary of the ball and ambiguous or out-of-distribution images near the centre: the hyperbolic distance
to the origin d_c(0, x) = (2/sqrt c) artanh(sqrt(c)||x||) is a certainty score. An OOD detector flags
points with a *small* distance; its quality is the AUROC of separating the two sets by that score.

Reference:
    Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020, §5 (MNIST vs Omniglot histograms,
    hyptorch examples/mnist.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# artanh arguments are clipped to 1 - ATANH_EPS (hyptorch's value, the named constant of the in-graph
# geometry), so host-side scores equal zoo.geometry.poincare.dist0 (largest distance 12.2/sqrt(c)).
from zoo.geometry.curvature import check_c
from zoo.geometry.numerics import ATANH_EPS
from zoo.metrics._ball import check_in_ball

__all__ = ["distance_to_origin", "max_softmax_probability", "auroc", "ood_auroc", "fpr_at_tpr", "ood_report"]

def distance_to_origin(points: Any, c: float = 1.0) -> np.ndarray:
    """d_c(0, x) = (2/sqrt c) artanh(sqrt(c)||x||) for each row of `points` (float64 numpy).

    Args:
        points: [N, d] points of the Poincaré ball (e.g. ToPoincare outputs), numpy or a backend tensor. A
            point on or past the boundary (norm >= 1/sqrt(c), e.g. embedded with another c) is a ValueError
            naming `points` and the radius.
        c: curvature magnitude > 0.

    Returns:
        [N] float64 distances.

    Example:
        >>> zoo.metrics.distance_to_origin(np.array([[0.5, 0.0]]), c=1.0)   # [1.0986]
    """
    c = check_c(c)
    c = c if isinstance(c, float) else check_c(np.asarray(c).reshape(()))  # a tensor: its (checked) value
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"points must be [N, d]; got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("points contain NaN or Inf (a non-finite embedding cannot be scored).")
    check_in_ball(x, c, "points")
    r = np.sqrt(c) * np.linalg.norm(x, axis=1)
    return 2.0 / math.sqrt(c) * np.arctanh(np.clip(r, 0.0, 1.0 - ATANH_EPS))


def max_softmax_probability(logits: Any) -> np.ndarray:
    """max_k softmax(z)_k per row of `logits` [N, K] (float64 numpy): the maximum-softmax-probability confidence,
    the usual OOD baseline (Hendrycks & Gimpel, ICLR 2017; small = out of distribution).

    Computed stably as 1 / Σ_k exp(z_k − max z).

    Args:
        logits: [N, K] class scores (any finite values; e.g. `model.predict(x)` of a classifier head).

    Returns:
        float64 [N] in (1/K, 1].

    Raises:
        ValueError: if `logits` is not a finite 2-d array with K >= 1.

    Example:
        >>> zoo.metrics.ood_report(zoo.metrics.max_softmax_probability(model.predict(x_in)),
        ...                        zoo.metrics.max_softmax_probability(model.predict(x_out)))["auroc"]
    """
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 1 or not np.all(np.isfinite(z)):
        raise ValueError(f"max_softmax_probability: `logits` must be a finite [N, K] array; got shape {z.shape}.")
    return 1.0 / np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1)


def _scores(a, name):
    a = np.asarray(a, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError(f"{name} is empty.")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or Inf.")
    return a


def auroc(positive_scores: Any, negative_scores: Any) -> float:
    """Area under the ROC curve = P(s_pos > s_neg) + ½ P(s_pos = s_neg) (Mann-Whitney U / (n_pos n_neg)).

    Ties count one half (the trapezoidal ROC area, as sklearn.metrics.roc_auc_score). O(n log n).

    Example:
        >>> zoo.metrics.auroc([0.9, 0.8], [0.1, 0.85])   # 0.75
    """
    pos, neg = _scores(positive_scores, "positive_scores"), _scores(negative_scores, "negative_scores")
    allv = np.concatenate([pos, neg])
    order = np.argsort(allv, kind="mergesort")
    ranks = np.empty(len(allv), np.float64)
    sorted_v = allv[order]
    # average ranks of tied groups (1-based)
    boundaries = np.flatnonzero(np.diff(sorted_v)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(allv)]])
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2.0
    return float(u / (len(pos) * len(neg)))


def ood_auroc(in_scores: Any, out_scores: Any, lower_is_ood: bool = True) -> float:
    """AUROC of detecting out-of-distribution samples from a score.

    With `lower_is_ood=True` (distance to the origin: OOD images sit near the centre) the detector flags
    small scores, so this is P(score_in > score_out) (+ ½ ties). 0.5 = chance, 1 = perfect separation.

    Args:
        in_scores: scores of in-distribution samples.
        out_scores: scores of out-of-distribution samples.
        lower_is_ood: whether small scores indicate OOD (True for distance to the origin and max softmax
            probability).

    Example:
        >>> d_in = zoo.metrics.distance_to_origin(ball_test, c)
        >>> d_out = zoo.metrics.distance_to_origin(ball_ood, c)
        >>> zoo.metrics.ood_auroc(d_in, d_out)
    """
    if lower_is_ood:
        return auroc(in_scores, out_scores)
    return auroc(out_scores, in_scores)


def fpr_at_tpr(in_scores: Any, out_scores: Any, tpr: float = 0.95, lower_is_ood: bool = True) -> float:
    """False-positive rate of OOD detection when `tpr` of the in-distribution samples are kept.

    The threshold keeps the fraction `tpr` of in-distribution samples (those with the highest scores when
    `lower_is_ood`); the result is the fraction of OOD samples that pass it as well (lower is better).
    """
    s_in, s_out = _scores(in_scores, "in_scores"), _scores(out_scores, "out_scores")
    if not lower_is_ood:
        s_in, s_out = -s_in, -s_out
    threshold = np.quantile(s_in, 1.0 - float(tpr))
    return float(np.mean(s_out >= threshold))


def ood_report(in_scores: Any, out_scores: Any, lower_is_ood: bool = True) -> dict[str, float]:
    """AUROC, FPR at 95% TPR and the score means/medians of both sets, as a dict."""
    s_in, s_out = _scores(in_scores, "in_scores"), _scores(out_scores, "out_scores")
    return {
        "auroc": ood_auroc(s_in, s_out, lower_is_ood),
        "fpr_at_95_tpr": fpr_at_tpr(s_in, s_out, 0.95, lower_is_ood),
        "in_mean": float(s_in.mean()), "in_median": float(np.median(s_in)), "n_in": int(s_in.size),
        "out_mean": float(s_out.mean()), "out_median": float(np.median(s_out)), "n_out": int(s_out.size),
    }
