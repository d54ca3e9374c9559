"""Expected calibration error (ECE) of a classifier's probabilities, DL2PA's convention (host-side numpy).

A classifier is calibrated when, among the samples it predicts with confidence p, a fraction p is right.
ECE bins the confidences and averages the gap between accuracy and mean confidence over the bins,
weighted by the bins' sizes.

Reference:
    Guo, Pleiss, Sun, Weinberger, "On Calibration of Modern Neural Networks", ICML 2017 (the measure);
    Saadabadi et al., "Hyperspherical Classification with Dynamic Label-to-Prototype Assignment" (DL2PA),
    CVPR 2024, which logs it with 15 bins (msed-Ebrahimi/DL2PA_CVPR24 `utils/logging.py` `calibration`).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from zoo._checks import check_bool, check_int

__all__ = ["expected_calibration_error"]

#: How far a row of `probabilities` may sum from 1.
ROW_SUM_TOLERANCE = 1e-3
_OWNER = "expected_calibration_error"


def _numpy(value):
    if isinstance(value, (np.ndarray, list, tuple, np.generic)):
        return np.asarray(value)
    return np.asarray(keras.ops.convert_to_numpy(value))  # a backend tensor


def _check_inputs(probabilities, labels):
    p = np.asarray(_numpy(probabilities), dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise ValueError(f"{_OWNER}: `probabilities` must be [N, K] with N, K >= 1; got shape {p.shape}.")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{_OWNER}: `probabilities` contains NaN or Inf.")
    if p.min() < -ROW_SUM_TOLERANCE or p.max() > 1.0 + ROW_SUM_TOLERANCE:
        raise ValueError(f"{_OWNER}: `probabilities` must lie in [0, 1] (pass softmax outputs, not logits); "
                         f"got values in [{p.min():.4g}, {p.max():.4g}].")
    sums = p.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1.0)))
    if abs(sums[worst] - 1.0) > ROW_SUM_TOLERANCE:
        raise ValueError(f"{_OWNER}: every row of `probabilities` must sum to 1 within {ROW_SUM_TOLERANCE:g} "
                         f"(pass softmax outputs, not logits or cosines); row {worst} sums to {sums[worst]:.6g}.")
    y = _numpy(labels)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != p.shape[0]:
        raise ValueError(f"{_OWNER}: `labels` must be [N] = [{p.shape[0]}] int labels; got shape {y.shape}.")
    if not (np.issubdtype(y.dtype, np.integer) or (np.issubdtype(y.dtype, np.floating)
                                                   and np.all(np.isfinite(y)) and np.all(y == np.round(y)))):
        raise ValueError(f"{_OWNER}: `labels` must be integer class ids; got dtype {y.dtype}.")
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"{_OWNER}: `labels` must be in [0, {p.shape[1]}) (the width of `probabilities`); "
                         f"got {y.min()}..{y.max()}.")
    return p, y


def expected_calibration_error(probabilities: Any, labels: Any, bins: int = 15,
                               return_bins: bool = False) -> float | tuple[float, dict[str, np.ndarray]]:
    """ECE = Σ_b (|B_b| / N)·|acc(B_b) − conf(B_b)| over `bins` equal-width confidence bins on [0, 1].

    For sample i the confidence is c_i = max_k p_ik and the prediction ŷ_i = argmax_k p_ik (the first
    maximum on ties). Bin b (b = 1..bins) holds the samples with (b − 1)/bins < c_i <= b/bins (right-closed:
    the reference's `np.digitize(c, linspace(0, 1, bins + 1), right=True)`); acc(B_b) is the fraction of
    ŷ_i = y_i in it and conf(B_b) the mean c_i. Empty bins contribute 0.

    Args:
        probabilities: [N, K] class probabilities (softmax outputs), numpy or a backend tensor. Every row
            must sum to 1 within 1e-3 and lie in [0, 1]: logits or cosines are refused (apply a softmax,
            with the temperature the model was trained with, first).
        labels: [N] integer labels in [0, K) (or [N, 1]).
        bins: number of bins (int >= 1). Default 15 (DL2PA).
        return_bins: also return the per-bin numbers of a reliability diagram.

    Returns:
        The ECE as a float in [0, 1] (the reference logs 100·ECE). With `return_bins=True`, a pair
        (ece, dict) whose dict holds "edges" [bins + 1], "counts" [bins] (int), "accuracy" [bins] and
        "confidence" [bins] (0 for empty bins) and "max_calibration_error" (the largest per-bin gap, the
        reference's MCE).

    Raises:
        ValueError: `probabilities` not [N, K], not finite, outside [0, 1] or with a row not summing to 1;
            `labels` not [N] integers in [0, K); `bins` not an int >= 1 (each message names the argument).

    Example:
        >>> probs = keras.ops.softmax(model.predict(x_test), axis=-1)
        >>> zoo.metrics.expected_calibration_error(probs, y_test)               # e.g. 0.031
        >>> ece, diagram = zoo.metrics.expected_calibration_error(probs, y_test, return_bins=True)

    Reference:
        Guo et al., ICML 2017, Eq. 3; DL2PA (CVPR 2024) `utils/logging.py` `calibration(..., num_bins=15)`.

    Departures from the reference code:
        Confidences are clipped to [0, 1] first, so a max probability rounded to 1 + 1e-7 falls in the top bin
        (the reference's `digitize` puts it past the last bin and drops it from the sum). A confidence of 0,
        which the reference also drops, cannot occur for rows that sum to 1 (c_i >= 1/K). The result is a
        fraction, not a percentage.
    """
    bins = check_int(bins, "bins", minimum=1, owner=_OWNER)
    return_bins = check_bool(return_bins, "return_bins", owner=_OWNER)
    p, y = _check_inputs(probabilities, labels)
    confidence = np.clip(p.max(axis=1), 0.0, 1.0)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # right=True: bin index b (1..bins) for edges[b - 1] < c <= edges[b]; c = 0 would be 0 (impossible here).
    index = np.clip(np.digitize(confidence, edges, right=True), 1, bins) - 1
    counts = np.bincount(index, minlength=bins)
    sum_correct = np.bincount(index, weights=correct, minlength=bins)
    sum_confidence = np.bincount(index, weights=confidence, minlength=bins)
    safe = np.maximum(counts, 1)
    accuracy = np.where(counts > 0, sum_correct / safe, 0.0)
    mean_confidence = np.where(counts > 0, sum_confidence / safe, 0.0)
    gaps = np.abs(accuracy - mean_confidence)
    ece = float(np.sum(gaps * counts) / len(y))
    if not return_bins:
        return ece
    return ece, {"edges": edges, "counts": counts.astype(np.int64), "accuracy": accuracy,
                 "confidence": mean_confidence, "max_calibration_error": float(gaps.max())}
