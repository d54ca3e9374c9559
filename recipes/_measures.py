"""The papers' measures of a trained `zoo.models.ImageClassifier` on a test set, for the recipes' summaries.

`classification_measures(model, x, y)` returns

- `ece`: DL2PA's expected calibration error (15 bins, `zoo.metrics.calibration.expected_calibration_error`) of
  softmax(logits), the logits chosen per head as the training loss sees them without its margin:

  - softmax, poincare (hyperbolic MLR), center with the softmax base: the head's class scores (they are logits);
  - arcface, cosface, sphereface, sphereface2, center with a cosine base: s·cos θ, s = the loss's `scale`;
  - prototypes (DL2PA): the raw cosines, temperature 1 (the DL2PA code applies its softmax to the cosine outputs);
  - distarc (HyperSpaceX): s·cos θ_k − λ·δ_k, the DistArc loss's non-target logits (its `scale` and `lam`),
    i.e. the loss's softmax without the margin and cos φ, which need the label.

  (SphereFace2 trains one-vs-all sigmoids, not a softmax: its s·cos θ softmax is a convention, not its loss.)
  `ece_logits` names the convention used.
- for a "distarc" head, the accuracies of its three predictions (`zoo.metrics.distarc.distarc_predictions`):
  `accuracy_nearest_proxy` (argmin ‖x − r_k ŵ_k‖, the paper's measure and the head's argmax),
  `accuracy_accuracy1` (the released code's argmax cos θ − softmax((r − 5 − ‖x‖)²)) and `accuracy_angular`
  (argmax cos θ).

Example:
    >>> from recipes._measures import classification_measures
    >>> classification_measures(model, x_test, y_test)
    {'ece': 0.021, 'ece_bins': 15, 'ece_logits': 'logits (the head scores)'}
"""

from __future__ import annotations

import numpy as np

__all__ = ["calibration_logits", "classification_measures"]

#: DL2PA's number of ECE bins.
ECE_BINS = 15
_COSINE_HEADS = ("arcface", "cosface", "sphereface", "sphereface2")


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _loss_scale(loss, head_name):
    scale = getattr(loss, "scale", None)
    if scale is None:
        raise ValueError(f"classification_measures: the {head_name!r} head's loss {type(loss).__name__} has no "
                         f"`scale` (the logit scale its softmax uses).")
    return float(scale)


def calibration_logits(model, scores, features=None):
    """(logits [N, K] whose softmax is the model's calibrated probabilities, a name of the convention).

    `scores` are `model.predict` outputs; `features` the head's input embeddings (needed for "distarc").
    """
    head = model.head_name
    loss = model.spec.loss
    scores = np.asarray(scores, dtype=np.float64)
    if head in _COSINE_HEADS:
        s = _loss_scale(loss, head)
        return s * scores, f"{s:g}·cos θ"
    if head == "center":
        base = getattr(loss, "base_loss", None)
        if base is None:
            return scores, "logits (the head scores)"
        s = _loss_scale(base, head)
        return s * scores, f"{s:g}·cos θ"
    if head == "prototypes":
        return scores, "cos θ (DL2PA: temperature 1)"
    if head == "distarc":
        from zoo.metrics.distarc import distarc_geometry

        cos, delta, _, _ = distarc_geometry(features, model.head)
        s, lam = float(loss.scale), float(loss.lam)
        return s * cos - lam * delta, f"{s:g}·cos θ − {lam:g}·δ"
    return scores, "logits (the head scores)"


def classification_measures(model, x, y, batch_size=512):
    """ECE (and DistArc's three prediction accuracies) of a trained ImageClassifier on raw images `x`, labels `y`.

    Args:
        model: a `zoo.models.ImageClassifier` (trained; after the recipe's best-epoch restore).
        x: raw test images [N, H, W(, C)] (what `model.predict` takes).
        y: int labels [N].
        batch_size: prediction batch size.

    Returns:
        dict: "ece" (float in [0, 1]), "ece_bins" (15), "ece_logits" (the softmax's input, see the module docs);
        for a "distarc" head also "accuracy_nearest_proxy", "accuracy_accuracy1", "accuracy_angular" (floats).
    """
    from zoo.metrics.calibration import expected_calibration_error
    from zoo.metrics.distarc import distarc_predictions

    y = np.asarray(y).reshape(-1).astype(np.int64)
    scores = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    features = None
    if model.head_name == "distarc":  # the head's input: `embed` is the backbone output for DistArc (no mapping)
        features = np.asarray(model.embed(x, batch_size=batch_size), dtype=np.float64)
    logits, convention = calibration_logits(model, scores, features)
    out = {"ece": expected_calibration_error(_softmax(logits), y, bins=ECE_BINS), "ece_bins": ECE_BINS,
           "ece_logits": convention}
    if features is not None:
        for name, pred in distarc_predictions(features, model.head).items():
            out[f"accuracy_{name}"] = float(np.mean(pred == y))
    return out
