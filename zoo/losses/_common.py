"""Plumbing shared by the classification losses of `zoo.losses` (private: import it from `zoo.losses`
modules only).

- labels: `num_classes_of`, `int_labels` (range check on concrete values), `poison_invalid` (NaN for a
  label outside [0, K) inside a compiled graph, where the values cannot be read);
- the head a loss expects: `check_scores` (rank 2 and width, static), `check_cosines`, `check_center_output`,
  `check_distarc_output` (value checks where the values are concrete: eager calls, PyTorch's eager fit);
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
    "check_center_output",
    "check_cosines",
    "check_distarc_output",
    "check_scores",
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


#: Heads named in the messages of the losses that received the wrong head's output.
COSINE_HEADS = "a zoo.layers.CosineHead (or PrototypeHead) output: cosines [B, K] in [-1, 1], K >= 2"
WRONG_HEAD_HINT = ("(a zoo.layers.DistArcHead output needs zoo.losses.DistArcLoss, a zoo.layers.CenterHead output "
                   "zoo.losses.CenterLoss, plain logits keras.losses.SparseCategoricalCrossentropy(from_logits=True))")
# Cosines from the heads are clipped to [-1, 1]; allow for rounding in user-built heads.
_COSINE_TOL = 1e-3


def check_scores(y_pred, owner, expects, min_width=2):
    """Static check (shapes known at trace time, free): y_pred is [B, W] with a known W >= min_width.

    `expects` names the head output the loss needs (used in the message)."""
    shape = tuple(y_pred.shape)
    if len(shape) != 2:
        hint = " (one value per sample: the scores need a class axis)" if len(shape) == 1 else ""
        raise ValueError(f"{owner}: y_pred must be {expects}; got shape {shape}, rank {len(shape)}{hint}.")
    if shape[-1] is not None and int(shape[-1]) < min_width:
        raise ValueError(f"{owner}: y_pred must be {expects}; got {shape[-1]} column(s), shape {shape} (with one "
                         "class the softmax is 1 and the loss is 0 whatever the input).")


def _in_symbolic_scope():
    """True while Keras infers output shapes (`compute_output_spec`): on PyTorch it runs the function on
    placeholder tensors filled with ones, whose values mean nothing."""
    try:
        from keras.src.backend.common.symbolic_scope import in_symbolic_scope
    except ImportError:  # pragma: no cover - Keras internals moved
        return False
    return in_symbolic_scope()


def _concrete(x):
    """numpy value of x when it is concrete (eager call), None inside a compiled graph, a trace or Keras' shape
    inference."""
    if _in_symbolic_scope():
        return None
    try:
        return np.asarray(ops.convert_to_numpy(x))
    except Exception:  # symbolic tensor or tracer
        return None


def check_cosines(cos, owner):
    """Where the values are concrete: every score lies in [-1, 1] (a cosine), else a ValueError naming the head
    the loss expects. One max-reduction; nothing inside a compiled graph."""
    peak = _concrete(ops.max(ops.abs(cos)))
    if peak is not None and not peak <= 1.0 + _COSINE_TOL:
        raise ValueError(f"{owner}: y_pred must be {COSINE_HEADS}; got |values| up to {float(peak):.4g}, so these "
                         f"are not cosines {WRONG_HEAD_HINT}.")


def check_center_output(scores, extra, owner):
    """Where the values are concrete: the last column is CenterHead's centre term e = min(scores) - 1 - d with
    d = ‖x - c_y‖² >= 0, so min(scores) - 1 - e >= 0 (up to rounding); plain logits break it."""
    low = ops.min(scores, axis=-1)
    gap = _concrete(ops.min((low - 1.0 - extra) / (1.0 + ops.abs(low) + ops.abs(extra))))
    if gap is not None and not gap >= -1e-4:
        raise ValueError(f"{owner}: y_pred must be the zoo.layers.CenterHead output [B, W+1] = [scores | centre "
                         "term]; its last column is not a centre term (it implies a negative squared distance "
                         "to the centre): plain classifier scores have no centre column. Put a CenterHead on "
                         "the embeddings, or use the base loss alone.")


def check_distarc_output(y_pred, owner):
    """Where the values are concrete: the last column of a DistArcHead output is -Q < -1 (Q = (‖x‖ + r_max + 1)²)."""
    top = _concrete(ops.max(y_pred[..., -1]))
    if top is not None and not top < -1.0:
        k = (int(y_pred.shape[-1]) - 1) // 3
        raise ValueError(f"{owner}: y_pred must be the zoo.layers.DistArcHead output [B, 3K+1] = [-δ | -Q(2+cos θ) "
                         f"| -Q(2+cos φ) | -Q] (its last column -Q is below -1); got a last column up to "
                         f"{float(top):.4g}. A width of {int(y_pred.shape[-1])} was read as K = {k} classes: plain "
                         "cosine scores need a cosine loss (zoo.losses.ArcFaceLoss, CosFaceLoss, ...).")


def int_labels(y_true, num_classes, owner="loss"):
    """Integer labels [B] from Keras' y_true ([B] or [B, 1], possibly cast to float by Loss.__call__).

    When the labels are concrete (eager TensorFlow, PyTorch, a plain call), labels outside
    [0, num_classes) and fractional labels (2.5, which the cast would truncate) raise a ValueError naming
    the bad values. Inside a compiled graph the values cannot be read; there the
    losses turn the loss of such a sample into NaN (see `poison_invalid`) instead of silently using a
    clipped label.
    """
    flat = ops.reshape(y_true, (-1,))
    labels = ops.cast(flat, "int32")
    values = _concrete(flat)
    if values is not None and values.size:
        if values.dtype.kind == "f":
            fractional = values[np.isfinite(values) & (values != np.round(values))]
            if fractional.size or not np.all(np.isfinite(values)):
                bad = fractional[:5].tolist() if fractional.size else values[~np.isfinite(values)][:5].tolist()
                raise ValueError(f"{owner}: labels must be integer class ids in [0, {num_classes}); got non-integer "
                                 f"value(s) {bad} (they would be truncated).")
        lo, hi = values.min(), values.max()
        if lo < 0 or hi >= num_classes:
            bad = np.unique(values[(values < 0) | (values >= num_classes)])
            raise ValueError(
                f"{owner}: labels must be integers in [0, num_classes) = [0, {num_classes}); "
                f"got values in [{int(lo)}, {int(hi)}] (out of range: {bad[:5].astype(np.int64).tolist()})."
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
