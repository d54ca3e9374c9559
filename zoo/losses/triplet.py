"""Triplet loss on embeddings with in-batch mining (batch-hard, batch-all, semi-hard), any geometry.

The pure function `triplet_loss` does the work; `TripletLoss` is the thin Keras wrapper. The mining
helpers (`resolve_geometry`, `batch_labels`, `pair_masks`, `hardest`) are shared with the
exponential triplet loss and the contrastive loss. All mining is vectorised with masks over the B×B
distance matrix (no Python loop over the batch).
"""

import keras
from keras import ops

import zoo.geometry
from zoo.losses.arcface import base_config, check_range

__all__ = ["TripletLoss"]

MINING = ("batch_hard", "batch_all", "semi_hard")
_BIG = 1e30  # fill value of masked entries in min/max reductions (distances are always far below it)

# --- shared helpers (used by exponential_triplet.py and contrastive.py) ---------------------------


def resolve_geometry(distance):
    """Geometry object for a distance spec: "euclidean", "cosine" (1 - cos on the sphere), "sphere",
    "poincare", a `zoo.geometry.Geometry` or its config dict."""
    if isinstance(distance, str) and distance.lower() in ("cos", "cosine"):
        return zoo.geometry.get("sphere", distance="cosine")
    return zoo.geometry.get(distance)


def distance_config(distance):
    """JSON-able form of a distance spec (for get_config)."""
    if isinstance(distance, str):
        return distance
    return resolve_geometry(distance).get_config()


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
    hp = ops.max(ops.where(pos, dist, -_BIG), axis=1)
    hn = ops.min(ops.where(neg, dist, _BIG), axis=1)
    has_p = ops.any(pos, axis=1)
    has_n = ops.any(neg, axis=1)
    zero = ops.zeros_like(hp)
    return ops.where(has_p, hp, zero), ops.where(has_n, hn, zero), has_p, has_n


def masked_mean(values, mask):
    """Mean of `values` over `mask` (0 when the mask is empty, with a zero gradient)."""
    m = ops.cast(mask, values.dtype)
    return ops.sum(ops.where(mask, values, ops.zeros_like(values))) / ops.maximum(ops.sum(m), 1.0)


# --- the loss ----------------------------------------------------------------------------------


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
    if mining not in MINING:
        raise ValueError(f"TripletLoss: `mining` must be one of {MINING}; got {mining!r}.")
    labels = batch_labels(y_true, y_pred, "TripletLoss")
    geometry = resolve_geometry(distance)
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
        semi_min = ops.min(ops.where(semi, d_an, _BIG), axis=2)           # [a, p]
        easiest = ops.max(ops.where(negm, d_an, -_BIG), axis=2)          # [a, 1] -> broadcast
        has_semi = ops.any(semi, axis=2)
        chosen = ops.where(has_semi, semi_min, easiest)
        valid = ops.logical_and(pos, ops.expand_dims(has_n, 1))
        chosen = ops.where(valid, chosen, ops.zeros_like(chosen))
        loss = masked_mean(ops.relu(dist - chosen + margin), valid)
    if center_weight:
        loss = loss + center_weight * masked_mean(ops.relu(hp - center_margin), has_p)
    return loss


@keras.saving.register_keras_serializable(package="zoo")
class TripletLoss(keras.losses.Loss):
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

    def __init__(self, margin=0.2, mining="batch_hard", distance="euclidean", squared=False, anchor_stride=1,
                 center_weight=0.0, center_margin=0.0, reduction="sum_over_batch_size", name="triplet_loss",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin = check_range(margin, "margin", "TripletLoss", 0.0, float("inf"), hi_text="∞")
        if mining not in MINING:
            raise ValueError(f"TripletLoss: `mining` must be one of {MINING}; got {mining!r}.")
        self.mining = mining
        resolve_geometry(distance)
        self.distance = distance_config(distance)
        self.squared = bool(squared)
        if int(anchor_stride) < 1:
            raise ValueError(f"TripletLoss: `anchor_stride` must be an int >= 1; got {anchor_stride!r}.")
        self.anchor_stride = int(anchor_stride)
        self.center_weight = check_range(center_weight, "center_weight", "TripletLoss", 0.0, float("inf"),
                                         hi_text="∞")
        self.center_margin = float(center_margin)

    def call(self, y_true, y_pred):
        return triplet_loss(y_true, y_pred, self.margin, self.mining, self.distance, self.squared,
                            self.anchor_stride, self.center_weight, self.center_margin)

    def get_config(self):
        return {**base_config(self), "margin": self.margin, "mining": self.mining, "distance": self.distance,
                "squared": self.squared, "anchor_stride": self.anchor_stride,
                "center_weight": self.center_weight, "center_margin": self.center_margin}
