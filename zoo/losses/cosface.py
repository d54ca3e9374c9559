"""CosFace (large margin cosine loss / AM-Softmax) on cos θ scores.

The pure function `cosface_loss` does the work; `CosFaceLoss` is the thin Keras wrapper (a
`zoo.losses.MarginLoss` whose hook is cos θ_y - m).
"""

import keras

from zoo._checks import check_range
from zoo.losses.margin_loss import MarginLoss, margin_softmax_loss

__all__ = ["CosFaceLoss"]


def cosface_loss(y_true, cos_theta, scale=64.0, margin=0.35):
    """Per-sample CosFace loss on cos θ scores.

        L = -log( e^{s(cos θ_y - m)} / (e^{s(cos θ_y - m)} + Σ_{j≠y} e^{s·cos θ_j}) )

    Args:
        y_true: int labels [B] (or [B, 1]; floats are cast back to int).
        cos_theta: cos θ [B, K] (e.g. the output of `zoo.layers.CosineHead`).
        scale: logit scale s > 0 (paper: 64).
        margin: additive cosine margin m in [0, 1] (paper: 0.35).

    Returns:
        [B] losses (float32).
    """
    margin = float(margin)
    return margin_softmax_loss(y_true, cos_theta, lambda cos_y: cos_y - margin, scale, "cosface_loss")


@keras.saving.register_keras_serializable(package="zoo")
class CosFaceLoss(MarginLoss):
    """CosFace (additive cosine margin) loss on cos θ scores.

    Softmax cross-entropy on the logits s·(cos θ_j - m·[j = y]). At m = 0 this is scaled softmax
    cross-entropy on cos θ (NormFace). The target logit is linear in cos θ, so it is monotone in θ and
    its gradient is finite everywhere, including cos θ = ±1.

    Args:
        scale: logit scale s > 0. Default 64 (Wang et al. 2018).
        margin: additive cosine margin m in [0, 1]. Default 0.35 (Wang et al. 2018).
        reduction, name, dtype: as `keras.losses.Loss`.

    Example:
        >>> model.compile(optimizer="adam", loss=zoo.losses.CosFaceLoss(scale=64.0, margin=0.35))

    Reference:
        Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face Recognition", CVPR 2018;
        Wang, Cheng, Liu, Liu, "Additive Margin Softmax for Face Verification", IEEE SPL 2018.
        Defaults as in OpenSphere's `model/head/cosface.py` (s = 64, m = 0.35).

    Departures from the reference code:
        The loss takes cos θ from `zoo.layers.CosineHead` rather than owning the class weights.
    """

    def __init__(self, scale=64.0, margin=0.35, reduction="sum_over_batch_size", name="cosface_loss",
                 dtype=None):
        super().__init__(scale=scale, reduction=reduction, name=name, dtype=dtype,
                         margin=check_range(margin, "margin", "CosFaceLoss", 0.0, 1.0))

    def target_logit(self, cos_y):
        """cos θ_y - m."""
        return cos_y - self.margin
