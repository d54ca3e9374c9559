"""SphereFace (A-Softmax): multiplicative angular margin on cos θ scores.

The pure function `sphereface_loss` does the work; `SphereFaceLoss` is the thin Keras wrapper (a
`zoo.losses.MarginLoss` whose hook is `sphereface_psi`).
"""

import math

import keras
from keras import ops

from zoo._checks import check_range
from zoo.losses._common import theta_of
from zoo.losses.margin_loss import MarginLoss, margin_softmax_loss

__all__ = ["SphereFaceLoss"]

SPHEREFACE_MAX_MARGIN = 8.0  # cos(mθ) oscillates m/2 times on [0, π]; beyond ~8 the loss is untrainable


def sphereface_psi(cos_theta, margin):
    """ψ(θ) = (-1)^k cos(mθ) - 2k for θ in [kπ/m, (k+1)π/m], k = floor(mθ/π).

    The monotone (decreasing) extension of cos(mθ) to all of [0, π] from the SphereFace paper;
    continuous at every θ = kπ/m. θ = arccos(cos) with the cosine clipped to ±(1 - ACOS_EPS).
    """
    m_theta = float(margin) * theta_of(cos_theta)
    k = ops.floor(m_theta / math.pi)
    sign = 1.0 - 2.0 * ops.mod(k, 2.0)  # (-1)^k
    return sign * ops.cos(m_theta) - 2.0 * k


def sphereface_loss(y_true, cos_theta, scale=30.0, margin=1.5):
    """Per-sample SphereFace loss on cos θ scores (normalised features, "hard feature normalisation").

        L = -log( e^{s·ψ(θ_y)} / (e^{s·ψ(θ_y)} + Σ_{j≠y} e^{s·cos θ_j}) ),  ψ as in `sphereface_psi`.

    Args:
        y_true: int labels [B] (or [B, 1]).
        cos_theta: cos θ [B, K] (e.g. the output of `zoo.layers.CosineHead`).
        scale: logit scale s > 0 (OpenSphere / SphereFace-R: 30).
        margin: multiplicative angular margin m in [1, 8]; m = 1 is no margin (OpenSphere: 1.5;
            the original A-Softmax with unnormalised features: 4).

    Returns:
        [B] losses (float32).
    """
    return margin_softmax_loss(y_true, cos_theta, lambda cos_y: sphereface_psi(cos_y, margin), scale,
                               "sphereface_loss")


@keras.saving.register_keras_serializable(package="zoo")
class SphereFaceLoss(MarginLoss):
    """SphereFace / A-Softmax (multiplicative angular margin) loss on cos θ scores.

    Softmax cross-entropy on s·cos θ_j (j ≠ y) and s·ψ(θ_y) for the target, with the monotone
    extension ψ(θ) = (-1)^k cos(mθ) - 2k, θ ∈ [kπ/m, (k+1)π/m]. The identity margin is m = 1
    (ψ = cos θ): then this is scaled softmax cross-entropy on cos θ.

    Args:
        scale: logit scale s > 0. Default 30 (OpenSphere's SphereFace head, SphereFace-R with hard
            feature normalisation).
        margin: multiplicative margin m in [1, 8] (need not be an integer). Default 1.5 (OpenSphere).
        reduction, name, dtype: as `keras.losses.Loss`.

    Example:
        >>> model.compile(optimizer="adam", loss=zoo.losses.SphereFaceLoss(scale=30.0, margin=1.5))

    Reference:
        Liu et al., "SphereFace: Deep Hypersphere Embedding for Face Recognition", CVPR 2017 (ψ and
        its monotone extension; m = 4 with unnormalised features and a softmax-annealing λ);
        Liu et al., "SphereFace Revived: Unifying Hyperspherical Face Recognition", TPAMI 2022;
        OpenSphere `model/head/sphereface.py` (s = 30, m = 1.5, k = floor(mθ/π)).

    Departures from the reference code:
        Features are normalised (the loss sees cos θ from `zoo.layers.CosineHead`) and scaled by s, as
        in SphereFace-R / OpenSphere, instead of the original's ‖x‖·ψ(θ) with λ-annealing. Gradients
        flow through ψ (OpenSphere detaches ψ - cos θ, its "characteristic gradient detachment").
    """

    def __init__(self, scale=30.0, margin=1.5, reduction="sum_over_batch_size", name="sphereface_loss",
                 dtype=None):
        super().__init__(scale=scale, reduction=reduction, name=name, dtype=dtype,
                         margin=check_range(margin, "margin", "SphereFaceLoss", 1.0, SPHEREFACE_MAX_MARGIN))

    def target_logit(self, cos_y):
        """ψ(θ_y) = (-1)^k cos(mθ_y) - 2k (see `sphereface_psi`)."""
        return sphereface_psi(cos_y, self.margin)
