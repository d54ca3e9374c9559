"""ArcFace: additive angular margin softmax on cos θ scores.

The pure function `arcface_loss` does the work; `ArcFaceLoss` is the thin Keras wrapper (a
`zoo.losses.MarginLoss` whose hook is `arcface_target`).
"""

import keras

from zoo._checks import check_range
from zoo.losses._common import ARCFACE_MAX_MARGIN, arcface_target
from zoo.losses.margin_loss import MarginLoss, margin_softmax_loss

__all__ = ["ArcFaceLoss"]


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
    return margin_softmax_loss(y_true, cos_theta, lambda cos_y: arcface_target(cos_y, margin, easy_margin),
                               scale, "arcface_loss")


@keras.saving.register_keras_serializable(package="zoo")
class ArcFaceLoss(MarginLoss):
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
        super().__init__(
            scale=scale, reduction=reduction, name=name, dtype=dtype,
            margin=check_range(margin, "margin", "ArcFaceLoss", 0.0, ARCFACE_MAX_MARGIN, hi_text="π/2"),
            easy_margin=bool(easy_margin),
        )

    def target_logit(self, cos_y):
        """cos(θ_y + m), monotone fallback past θ_y = π - m (see `arcface_target`)."""
        return arcface_target(cos_y, self.margin, self.easy_margin)
