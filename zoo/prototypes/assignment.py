"""Label-to-prototype assignment by the Hungarian method (scipy, on the host).

DL2PA (CVPR 2024, Eq. 9) picks the one-to-one map sigma from classes to prototypes that maximises
sum_k <q_k, p_sigma(k)>, where q_k is the running mean direction of class k's features. This is a
linear assignment problem; `scipy.optimize.linear_sum_assignment` solves it exactly in O(C^3).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["assign", "assign_from_means", "check_assignment"]


def _solve(cost):
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(cost)
    out = np.empty(cost.shape[0], dtype=np.int64)
    out[rows] = cols
    return out


def assign(scores: Any) -> np.ndarray:
    """The assignment maximising the total score: sigma = argmax_perm sum_k scores[k, sigma(k)].

    Args:
        scores: [C, P] array, rows = classes, columns = prototypes, P >= C (e.g. cos(q_k, p_j)).

    Returns:
        int64 numpy array [C]: the prototype index of each class (distinct values in [0, P)).

    Raises:
        ValueError: not 2-D, fewer prototypes than classes, non-finite scores.

    Example:
        >>> zoo.prototypes.assign(np.array([[0.1, 0.9], [0.8, 0.2]]))
        array([1, 0])

    Reference:
        Saadabadi et al., DL2PA, CVPR 2024, Eq. 9 (code: `fixed_Classifier.haungarian`); Kuhn, "The
        Hungarian method for the assignment problem", 1955.

    Departures from the reference code:
        The reference negates a float32 copy and lets scipy convert it to float64 (three C x P copies);
        this makes one float64 copy, negated in place (see `assign_from_means` to build the scores in
        float64 directly).
    """
    s = np.asarray(scores)
    if s.ndim != 2:
        raise ValueError(f"`scores` must be a [classes, prototypes] matrix; got shape {s.shape}.")
    if s.shape[1] < s.shape[0]:
        raise ValueError(f"`scores` has {s.shape[0]} classes but only {s.shape[1]} prototypes; every class "
                         "needs its own prototype (num_prototypes >= num_classes).")
    cost = np.array(s, dtype=np.float64, copy=True, order="C")
    if not np.all(np.isfinite(cost)):
        raise ValueError("`scores` contains NaN or inf (non-finite class means or prototypes?).")
    np.negative(cost, out=cost)
    return _solve(cost)


def assign_from_means(class_means: Any, prototypes: Any) -> np.ndarray:
    """Hungarian assignment from class means q [C, d] and prototypes [P, d] on the score q_k . p_j.

    The reference's score (the class means and prototypes are unit rows, so these are cosines). The
    [C, P] cost is built in float64 and negated in place: peak memory about 8 C P bytes.

    Args:
        class_means: [C, d] array.
        prototypes: [P, d] array, P >= C.

    Returns:
        int64 numpy array [C] (see `assign`).

    Example:
        >>> sigma = zoo.prototypes.assign_from_means(head.class_means.numpy(), head.prototypes.numpy())
    """
    q = np.asarray(class_means, dtype=np.float64)
    p = np.asarray(prototypes, dtype=np.float64)
    if q.ndim != 2 or p.ndim != 2 or q.shape[1] != p.shape[1]:
        raise ValueError(f"class_means [C, d] and prototypes [P, d] must share d; got {q.shape} and {p.shape}.")
    if p.shape[0] < q.shape[0]:
        raise ValueError(f"{q.shape[0]} classes but only {p.shape[0]} prototypes; every class needs its own "
                         "prototype (num_prototypes >= num_classes).")
    cost = q @ p.T
    if not np.all(np.isfinite(cost)):
        raise ValueError("class_means or prototypes contain NaN or inf.")
    np.negative(cost, out=cost)
    return _solve(cost)


def check_assignment(assignment: Any, num_classes: int, num_prototypes: int) -> np.ndarray:
    """Validate a label -> prototype map and return it as an int64 numpy array.

    Args:
        assignment: sequence of length num_classes of distinct integers in [0, num_prototypes).
        num_classes: C.
        num_prototypes: P >= C.

    Raises:
        ValueError: wrong length, non-integers, out of range, repeated prototype (not a permutation).
    """
    a = np.asarray(assignment)
    if a.ndim != 1 or a.shape[0] != int(num_classes):
        raise ValueError(f"the assignment must have one prototype index per class, shape [{num_classes}]; "
                         f"got shape {a.shape}.")
    if a.size and not (np.issubdtype(a.dtype, np.integer)
                       or (np.issubdtype(a.dtype, np.floating) and np.all(a == np.round(a)))):
        raise ValueError(f"the assignment must hold integer prototype indices; got dtype {a.dtype}.")
    a = a.astype(np.int64)
    if a.size and (a.min() < 0 or a.max() >= int(num_prototypes)):
        raise ValueError(f"assignment values must be prototype indices in [0, {num_prototypes}); got "
                         f"min {a.min()}, max {a.max()}.")
    values, counts = np.unique(a, return_counts=True)
    if np.any(counts > 1):
        dup = values[counts > 1][:5].tolist()
        raise ValueError(f"the assignment is not a permutation: prototype(s) {dup} are assigned to more than "
                         "one class.")
    return a

