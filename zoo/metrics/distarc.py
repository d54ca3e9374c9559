"""DistArc's (HyperSpaceX) three predictions from embeddings and the head's proxies (host-side numpy, float64).

A `zoo.layers.DistArcHead` places class k's radial proxy ω_k = r_k·ŵ_k on the sphere of radius r_k. The paper
and the released code predict in different ways; this module computes all three from the same embeddings so
the tables can report each:

- "nearest_proxy": argmin_k ‖x − r_k·ŵ_k‖ (the paper's radial-angular measure ‖R_k‖, the code's "Accuracy2",
  and the argmax of the head's output);
- "accuracy1": argmax_k [cos θ_k − softmax_k((s_k − ‖x‖)²)], s_k = r_k − prediction_offset (the code's
  "Accuracy1": its prediction radii are its δ radii minus 5);
- "angular": argmax_k cos θ_k (the angle alone, what ablation rows without δ train).

Reference:
    Chiranjeev, Dosi, Thakral, Vatsa, Singh, "HyperSpaceX: Radial and Angular Exploration of HyperSpherical
    Dimensions", ECCV 2024; IAB-IITJ/HyperSpaceX `train_objects.py` (Accuracy1, Accuracy2).
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

__all__ = ["distarc_predictions", "distarc_geometry"]

_OWNER = "distarc_predictions"
#: The released code's prediction radii are its δ radii minus this ((5, 15, ..., 95) vs (10, 20, ..., 100)).
CODE_PREDICTION_OFFSET = 5.0


def _numpy(value, name, owner):
    if not isinstance(value, (np.ndarray, list, tuple, np.generic, float, int)):
        value = keras.ops.convert_to_numpy(value)  # a backend tensor or a keras Variable
    a = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{owner}: `{name}` contains NaN or Inf.")
    return a


def _head_parameters(head, owner):
    """(kernel [d, K], class radii [K]) of a DistArcHead, or of a task model whose `.head` is one."""
    layer = getattr(head, "head", head)
    kernel = getattr(layer, "kernel", None)
    radii = getattr(layer, "class_radii", None)
    if kernel is None or radii is None:
        raise TypeError(f"{owner}: `head` must be a built zoo.layers.DistArcHead or a task model whose `.head` is "
                        f"one; got {type(head).__name__}.")
    return kernel, radii


def _geometry(features, head, kernel, radii, owner):
    if head is not None and (kernel is not None or radii is not None):
        raise ValueError(f"{owner}: pass either `head` or (`kernel`, `radii`), not both.")
    if head is None and (kernel is None or radii is None):
        raise ValueError(f"{owner}: pass `head` (a DistArcHead or a model holding one) or both `kernel` and "
                         f"`radii`.")
    if head is not None:
        kernel, radii = _head_parameters(head, owner)
    x = _numpy(features, "features", owner)
    w = _numpy(kernel, "kernel", owner)
    r = _numpy(radii, "radii", owner).reshape(-1)
    if x.ndim != 2:
        raise ValueError(f"{owner}: `features` must be [N, d]; got shape {x.shape}.")
    if w.ndim != 2 or w.shape[0] != x.shape[1]:
        raise ValueError(f"{owner}: `kernel` must be [d, K] with d = {x.shape[1]} (the width of `features`); "
                         f"got shape {w.shape}.")
    if r.shape[0] != w.shape[1]:
        raise ValueError(f"{owner}: `radii` must hold K = {w.shape[1]} radii (one per column of `kernel`); "
                         f"got {r.shape[0]}.")
    if np.any(r <= 0):
        raise ValueError(f"{owner}: every radius must be > 0; got min {r.min():g}.")
    col = np.linalg.norm(w, axis=0)
    if np.any(col == 0):
        raise ValueError(f"{owner}: `kernel` has a zero column {int(np.argmin(col))} (no direction).")
    w_hat = w / col  # [d, K]
    norm = np.linalg.norm(x, axis=1, keepdims=True)  # [N, 1]
    dot = x @ w_hat  # x·ŵ_k [N, K]
    cos = np.where(norm > 0, dot / np.where(norm > 0, norm, 1.0), 0.0)
    delta = np.maximum(np.square(norm) - 2.0 * r * dot + np.square(r), 0.0)
    return cos, delta, norm, r


def distarc_geometry(features: Any, head: Any = None, *, kernel: Any = None,
                     radii: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(cos θ [N, K], δ [N, K], ‖x‖ [N, 1], r [K]) of embeddings `features` [N, d] and a DistArc head, float64.

        cos θ_k = x·ŵ_k/‖x‖ (0 for x = 0),   δ_k = ‖x − r_k·ŵ_k‖² = ‖x‖² − 2 r_k x·ŵ_k + r_k²,

    ŵ_k = W[:, k]/‖W[:, k]‖. Arguments and errors as `distarc_predictions` (which uses it).

    Example:
        >>> cos, delta, norm, r = zoo.metrics.distarc.distarc_geometry(model.features(x_test), model)
    """
    return _geometry(features, head, kernel, radii, "distarc_geometry")


def distarc_predictions(features: Any, head: Any = None, *, kernel: Any = None, radii: Any = None,
                        prediction_offset: float = CODE_PREDICTION_OFFSET) -> dict[str, np.ndarray]:
    """The three DistArc predictions of embeddings `features` [N, d] (int64 class ids, each [N]).

    With ŵ_k = W[:, k]/‖W[:, k]‖, cos θ_k = x·ŵ_k/‖x‖ (0 for x = 0) and s_k = r_k − prediction_offset:

        nearest_proxy = argmin_k ‖x − r_k·ŵ_k‖²
        accuracy1     = argmax_k [cos θ_k − softmax_k((s_k − ‖x‖)²)]
        angular       = argmax_k cos θ_k

    Ties go to the smallest class id.

    Args:
        features: [N, d] embeddings the head receives (the backbone output: `model.features(images)` of a
            `zoo.models.ImageClassifier`), numpy or a backend tensor.
        head: a built `zoo.layers.DistArcHead`, or a task model whose `.head` is one (its `kernel` W [d, K]
            and `class_radii` r [K] are read). Or pass `kernel` and `radii` instead.
        kernel: W [d, K], the unnormalised class directions (columns), when `head` is None.
        radii: r [K] > 0, the per-class proxy radii (the head's `class_radii`), when `head` is None.
        prediction_offset: s_k = r_k − prediction_offset in "accuracy1". Default 5, the released code's gap
            between its δ radii (10, 20, ..., 100, the head's default radii) and its prediction radii
            (5, 15, ..., 95); 0 uses the head's radii.

    Returns:
        dict with "nearest_proxy", "accuracy1" and "angular", each an int64 array [N].

    Raises:
        TypeError: `head` is not a DistArcHead (or a model holding one).
        ValueError: both or neither of `head` and (`kernel`, `radii`); shapes that do not match; non-finite
            values; a radius <= 0 or a zero column of W; a non-finite `prediction_offset`.

    Example:
        >>> feats = model.features(x_test)                           # an ImageClassifier with head="distarc"
        >>> preds = zoo.metrics.distarc_predictions(feats, model)
        >>> {k: (v == y_test).mean() for k, v in preds.items()}

    Reference:
        HyperSpaceX (ECCV 2024) poster, predictive measure ‖R_i‖; `train_objects.py` Accuracy1 / Accuracy2.

    Departures from the reference code:
        One radius set: the head's radii serve "nearest_proxy" (the code's δ radii, r + 5 of its base radii) and
        "accuracy1" uses them minus `prediction_offset` (the code's base radii when the head has its default
        radii). Counted over all N samples (the code divides by batch size × batches, which under-counts when
        the last batch is partial). float64 on the host instead of the code's float32 [B, K, d] broadcast.
    """
    try:
        offset = float(prediction_offset)
    except (TypeError, ValueError):
        offset = math.nan
    if isinstance(prediction_offset, bool) or not math.isfinite(offset):
        raise ValueError(f"{_OWNER}: `prediction_offset` must be a finite number; got {prediction_offset!r}.")
    cos, delta, norm, r = _geometry(features, head, kernel, radii, _OWNER)
    gap = np.square((r - offset) - norm)  # (s_k − ‖x‖)²
    gap = gap - gap.max(axis=1, keepdims=True)
    soft = np.exp(gap) / np.exp(gap).sum(axis=1, keepdims=True)
    return {"nearest_proxy": np.argmin(delta, axis=1).astype(np.int64),
            "accuracy1": np.argmax(cos - soft, axis=1).astype(np.int64),
            "angular": np.argmax(cos, axis=1).astype(np.int64)}
