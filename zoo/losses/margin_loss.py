"""`MarginLoss`: the base of the margin softmax losses on cos θ scores (ArcFace, CosFace, SphereFace)."""

from __future__ import annotations

from typing import Any, Callable

import keras
from keras import ops

from zoo._checks import check_positive
from zoo.losses._common import (
    COSINE_HEADS,
    check_cosines,
    check_scores,
    int_labels,
    num_classes_of,
    poison_invalid,
    take_target,
    target_cross_entropy,
)
from zoo.losses.function_loss import FunctionLoss

__all__ = ["MarginLoss"]


def margin_softmax_loss(y_true, cos_theta, target_logit: Callable, scale: float = 1.0,
                        owner: str = "margin_softmax_loss"):
    """Per-sample margin softmax loss on cos θ scores, for any target-logit transform ψ.

        L = -log( e^{s·ψ(cos θ_y)} / (e^{s·ψ(cos θ_y)} + Σ_{j≠y} e^{s·cos θ_j}) )

    Built for speed at many classes: the target column is read ([B]), transformed, and only the [B]
    target logit enters the cross-entropy directly (L = logsumexp(z) - s·ψ); the [B, K] logits are built
    once, in the form that is fastest on each backend (`zoo.losses._common.target_cross_entropy`).

    Args:
        y_true: int labels [B] (or [B, 1]; floats are cast back to int).
        cos_theta: cos θ [B, K] (e.g. the output of `zoo.layers.CosineHead`); computed in float32.
        target_logit: ψ, a function of cos θ_y [B] (float32) returning the target logit before scaling [B].
        scale: logit scale s > 0.
        owner: name used in error messages.

    Returns:
        [B] losses (float32). Labels outside [0, K) raise a ValueError when their values are concrete and
        give NaN inside a compiled graph. Scores that are not [B, K >= 2] raise a ValueError (static shapes);
        where the values are concrete, scores outside [-1, 1] (another head's output: DistArc, centre term,
        logits) raise one too.
    """
    cos = ops.cast(cos_theta, "float32")
    check_scores(cos, owner, COSINE_HEADS)
    k = num_classes_of(cos, owner)
    check_cosines(cos, owner)
    labels = int_labels(y_true, k, owner)
    s = float(scale)
    cos_y = take_target(cos, labels)
    per_sample = target_cross_entropy(s * cos, s * target_logit(cos_y), labels, others_y=s * cos_y)
    return poison_invalid(per_sample, labels, k)


@keras.saving.register_keras_serializable(package="zoo")
class MarginLoss(FunctionLoss):
    """Base of the margin softmax losses: scaled softmax cross-entropy on cos θ with a transformed target.

        L = -log( e^{s·ψ(cos θ_y)} / (e^{s·ψ(cos θ_y)} + Σ_{j≠y} e^{s·cos θ_j}) )

    A method is one hook, `target_logit(cos_y) -> ψ(cos θ_y)`: ArcFace ψ = cos(θ + m), CosFace
    ψ = cos θ - m, SphereFace ψ = (-1)^k cos(mθ) - 2k. `call` and `get_config` are written once
    (`FunctionLoss`): the subclass checks its own arguments and passes them on as keyword arguments,
    which become attributes (`self.margin`) and config keys. The identity hook gives NormFace (scaled
    softmax cross-entropy on cos θ).

    Args:
        scale: logit scale s > 0.
        reduction, name, dtype: as `keras.losses.Loss`.
        **kwargs: the subclass's checked hook arguments (stored, returned by `get_config`).

    Example:
        >>> @keras.saving.register_keras_serializable(package="my")
        ... class HalfMargin(zoo.losses.MarginLoss):
        ...     def __init__(self, scale=30.0, margin=0.2, **kw):
        ...         super().__init__(scale=scale, margin=float(margin), **kw)
        ...     def target_logit(self, cos_y):
        ...         return cos_y - 0.5 * self.margin
        >>> model.compile(optimizer="adam", loss=HalfMargin())       # model ends in zoo.layers.CosineHead

    Reference:
        Wang et al., "NormFace", ACM MM 2017 (scaled cosine softmax); Liu et al., "SphereFace Revived",
        TPAMI 2022 (the unified view of the margins as target-logit transforms).

    Departures from the reference code:
        The scores come from a separate head (`zoo.layers.CosineHead`) instead of the loss owning the
        class weights, so one head serves every margin loss; gradients flow through ψ (no detachment).
    """

    def __init__(self, scale: float = 64.0, reduction: str = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **kwargs: Any):
        scale = check_positive(scale, "scale", type(self).__name__)
        super().__init__(reduction=reduction, name=name, dtype=dtype, scale=scale, **kwargs)

    fn = staticmethod(margin_softmax_loss)

    def target_logit(self, cos_y):
        """ψ(cos θ_y) [B] from the target cosines [B] (float32), before the scale s: the one hook."""
        raise NotImplementedError(f"{type(self).__name__} must implement `target_logit(cos_y)`.")

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, self.target_logit, self.scale, self.name)
