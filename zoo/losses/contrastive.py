"""Contrastive loss on embeddings over every pair of the batch, any geometry.

The pure function `contrastive_loss` does the work; `ContrastiveLoss` is the thin Keras wrapper.
"""

import keras
from keras import ops

import zoo.geometry
from zoo._checks import check_range
from zoo.losses._mining import batch_labels, distance_config, masked_mean, pair_masks, pairwise
from zoo.losses.function_loss import FunctionLoss

__all__ = ["ContrastiveLoss"]


def contrastive_loss(y_true, y_pred, margin=1.0, distance="euclidean", pos_weight=1.0):
    """Mean over all ordered pairs i != j of  w_p·[y_i = y_j]·d_ij² + [y_i != y_j]·max(m - d_ij, 0)², a scalar.

    Args: see `ContrastiveLoss`. A batch of one sample gives 0.
    """
    labels = batch_labels(y_true, y_pred, "ContrastiveLoss")
    d = pairwise(y_pred, zoo.geometry.get(distance))
    pos, neg = pair_masks(labels)
    per_pair = ops.where(pos, pos_weight * ops.square(d), ops.square(ops.relu(margin - d)))
    return masked_mean(per_pair, ops.logical_or(pos, neg))


@keras.saving.register_keras_serializable(package="zoo")
class ContrastiveLoss(FunctionLoss):
    """Contrastive loss (y_true = int labels [B], y_pred = embeddings [B, d]):

        L = mean_{i != j} ( w_p·[y_i = y_j]·d_ij² + [y_i != y_j]·max(m - d_ij, 0)² )

    over every pair of the batch (the B×B distance matrix of the chosen geometry, masks, no loop).

    Args:
        margin: m >= 0 (default 1.0).
        distance: "euclidean" (default), "cosine" (1 - cos), "sphere", "poincare" or a geometry/config.
        pos_weight: w_p >= 0 (default 1).
        reduction, name, dtype: as `keras.losses.Loss`.

    Example:
        >>> model.compile(optimizer="adam", loss=zoo.losses.ContrastiveLoss(margin=0.5, distance="cosine"))

    Reference:
        Hadsell, Chopra, LeCun, "Dimensionality Reduction by Learning an Invariant Mapping", CVPR 2006.

    Departures from the reference code:
        The exponential-triplet reference has no contrastive loss; pairs are all in-batch pairs (no
        separate pair sampler), averaged over the B(B-1) ordered pairs.
    """

    fn = staticmethod(contrastive_loss)

    def __init__(self, margin=1.0, distance="euclidean", pos_weight=1.0, reduction="sum_over_batch_size",
                 name="contrastive_loss", dtype=None):
        inf = float("inf")
        super().__init__(
            reduction=reduction, name=name, dtype=dtype,
            margin=check_range(margin, "margin", "ContrastiveLoss", 0.0, inf, hi_text="∞"),
            distance=distance_config(distance),
            pos_weight=check_range(pos_weight, "pos_weight", "ContrastiveLoss", 0.0, inf, hi_text="∞"),
        )
