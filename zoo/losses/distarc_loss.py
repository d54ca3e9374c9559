"""DistArc loss (HyperSpaceX): angular margin + radial term on the output of `zoo.layers.DistArcHead`.

The pure function `distarc_loss` does the work; `DistArcLoss` is the thin Keras wrapper. The packed
layout of the head's output is read with the head's public `zoo.layers.DistArcHead.unpack`.
"""

import keras
from keras import ops

from zoo._checks import check_choice, check_positive, check_range
from zoo.layers.distarc_head import DistArcHead
from zoo.losses._common import (
    ARCFACE_MAX_MARGIN,
    arcface_target,
    check_distarc_output,
    check_scores,
    int_labels,
    poison_invalid,
    take_target,
    target_cross_entropy,
)
from zoo.losses.function_loss import FunctionLoss

__all__ = ["DistArcLoss"]

FORMS = ("paper", "code")


def distarc_logits(labels, delta, cos_theta, cos_phi, scale=1.0, margin=0.5, lam=0.005, use_cos_phi=True,
                   form="paper"):
    """(other logits [B, K], target logit [B], δ_y [B]) of the DistArc softmax; see `distarc_loss`.

    The other logits are s·cos θ_j - λ·δ_j for every column; the target logit replaces the label's."""
    cos_y = take_target(cos_theta, labels)
    delta_y = take_target(delta, labels)
    angular_y = arcface_target(cos_y, margin)
    if use_cos_phi:
        angular_y = angular_y + take_target(cos_phi, labels)
    target = float(scale) * angular_y
    if form == "paper":
        target = target - float(lam) * delta_y
    others = float(scale) * cos_theta - float(lam) * delta
    return others, target, delta_y


def distarc_loss(y_true, y_pred, scale=1.0, margin=0.5, lam=0.005, use_cos_phi=True, form="paper"):
    """Per-sample DistArc loss on the `DistArcHead` output [B, 3K+1].

    Paper form (`form="paper"`), with A = s·(cos(θ_y + m) + cos φ_y) - λ·δ_y:

        L = -log( e^{A} / (e^{A} + Σ_{j≠y} e^{s·cos θ_j - λ·δ_j}) )

    Released-code form (`form="code"`, what the released `train_objects.py` computes), the target logit
    without -λδ_y plus a pull term:

        L = CE(z, y) + λ·δ_y,  z_y = s·(cos(θ_y + m) [+ cos φ_y]),  z_j = s·cos θ_j - λ·δ_j.

    cos(θ_y + m) uses ArcFace's monotone fallback cos θ_y - m·sin m for θ_y > π - m (the released code
    has none). `use_cos_phi=False` drops cos φ_y, `lam=0` drops δ: the poster's ablation rows.

    Args:
        y_true: int labels [B] (or [B, 1]).
        y_pred: the `zoo.layers.DistArcHead` output [B, 3K+1].
        scale: s > 0 on the angular terms (paper: none, i.e. 1; released code: 2).
        margin: additive angular margin m in [0, π/2] (0.5 in paper and code).
        lam: λ >= 0 on δ (0.005 in the code).
        use_cos_phi: add cos φ_y to the target (paper: yes; released code: computed, never used).
        form: "paper" or "code".

    Returns:
        [B] losses (float32).

    Raises:
        ValueError: y_pred not [B, 3K+1] (static); where the values are concrete, a last column that is not
            the head's -Q < -1 (e.g. plain cosines, whose width 3K+1 would be misread as K classes).
    """
    check_choice(form, "form", FORMS, "distarc_loss")
    y_pred = ops.cast(y_pred, "float32")
    check_scores(y_pred, "distarc_loss", "the zoo.layers.DistArcHead output [B, 3K+1]", min_width=4)
    delta, cos_theta, cos_phi = DistArcHead.unpack(y_pred)
    check_distarc_output(y_pred, "distarc_loss")
    k = int(delta.shape[-1])
    labels = int_labels(y_true, k, "distarc_loss")
    others, target, delta_y = distarc_logits(labels, delta, cos_theta, cos_phi, scale, margin, lam, use_cos_phi,
                                             form)
    per_sample = target_cross_entropy(others, target, labels)
    if form == "code":
        per_sample = per_sample + float(lam) * delta_y
    return poison_invalid(per_sample, labels, k)


@keras.saving.register_keras_serializable(package="zoo")
class DistArcLoss(FunctionLoss):
    """DistArc loss of HyperSpaceX on the output of `zoo.layers.DistArcHead`.

    Paper form (default): softmax cross-entropy with the target logit
    A = s·(cos(θ_y + m) + cos φ_y) - λ·δ_y and the other logits s·cos θ_j - λ·δ_j, where
    δ_j = ‖x - r_j·ŵ_j‖² and cos φ_y is the angle at the target proxy (see `DistArcHead`). With s = 1
    this is the paper's Eq. 1 with the angular terms grouped (cos(θ_y + m) + cos φ_y) and the radial
    term -λ·δ_j on every logit. `form="code"` gives what the released
    `train_objects.py` computes: CE(z, y) + λ·δ_y with z_y = s·cos(θ_y + m) (no -λδ_y in the target),
    z_j = s·cos θ_j - λ·δ_j. Predictions (argmax of the head output) are the nearest radial proxy.

    Ablation rows of the poster: cos θ only (`lam=0, use_cos_phi=False`), + cos φ (`lam=0`),
    + δ (`use_cos_phi=False`), + both (default).

    Behaviour worth knowing: softmax cross-entropy only sees logit differences, so in the paper form
    λδ_y acts relative to the other classes' λδ_j. Moving x radially outward along ŵ_y raises
    δ_j - δ_y by 2(r_y - r_j·cos α_j) per unit, which is positive for the outermost class, so that
    class drifts beyond its sphere (prediction stays correct: its proxy is still the nearest). The
    code form's extra +λδ_y is an absolute pull onto the proxy and keeps points on their spheres.

    Args:
        scale: s > 0 on the angular terms. Default 1 (the paper's formula has no scale; the released
            objects script uses 2).
        margin: additive angular margin m in [0, π/2]. Default 0.5.
        lam: λ >= 0 on the radial term. Default 0.005 (released code).
        use_cos_phi: include cos φ_y in the target logit. Default True (paper).
        form: "paper" (default) or "code".
        reduction, name, dtype: as `keras.losses.Loss`.

    Example:
        >>> head = zoo.layers.DistArcHead(10)
        >>> model.compile(optimizer="adam", loss=zoo.losses.DistArcLoss(margin=0.5, lam=0.005),
        ...               metrics=["sparse_categorical_accuracy"])   # argmax = nearest proxy

    Reference:
        Chiranjeev, Dosi, Thakral, Vatsa, Singh, "HyperSpaceX: Radial and Angular Exploration of
        HyperSpherical Dimensions", ECCV 2024; IAB-IITJ/HyperSpaceX `train_objects.py`.

    Departures from the reference code:
        The margin is the constant m (the released loop passes the epoch index as m, so m = 0, 1, 2 ...
        rad by epoch: not reproduced). The target uses ArcFace's monotone fallback past θ + m > π (the
        code has none). δ and cos φ come from the head in closed form (no [B, K, d] tensor). cos φ is
        optional and on by default (the code computes it and never uses it). One radius set serves
        δ, φ and prediction (the code uses three).
    """

    fn = staticmethod(distarc_loss)

    def __init__(self, scale=1.0, margin=0.5, lam=0.005, use_cos_phi=True, form="paper",
                 reduction="sum_over_batch_size", name="distarc_loss", dtype=None):
        owner = "DistArcLoss"
        super().__init__(
            reduction=reduction, name=name, dtype=dtype,
            scale=check_positive(scale, "scale", owner),
            margin=check_range(margin, "margin", owner, 0.0, ARCFACE_MAX_MARGIN, hi_text="π/2"),
            lam=check_range(lam, "lam", owner, 0.0, float("inf"), hi_text="∞"),
            use_cos_phi=bool(use_cos_phi),
            form=check_choice(form, "form", FORMS, owner),
        )
