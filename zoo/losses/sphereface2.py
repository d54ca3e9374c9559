"""SphereFace2: K one-vs-all binary classifications on the hypersphere (SphereFace2-C).

The pure function `sphereface2_loss` does the work; `SphereFace2Loss` is the thin Keras wrapper.
"""

import math

import keras
from keras import ops

from zoo._checks import check_positive, check_range
from zoo.losses._common import (
    COSINE_HEADS,
    check_cosines,
    check_scores,
    int_labels,
    num_classes_of,
    poison_invalid,
    target_mask,
)
from zoo.losses.function_loss import FunctionLoss

__all__ = ["SphereFace2Loss"]


def sphereface2_bias(num_classes, lam=0.7, scale=40.0, margin=0.4, t=3.0):
    """The bias b that SphereFace2-C starts from (OpenSphere's initialisation, closed form).

    With z = λ / ((1 - λ)(K - 1)), a_y = r(2·0.5^t - 1 - m), a_i = r(2·0.5^t - 1 + m):
        b = log(2z) - a_i - log(1 - z + sqrt((1 - z)^2 + 4z·e^{a_y - a_i})).
    """
    k = int(num_classes)
    if k < 2:
        raise ValueError(f"SphereFace2: needs num_classes >= 2; got {k}.")
    z = lam / ((1.0 - lam) * (k - 1.0))
    base = 2.0 * 0.5 ** t - 1.0
    a_y, a_i = scale * (base - margin), scale * (base + margin)
    tmp = (1.0 - z) ** 2 + 4.0 * z * math.exp(a_y - a_i)
    return math.log(2.0 * z) - a_i - math.log(1.0 - z + math.sqrt(tmp))


def similarity_adjust(cos, t):
    """g(cos θ) = 2((cos θ + 1)/2)^t - 1 (SphereFace2's similarity adjustment; t = 1 is the identity)."""
    if float(t) == 1.0:
        return cos
    return 2.0 * ops.power(ops.clip((cos + 1.0) * 0.5, 0.0, 1.0), float(t)) - 1.0


def sphereface2_loss(y_true, cos_theta, scale=40.0, margin=0.4, lam=0.7, t=3.0, bias=None, loss_weight=1.0):
    """Per-sample SphereFace2-C loss on cos θ scores.

        z_j = r·(g(cos θ_j) - m) + b   if j = y,     z_j = r·(g(cos θ_j) + m) + b   otherwise,
        L = (w / r)·[ λ·log(1 + e^{-z_y}) + (1 - λ)·Σ_{j≠y} log(1 + e^{z_j}) ],

    with g(c) = 2((c + 1)/2)^t - 1. No softmax: each class is its own binary problem.

    Args:
        y_true: int labels [B] (or [B, 1]).
        cos_theta: cos θ [B, K] (e.g. the output of `zoo.layers.CosineHead`).
        scale: r > 0 (OpenSphere default 40).
        margin: additive margin m in [0, 1] (OpenSphere default 0.4).
        lam: positive/negative balance λ in (0, 1) (paper default 0.7).
        t: similarity-adjustment exponent t >= 1 (paper default 3; t = 1 switches it off).
        bias: the shared bias b; None uses OpenSphere's initial value `sphereface2_bias(K, λ, r, m, t)`.
        loss_weight: w; the paper's Eq. (5) has w = 1, OpenSphere multiplies by lw = 50.

    Returns:
        [B] losses (float32).
    """
    cos = ops.cast(cos_theta, "float32")
    check_scores(cos, "sphereface2_loss", COSINE_HEADS)
    k = num_classes_of(cos, "sphereface2_loss")
    check_cosines(cos, "sphereface2_loss")
    labels = int_labels(y_true, k, "sphereface2_loss")
    is_target = target_mask(labels, k)
    if bias is None:
        bias = sphereface2_bias(k, lam, scale, margin, t)
    r, m = float(scale), float(margin)
    g = similarity_adjust(cos, t)
    z = r * (g + ops.where(is_target, -m, m)) + float(bias)
    terms = ops.where(is_target, float(lam) * ops.softplus(-z), (1.0 - float(lam)) * ops.softplus(z))
    per_sample = (float(loss_weight) / r) * ops.sum(terms, axis=-1)
    return poison_invalid(per_sample, labels, k)


@keras.saving.register_keras_serializable(package="zoo")
class SphereFace2Loss(FunctionLoss):
    """SphereFace2-C: one-vs-all binary classification loss on cos θ scores.

    For each class j a binary logit z_j = r·(g(cos θ_j) ∓ m) + b (minus the margin for the target,
    plus for the others) with the similarity adjustment g(c) = 2((c + 1)/2)^t - 1; the loss is
    (w/r)·[λ·softplus(-z_y) + (1 - λ)·Σ_{j≠y} softplus(z_j)]. Predictions are argmax cos θ (the bias
    is shared by all classes). With t = 1 and m = 0 it is weighted sigmoid cross-entropy on
    r·cos θ + b (it never reduces to softmax cross-entropy: that is the point of the method).

    Args:
        scale: r > 0. Default 40 (OpenSphere `SphereFace2` head; its VGGFace2 configs use 30).
        margin: m in [0, 1]. Default 0.4 (OpenSphere; configs 0.3).
        lam: λ in (0, 1), weight of the positive term. Default 0.7 (paper, "λ = 0.7").
        t: exponent t in [1, 10] of the similarity adjustment (t < 1 would have an infinite slope at
            cos θ = -1). Default 3 (paper and OpenSphere).
        bias: the shared bias b, or None for OpenSphere's initial value for K classes (computed from
            K, λ, r, m, t when the loss first sees the scores).
        loss_weight: w > 0 multiplying the loss. Default 1 (paper Eq. 5; OpenSphere uses lw = 50).
        reduction, name, dtype: as `keras.losses.Loss`.

    Example:
        >>> model.compile(optimizer="adam", loss=zoo.losses.SphereFace2Loss(scale=40.0, margin=0.4))

    Reference:
        Wen, Liu, Weller, Raj, Singh, "SphereFace2: Binary Classification is All You Need for Deep
        Face Recognition", ICLR 2022; OpenSphere `model/head/sphereface2.py` (alpha = 0.7, r = 40,
        m = 0.4, t = 3, lw = 50, bias initialisation) and `config/train/sec31/...sphereface2.yml`.

    Departures from the reference code:
        The bias b is learnable in the paper and in OpenSphere (initialised to the value above). Losses
        in the zoo are stateless and the shared `CosineHead` outputs only cos θ, so b stays at its
        initial value (or the `bias` given); being shared by all classes it never changes predictions,
        only the balance of the binary terms. Only the "C" (additive cosine) margin type is provided;
        OpenSphere's "A" and "M" variants are not. Gradients flow through g (OpenSphere's
        `sphereface2.py` detaches g(cos θ) - cos θ; its `sphereface2c.py` does not).
    """

    fn = staticmethod(sphereface2_loss)

    def __init__(self, scale=40.0, margin=0.4, lam=0.7, t=3.0, bias=None, loss_weight=1.0,
                 reduction="sum_over_batch_size", name="sphereface2_loss", dtype=None):
        owner = "SphereFace2Loss"
        super().__init__(
            reduction=reduction, name=name, dtype=dtype,
            scale=check_positive(scale, "scale", owner),
            margin=check_range(margin, "margin", owner, 0.0, 1.0),
            lam=check_range(lam, "lam", owner, 0.0, 1.0, lo_open=True, hi_open=True),
            t=check_range(t, "t", owner, 1.0, 10.0),
            bias=None if bias is None else check_range(bias, "bias", owner, -math.inf, math.inf),
            loss_weight=check_positive(loss_weight, "loss_weight", owner),
        )
