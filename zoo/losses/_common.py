"""Plumbing shared by the classification losses of `zoo.losses` (private: import it from `zoo.losses`
modules only).

- labels: `num_classes_of`, `int_labels` (range check on concrete values), `poison_invalid` (NaN for a
  label outside [0, K) inside a compiled graph, where the values cannot be read);
- the target column: `target_mask` (`iota == label`, [B, K] bool), `take_target` (the label's column,
  [B]), `target_cross_entropy` (softmax cross-entropy of scores whose label column is replaced: the
  margin losses' inner loop, in the form that is fastest on each backend, see below);
- `sparse_softmax_cross_entropy` (the backends' fused kernels, which never build a one-hot matrix);
- angles: `theta_of`, `arcface_target` (ArcFace's target logit cos(θ + m), shared by ArcFace and DistArc);
- `base_config`: the `keras.losses.Loss` part of a config.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from zoo.geometry import numerics as nx

__all__ = [
    "ARCFACE_MAX_MARGIN",
    "arcface_target",
    "base_config",
    "int_labels",
    "num_classes_of",
    "poison_invalid",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
    "take_target",
    "target_cross_entropy",
    "target_mask",
    "theta_of",
]

#: Largest ArcFace margin: above π/2 the fallback cos θ - m·sin m is no longer below -1.
ARCFACE_MAX_MARGIN = math.pi / 2


def num_classes_of(y_pred, owner, columns=None):
    """Static number of classes from the last axis of the scores (raises if it is unknown).

    `columns`, when given, maps the width of the last axis to the number of classes."""
    k = y_pred.shape[-1]
    if k is None:
        raise ValueError(f"{owner}: the number of classes (last axis of y_pred) must be known statically.")
    return int(k) if columns is None else columns(int(k))


def int_labels(y_true, num_classes, owner="loss"):
    """Integer labels [B] from Keras' y_true ([B] or [B, 1], possibly cast to float by Loss.__call__).

    When the labels are concrete (eager TensorFlow, PyTorch, a plain call), labels outside
    [0, num_classes) raise a ValueError. Inside a compiled graph the values cannot be read; there the
    losses turn the loss of such a sample into NaN (see `poison_invalid`) instead of silently using a
    clipped label.
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


def _in_range(labels, num_classes):
    """Labels clipped into [0, K): safe indices for gathers and the fused kernels (which fail or read out
    of bounds on a bad label); the losses turn such samples into NaN afterwards (`poison_invalid`)."""
    return ops.clip(labels, 0, num_classes - 1)


def target_mask(labels, num_classes):
    """[B, K] bool, True in the label's column: `arange(K) == label` (one comparison, no one-hot floats)."""
    return ops.equal(ops.expand_dims(ops.arange(num_classes, dtype="int32"), 0), ops.expand_dims(labels, -1))


def _eager_fused():
    """True where the margin losses use gathers and the fused sparse cross-entropy kernel.

    Measured at B = 256, K = 10,000 (loss forward + backward on one CPU thread): PyTorch runs eagerly, and
    there `torch.nn.functional.cross_entropy` after a gather and a [B]-element scatter of the target
    column is 2.5x faster than a logsumexp built from single ops (and the scatter ~15% faster than a
    [B, K] `where`). TensorFlow (`tf.function`) and JAX (`jit`) fuse the elementwise ops,
    and there `logsumexp(z) - z_y` with a float one-hot is the fastest form (TensorFlow's fused
    sparse-softmax kernel was 1.4x slower on the CPU; JAX's sparse cross-entropy is log-softmax plus a
    one-hot anyway)."""
    return keras.backend.backend() == "torch"


def take_target(scores, labels):
    """The label's column of `scores` [B, K] -> [B] (exact). A label outside [0, K) reads column 0 or
    gives 0, depending on the backend: poison such samples with `poison_invalid`."""
    k = int(scores.shape[-1])
    if _eager_fused():
        return ops.take_along_axis(scores, ops.expand_dims(_in_range(labels, k), -1), axis=-1)[:, 0]
    return ops.sum(scores * ops.one_hot(labels, k, dtype=scores.dtype), axis=-1)


def target_cross_entropy(others, target, labels, others_y=None):
    """Per-sample softmax cross-entropy of the logits z = `others` [B, K] with the label's column replaced
    by `target` [B]:  L = logsumexp(z) - target.

    `others_y` (the label's column of `others`, if the caller has it) saves one pass. No [B, K] tensor is
    built beyond the logits themselves: a [B]-element scatter and the fused kernel on PyTorch, a one-hot update
    z = others + onehot·(target - others_y) that the compiler fuses on TensorFlow and JAX (see
    `_eager_fused` for the measurements). Labels outside [0, K) give a finite placeholder: poison them.
    """
    k = int(others.shape[-1])
    if _eager_fused():
        index = ops.stack([ops.arange(ops.shape(labels)[0], dtype="int32"), _in_range(labels, k)], axis=1)
        return sparse_softmax_cross_entropy(labels, ops.scatter_update(others, index, target))
    onehot = ops.one_hot(labels, k, dtype=others.dtype)
    if others_y is None:
        others_y = ops.sum(others * onehot, axis=-1)
    logits = others + onehot * ops.expand_dims(target - others_y, -1)
    return ops.logsumexp(logits, axis=-1) - target


def sparse_softmax_cross_entropy(labels, logits):
    """Per-sample softmax cross-entropy logsumexp(z) - z_y for int labels [B] and logits [B, K].

    `keras.ops.sparse_categorical_crossentropy(from_logits=True)`, i.e. the backends' fused kernels
    (`tf.nn.sparse_softmax_cross_entropy_with_logits`, `torch.nn.functional.cross_entropy`, JAX's
    log-softmax); labels outside [0, K) are clipped (poison those samples with `poison_invalid`).
    """
    index = _in_range(labels, int(logits.shape[-1]))
    return ops.sparse_categorical_crossentropy(index, logits, from_logits=True)


def softmax_cross_entropy(logits, onehot):
    """Per-sample softmax cross-entropy logsumexp(z) - z_y, for logits [B, K] and a one-hot [B, K].

    The dense form, for soft or packed targets; integer labels use `sparse_softmax_cross_entropy`."""
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
