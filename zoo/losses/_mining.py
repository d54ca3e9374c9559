"""In-batch mining shared by the embedding losses (triplet, exponential triplet, contrastive); private.

Everything works with masks over the B×B distance matrix of a geometry (no Python loop over the batch):
`batch_labels` (label checks), `pairwise` (the distance matrix), `pair_masks` (positives, negatives,
anchor stride), `hardest` (hardest positive and negative per anchor), `masked_mean`, and
`distance_config` (the JSON form of a `distance=` argument). Geometry names and aliases ("euclidean",
"cosine", "sphere", "poincare", ...) are resolved by `zoo.geometry.get`.
"""

from __future__ import annotations

from keras import ops

import zoo.geometry

__all__ = ["MASK_FILL", "batch_labels", "distance_config", "hardest", "masked_mean", "pair_masks", "pairwise"]

#: Fill value of masked entries in min/max reductions (distances are always far below it).
MASK_FILL = 1e30


def distance_config(distance):
    """JSON-able form of a `distance=` argument (a name, a `zoo.geometry` geometry or its config dict),
    checked by resolving it with `zoo.geometry.get`; names stay names (as saved in existing configs)."""
    geometry = zoo.geometry.get(distance)
    return distance if isinstance(distance, str) else geometry.get_config()


def batch_labels(y_true, y_pred, owner):
    """Integer labels [B] from y_true of shape [B] or [B, 1]; other shapes raise a ValueError."""
    shape = tuple(y_true.shape)
    emb_shape = tuple(y_pred.shape)
    if len(emb_shape) != 2:
        raise ValueError(f"{owner}: y_pred must be embeddings of shape [B, d]; got shape {emb_shape}.")
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise ValueError(f"{owner}: y_true must be integer labels of shape [B] or [B, 1]; got shape {shape} "
                         "(one-hot labels? pass their argmax).")
    if shape[0] is not None and emb_shape[0] is not None and shape[0] != emb_shape[0]:
        raise ValueError(f"{owner}: y_true has {shape[0]} labels but y_pred has {emb_shape[0]} embeddings.")
    return ops.cast(ops.reshape(y_true, (-1,)), "int32")


def pair_masks(labels, anchor_stride=1):
    """(positive, negative) boolean masks [B, B]: same label without the diagonal, other label.
    With `anchor_stride` s > 1 only rows i with i % s == 0 act as anchors (the reference's layout)."""
    same = ops.equal(ops.expand_dims(labels, 1), ops.expand_dims(labels, 0))
    n = ops.shape(labels)[0]
    idx = ops.arange(n)
    eye = ops.equal(ops.expand_dims(idx, 1), ops.expand_dims(idx, 0))
    pos = ops.logical_and(same, ops.logical_not(eye))
    neg = ops.logical_not(same)
    if anchor_stride > 1:
        rows = ops.expand_dims(ops.equal(ops.mod(idx, anchor_stride), 0), 1)
        pos = ops.logical_and(pos, rows)
        neg = ops.logical_and(neg, rows)
    return pos, neg


def pairwise(y_pred, geometry, squared=False):
    """[B, B] distances of the embeddings in `geometry` (float32); squared on request."""
    x = ops.cast(y_pred, "float32")
    if squared and isinstance(geometry, zoo.geometry.Euclidean) and not geometry.squared:
        return zoo.geometry.get("euclidean", squared=True).pairwise_distance(x, x)
    d = geometry.pairwise_distance(x, x)
    return ops.square(d) if squared else d


def hardest(dist, pos, neg):
    """Per-anchor hardest positive (max d over pos) and hardest negative (min d over neg), and the
    masks of anchors that have any positive / negative. Masked entries never reach the gradient."""
    hp = ops.max(ops.where(pos, dist, -MASK_FILL), axis=1)
    hn = ops.min(ops.where(neg, dist, MASK_FILL), axis=1)
    has_p = ops.any(pos, axis=1)
    has_n = ops.any(neg, axis=1)
    zero = ops.zeros_like(hp)
    return ops.where(has_p, hp, zero), ops.where(has_n, hn, zero), has_p, has_n


def masked_mean(values, mask):
    """Mean of `values` over `mask` (0 when the mask is empty, with a zero gradient)."""
    m = ops.cast(mask, values.dtype)
    return ops.sum(ops.where(mask, values, ops.zeros_like(values))) / ops.maximum(ops.sum(m), 1.0)
