"""Triplet loss on embeddings with in-batch mining (batch-hard, batch-all, semi-hard), any geometry.

The pure function `triplet_loss` does the work; `TripletLoss` is the thin Keras wrapper. The mining
helpers (`zoo.losses._mining`: masks, hardest positive/negative, masked means) are shared with the
exponential triplet loss and the contrastive loss. All mining is vectorised with masks over the B×B
distance matrix (no Python loop over the batch).
"""

import keras
from keras import ops

import zoo.geometry
from zoo._checks import check_choice, check_int, check_range
from zoo.losses._mining import MASK_FILL, batch_labels, distance_config, hardest, masked_mean, pair_masks, pairwise
from zoo.losses.function_loss import FunctionLoss

__all__ = ["TripletLoss"]

MINING = ("batch_hard", "batch_all", "semi_hard")


def triplet_loss(y_true, y_pred, margin=0.2, mining="batch_hard", distance="euclidean", squared=False,
                 anchor_stride=1, center_weight=0.0, center_margin=0.0):
    """Triplet loss with in-batch mining, a scalar.

        batch_hard: L = mean_a max(max_{p} d(a,p) - min_{n} d(a,n) + α, 0)   over anchors with both
        batch_all:  L = mean_{(a,p,n) valid} max(d(a,p) - d(a,n) + α, 0)
        semi_hard:  L = mean_{(a,p)} max(d(a,p) - d(a,n*) + α, 0),  n* = argmin_{n: d(a,n) > d(a,p)} d(a,n)
                    (the negative farthest from a when no such n exists; FaceNet / tfa.losses)
        + center_weight · mean_a max(max_p d(a,p) - center_margin, 0)            (optional)

    Args: see `TripletLoss`.

    Returns:
        scalar float32. A batch with no valid triplet (no positive pair, or a single class) gives a
        documented 0 with zero gradient.
    """
    check_choice(mining, "mining", MINING, "TripletLoss")
    labels = batch_labels(y_true, y_pred, "TripletLoss")
    geometry = zoo.geometry.get(distance)
    dist = pairwise(y_pred, geometry, squared)
    pos, neg = pair_masks(labels, anchor_stride)
    hp, hn, has_p, has_n = hardest(dist, pos, neg)
    if mining == "batch_hard":
        loss = masked_mean(ops.relu(hp - hn + margin), ops.logical_and(has_p, has_n))
    elif mining == "batch_all":
        valid = ops.logical_and(ops.expand_dims(pos, 2), ops.expand_dims(neg, 1))  # [a, p, n]
        t = ops.expand_dims(dist, 2) - ops.expand_dims(dist, 1) + margin
        loss = masked_mean(ops.relu(t), valid)
    else:  # semi_hard
        d_ap = ops.expand_dims(dist, 2)                      # [a, p, 1]
        d_an = ops.expand_dims(dist, 1)                      # [a, 1, n]
        negm = ops.expand_dims(neg, 1)                       # [a, 1, n]
        semi = ops.logical_and(negm, ops.greater(d_an, d_ap))
        semi_min = ops.min(ops.where(semi, d_an, MASK_FILL), axis=2)           # [a, p]
        easiest = ops.max(ops.where(negm, d_an, -MASK_FILL), axis=2)          # [a, 1] -> broadcast
        has_semi = ops.any(semi, axis=2)
        chosen = ops.where(has_semi, semi_min, easiest)
        valid = ops.logical_and(pos, ops.expand_dims(has_n, 1))
        chosen = ops.where(valid, chosen, ops.zeros_like(chosen))
        loss = masked_mean(ops.relu(dist - chosen + margin), valid)
    if center_weight:
        loss = loss + center_weight * masked_mean(ops.relu(hp - center_margin), has_p)
    return loss


@keras.saving.register_keras_serializable(package="zoo")
class TripletLoss(FunctionLoss):
    """Triplet loss on embeddings (y_true = int labels [B], y_pred = embeddings [B, d]).

        L_std = mean_a max(d(a, p) - d(a, n) + α, 0)

    with the positive p and negative n mined inside the batch from the B×B distance matrix of any
    geometry (`zoo.geometry.get(...).pairwise_distance`):

    - ``"batch_hard"``: hardest positive (max d) and hardest negative (min d) per anchor, averaged over
      anchors that have both (Hermans et al.; the exponential-triplet reference's ``standard`` loss);
    - ``"batch_all"``: every valid (a, p, n) triplet, averaged over all of them (a B×B×B tensor:
      batches up to a few hundred);
    - ``"semi_hard"``: for every positive pair, the closest negative farther than the positive
      (FaceNet; the farthest negative when none is), averaged over positive pairs.

    Optional center term (used for the "L_std + L_center" ablation row): center_weight ·
    mean_a max(max_p d(a,p) - center_margin, 0) on the hardest positives.

    Args:
        margin: α >= 0 (default 0.2).
        mining: "batch_hard" (default), "batch_all" or "semi_hard".
        distance: "euclidean" (default, unsquared as the reference), "cosine" (1 - cos), "sphere",
            "poincare" or a `zoo.geometry` geometry / its config dict.
        squared: square the distances (FaceNet's form).
        anchor_stride: only every s-th sample is an anchor (the reference takes one anchor per group
            of P same-class samples: s = P). Default 1: every sample.
        center_weight, center_margin: weight (>= 0) and margin of the optional center term.
        reduction, name, dtype: as `keras.losses.Loss` (the value is already a batch scalar).

    Example:
        >>> loss = zoo.losses.TripletLoss(margin=0.2, mining="batch_hard", distance="cosine")
        >>> model.compile(optimizer="adam", loss=loss)      # model outputs embeddings

    Reference:
        Schroff et al., "FaceNet", CVPR 2015; Hermans, Beyer, Leibe, "In Defense of the Triplet Loss
        for Person Re-Identification", 2017; Urtans et al. ICCDA 2020 (L_std).

    Departures from the reference code:
        Vectorised mask mining instead of per-anchor Python loops; a batch without any valid triplet
        gives 0 (zero gradient) instead of an error. For L_std + L_center the reference uses
        running class centres; here the center term acts on the hardest positives (as its exp13 form).
    """

    fn = staticmethod(triplet_loss)

    def __init__(self, margin=0.2, mining="batch_hard", distance="euclidean", squared=False, anchor_stride=1,
                 center_weight=0.0, center_margin=0.0, reduction="sum_over_batch_size", name="triplet_loss",
                 dtype=None):
        owner = "TripletLoss"
        inf = float("inf")
        super().__init__(
            reduction=reduction, name=name, dtype=dtype,
            margin=check_range(margin, "margin", owner, 0.0, inf, hi_text="∞"),
            mining=check_choice(mining, "mining", MINING, owner),
            distance=distance_config(distance),
            squared=bool(squared),
            anchor_stride=check_int(anchor_stride, "anchor_stride", minimum=1, owner=owner),
            center_weight=check_range(center_weight, "center_weight", owner, 0.0, inf, hi_text="∞"),
            center_margin=float(center_margin),
        )
