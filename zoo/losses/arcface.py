"""ArcFace: additive angular margin softmax on cos θ scores (and the helpers every margin loss shares).

The pure function `arcface_loss` does the work; `ArcFaceLoss` is the thin Keras wrapper. The helpers
`check_positive`, `check_range`, `int_labels`, `softmax_cross_entropy` and `arcface_target` are shared
by the other hyperspherical losses (CosFace, SphereFace, SphereFace2, DistArc).
"""

import math

import keras
import numpy as np
from keras import ops

from zoo.geometry import numerics as nx

__all__ = ["ArcFaceLoss"]

# --- shared checks and helpers (used by cosface, sphereface, sphereface2, distarc_loss, center_loss) --


def check_positive(value, name, owner):
    """Return float(value) if it is finite and > 0, else raise a ValueError naming `name`."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: `{name}` must be a finite number > 0; got {value!r}.") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{owner}: `{name}` must be a finite number > 0; got {value!r}.")
    return v


def check_range(value, name, owner, lo, hi, lo_text=None, hi_text=None):
    """Return float(value) if lo <= value <= hi, else raise a ValueError naming the allowed range."""
    allowed = f"[{lo_text or lo}, {hi_text or hi}]"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: `{name}` must be a number in {allowed}; got {value!r}.") from None
    if not (math.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"{owner}: `{name}` must be in {allowed}; got {value!r}.")
    return v


def num_classes_of(y_pred, owner, columns=None):
    """Static number of classes from the last axis of the scores (raises if it is unknown)."""
    k = y_pred.shape[-1]
    if k is None:
        raise ValueError(f"{owner}: the number of classes (last axis of y_pred) must be known statically.")
    return int(k) if columns is None else columns(int(k))


def int_labels(y_true, num_classes, owner="loss"):
    """Integer labels [B] from Keras' y_true ([B] or [B, 1], possibly cast to float by Loss.__call__).

    When the labels are concrete (eager TensorFlow, PyTorch, a plain call), labels outside
    [0, num_classes) raise a ValueError. Inside a compiled graph the values cannot be read; there the
    losses turn the loss of such a sample into NaN (see `poison_invalid`) instead of silently using an
    all-zero one-hot row.
    """
    labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    try:
        values = np.asarray(ops.convert_to_numpy(labels))
    except Exception:  # symbolic tensor or tracer: values unknown here
        values = None
    if values is not None and values.size:
        lo, hi = int(values.min()), int(values.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(
                f"{owner}: labels must be integers in [0, num_classes) = [0, {num_classes}); "
                f"got values in [{lo}, {hi}]."
            )
    return labels


def poison_invalid(per_sample, labels, num_classes):
    """NaN for samples whose label is outside [0, num_classes) (graph-mode counterpart of the check)."""
    valid = ops.logical_and(ops.greater_equal(labels, 0), ops.less(labels, num_classes))
    return ops.where(valid, per_sample, ops.full_like(per_sample, float("nan")))


def softmax_cross_entropy(logits, onehot):
    """Per-sample softmax cross-entropy logsumexp(z) - z_y, for logits [B, K] and a one-hot [B, K]."""
    return ops.logsumexp(logits, axis=-1) - ops.sum(logits * onehot, axis=-1)


def theta_of(cos):
    """θ = arccos(cos) with the cosine clipped to ±(1 - ACOS_EPS): finite derivative at cos = ±1."""
    return ops.arccos(ops.clip(cos, -1.0 + nx.ACOS_EPS, 1.0 - nx.ACOS_EPS))


def arcface_target(cos_y, margin, easy_margin=False):
    """Target logit cos(θ_y + m) with insightface's fallback that keeps it monotone in θ_y.

    cos(θ + m) increases again once θ + m > π. Like insightface (arcface_torch/losses.py), for
    θ > π - m (cos θ <= cos(π - m)) the target becomes cos θ - m·sin(m), which is below -1 and keeps
    decreasing with θ: the target logit is non-increasing in θ on all of [0, π] for 0 <= m <= π/2.
    With `easy_margin=True` the margin only applies where cos θ > 0 (insightface's easy margin).
    """
    margin = float(margin)
    phi = ops.cos(theta_of(cos_y) + margin)
    if easy_margin:
        return ops.where(cos_y > 0.0, phi, cos_y)
    return ops.where(cos_y > math.cos(math.pi - margin), phi, cos_y - margin * math.sin(margin))


def base_config(loss):
    """The keras.losses.Loss part of a config (name, reduction, dtype)."""
    cfg = keras.losses.Loss.get_config(loss)
    cfg["dtype"] = loss.dtype
    return cfg


# --- ArcFace --------------------------------------------------------------------------------------

ARCFACE_MAX_MARGIN = math.pi / 2  # above π/2 the fallback below cos θ - m sin m is no longer below -1


def arcface_loss(y_true, cos_theta, scale=64.0, margin=0.5, easy_margin=False):
    """Per-sample ArcFace loss on cos θ scores.

        L = -log( e^{s·ψ(θ_y)} / (e^{s·ψ(θ_y)} + Σ_{j≠y} e^{s·cos θ_j}) ),
        ψ(θ) = cos(θ + m) for θ <= π - m, else cos θ - m·sin m   (monotone fallback, insightface).

    Args:
        y_true: int labels [B] (or [B, 1]; floats are cast back to int).
        cos_theta: cos θ [B, K] in [-1, 1] (e.g. the output of `zoo.layers.CosineHead`).
        scale: logit scale s > 0 (paper: 64).
        margin: additive angular margin m in [0, π/2] (paper: 0.5).
        easy_margin: apply the margin only where cos θ_y > 0 (insightface's `easy_margin`).

    Returns:
        [B] losses (float32).
    """
    cos = ops.cast(cos_theta, "float32")
    k = num_classes_of(cos, "arcface_loss")
    labels = int_labels(y_true, k, "arcface_loss")
    onehot = ops.one_hot(labels, k, dtype="float32")
    cos_y = ops.sum(cos * onehot, axis=-1)
    target = arcface_target(cos_y, margin, easy_margin)
    logits = float(scale) * (cos + onehot * ops.expand_dims(target - cos_y, -1))
    return poison_invalid(softmax_cross_entropy(logits, onehot), labels, k)


@keras.saving.register_keras_serializable(package="zoo")
class ArcFaceLoss(keras.losses.Loss):
    """ArcFace (additive angular margin) loss on cos θ scores.

    Computes, per sample, softmax cross-entropy on the logits s·cos θ_j (j ≠ y) and s·cos(θ_y + m) for
    the target, where for θ_y > π - m the target is cos θ_y - m·sin m (so the target logit stays
    monotone in θ_y). θ = arccos of the cosine clipped to ±(1 - ACOS_EPS), which keeps the gradient
    finite at cos θ = ±1. At m = 0 this is scaled softmax cross-entropy on cos θ.

    Args:
        scale: logit scale s > 0. Default 64 (Deng et al.; insightface).
        margin: additive angular margin m in [0, π/2]. Default 0.5 (Deng et al.).
        easy_margin: margin only where cos θ_y > 0 instead of the monotone fallback. Default False.
        reduction, name, dtype: as `keras.losses.Loss` (dtype defaults to float32).

    Example:
        >>> head = zoo.layers.CosineHead(10)
        >>> model.compile(optimizer="adam", loss=zoo.losses.ArcFaceLoss(scale=64.0, margin=0.5),
        ...               metrics=["sparse_categorical_accuracy"])

    Reference:
        Deng, Guo, Xue, Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
        CVPR 2019; insightface `recognition/arcface_torch/losses.py` (threshold cos(π - m) and the
        fallback cos θ - m·sin m).

    Departures from the reference code:
        The loss takes cos θ from a separate head (`zoo.layers.CosineHead`) instead of owning the
        weights, so one head serves every margin loss. Gradients flow through the margin term (no
        `torch.no_grad` detachment as in OpenSphere's re-implementation).
    """

    def __init__(self, scale=64.0, margin=0.5, easy_margin=False, reduction="sum_over_batch_size",
                 name="arcface_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.scale = check_positive(scale, "scale", "ArcFaceLoss")
        self.margin = check_range(margin, "margin", "ArcFaceLoss", 0.0, ARCFACE_MAX_MARGIN, hi_text="π/2")
        self.easy_margin = bool(easy_margin)

    def call(self, y_true, y_pred):
        return arcface_loss(y_true, y_pred, self.scale, self.margin, self.easy_margin)

    def get_config(self):
        return {**base_config(self), "scale": self.scale, "margin": self.margin,
                "easy_margin": self.easy_margin}
