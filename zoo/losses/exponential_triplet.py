"""Exponential triplet loss (Urtans et al., ICCDA 2020): L_exp + C_center·L_center on embeddings.

The pure function `exponential_triplet_loss` does the work; `ExponentialTripletLoss` is the thin
Keras wrapper. The class term (C_class·L_class) is a classification head on the embedding with its own
cross-entropy: `zoo.models.EmbeddingModel(..., class_coef=C)` holds it (recipes/metric_learning.py uses it).
"""

import keras
from keras import ops

import zoo.geometry
from zoo._checks import check_choice, check_int, check_range
from zoo.geometry import numerics as nx
from zoo.losses._mining import batch_labels, distance_config, hardest, masked_mean, pair_masks, pairwise
from zoo.losses.function_loss import FunctionLoss

__all__ = ["ExponentialTripletLoss"]

#: Sample filters of the reference's `filter_samples` (None: every hardest positive and negative).
FILTERS = ("hard", "semi_hard", "abs_margin")


def _max_distance(geometry, max_distance, embedding_scale):
    if max_distance is not None:
        return float(max_distance)
    cfg = geometry.get_config()
    if cfg["name"] == "sphere" and cfg.get("distance") == "cosine":
        return 2.0
    if cfg["name"] == "euclidean" and not cfg.get("squared"):
        return 2.0 * float(embedding_scale)
    raise ValueError("ExponentialTripletLoss: pass `max_distance` for this geometry "
                     f"({cfg}); it is inferred only for 'cosine' (2) and 'euclidean' (2·embedding_scale).")


def _neg_log_term(excess, bound, mask, mean_inside_log):
    """-log(1 - mean(excess)/bound), the log argument clamped at LOG_EPS; per-sample with the mean
    outside the log when `mean_inside_log` is False. `bound` <= 0 makes the term exactly 0."""
    if bound <= 0.0:
        return ops.zeros((), "float32")
    if mean_inside_log:
        return -ops.log(ops.maximum(1.0 - masked_mean(excess, mask) / bound, nx.LOG_EPS))
    return masked_mean(-ops.log(ops.maximum(1.0 - excess / bound, nx.LOG_EPS)), mask)


def _filtered_masks(dist, pos, neg, sample_filter, c_n, margin):
    """The (positive, negative) masks left by `sample_filter` on the normalised [B, B] distances.

    abs_margin: positives with p >= c_n, negatives with q <= 1/2 (the pairs still outside their target);
    hard: negatives with q < p_a + margin, p_a the anchor's hardest positive; semi_hard: also q > p_a.
    An anchor without a positive keeps no negative under hard / semi_hard (there is no p_a to compare with)."""
    if sample_filter == "abs_margin":
        return ops.logical_and(pos, dist >= c_n), ops.logical_and(neg, dist <= 0.5)
    p, _, has_p, _ = hardest(dist, pos, neg)
    p = ops.expand_dims(p, 1)
    keep = ops.logical_and(dist < p + margin, ops.expand_dims(has_p, 1))
    if sample_filter == "semi_hard":
        keep = ops.logical_and(keep, dist > p)
    return pos, ops.logical_and(neg, keep)


def exponential_triplet_loss(y_true, y_pred, num_classes, overlap_coef=1.2, distance="euclidean",
                             embedding_scale=1.0, max_distance=None, pos_weight=1.0, neg_weight=1.0,
                             center_weight=0.0, mean_inside_log=True, anchor_stride=1, sample_filter=None,
                             filter_margin=None):
    """L_exp (+ C_center·L_center) of one batch, a scalar.

        p_a = max_{p} d(a,p) / D,   q_a = min_{n} d(a,n) / D,   c_n = overlap_coef / K
        L_pos    = -log(1 - mean_a max(p_a - c_n, 0) / (1 - c_n))
        L_neg    = -log(1 - mean_a max(0.5 - q_a, 0) / 0.5)
        L_center = -log(1 - mean_a max(p_a - c_n/2, 0) / (1 - c_n/2))
        L = w_p·L_pos + w_n·L_neg + C_center·L_center

    With `sample_filter` the hardest positive / negative are taken over the pairs the filter keeps, and anchors
    left without one drop out of that term's mean (see `ExponentialTripletLoss`).

    Args: see `ExponentialTripletLoss`.
    """
    labels = batch_labels(y_true, y_pred, "ExponentialTripletLoss")
    geometry = zoo.geometry.get(distance)
    big_d = _max_distance(geometry, max_distance, embedding_scale)
    c_n = float(overlap_coef) / int(num_classes)
    dist = pairwise(y_pred, geometry) / big_d
    pos, neg = pair_masks(labels, anchor_stride)
    p, q, has_p, has_n = hardest(dist, pos, neg)
    p_center = p
    if sample_filter is not None and sample_filter != "none":
        margin = c_n if filter_margin is None else float(filter_margin) / big_d
        p, q, has_p, has_n = hardest(dist, *_filtered_masks(dist, pos, neg, sample_filter, c_n, margin))
    loss = pos_weight * _neg_log_term(ops.relu(p - c_n), 1.0 - c_n, has_p, mean_inside_log)
    loss = loss + neg_weight * _neg_log_term(ops.relu(0.5 - q), 0.5, has_n, mean_inside_log)
    if center_weight:
        has_pc = ops.any(pos, axis=1)
        loss = loss + center_weight * _neg_log_term(ops.relu(p_center - 0.5 * c_n), 1.0 - 0.5 * c_n, has_pc,
                                                    mean_inside_log)
    return loss


@keras.saving.register_keras_serializable(package="zoo")
class ExponentialTripletLoss(FunctionLoss):
    """Exponential triplet loss L_exp with its center term (y_true = int labels [B], y_pred = embeddings).

    With d the distance of the chosen geometry normalised by its maximum D (p = d_ap/D, q = d_an/D,
    hardest positive and hardest negative of every anchor, mined with masks on the B×B distance
    matrix) and the overlap margin c_n = overlap_coef / K:

        L_pos    = -log(1 - mean_a max(p_a - c_n, 0) / (1 - c_n))       (target p <= c_n)
        L_neg    = -log(1 - mean_a max(0.5 - q_a, 0) / 0.5)             (target q >= 1/2)
        L_center = -log(1 - mean_a max(p_a - c_n/2, 0) / (1 - c_n/2))   (exp13's center term)
        L = w_p·L_pos + w_n·L_neg + C_center·L_center

    The full objective of the paper adds C_class·L_class, a softmax head on the embedding with
    `SparseCategoricalCrossentropy(from_logits=True)` at weight C_class/K (the reference averages CE over
    B×K): `zoo.models.EmbeddingModel(..., class_coef=C_class)` adds it inside the model (one output, one loss).

    Args:
        num_classes: K, the number of training classes (sets c_n).
        overlap_coef: c_n·K (default 1.2, the reference default). c_n >= 1 switches L_pos off (exactly 0),
            as in the reference's grid with overlap 40/80 and K = 10; c_n = 0 asks for p = 0.
        distance: "euclidean" (default; unsquared, D = 2·embedding_scale), "cosine" (1 - cos, D = 2),
            or any `zoo.geometry` name / object / config (then pass `max_distance`).
        embedding_scale: c_s of the embedding space (sets D for "euclidean").
        max_distance: D, overriding the inferred value.
        pos_weight, neg_weight: w_p, w_n (default 1).
        center_weight: C_center >= 0 (default 0; the reference default is 1).
        mean_inside_log: True (default) = the code's batch mean inside the log; False = the poster's
            per-triplet form, mean over anchors of -log(...).
        anchor_stride: only every s-th sample is an anchor (the reference: s = P, one anchor per group).
        sample_filter: None / "none" (default: every anchor's hardest positive and negative), or the
            reference's `filter_samples` (triplet_sampler_4), in raw distances d_ap, d_an and normalised p, q:
            "hard": keep only negatives with d_an < d_ap + margin (d_ap the anchor's hardest positive);
            "semi_hard": additionally d_an > d_ap;
            "abs_margin": drop positives with p < c_n and negatives with q > 1/2 (pairs already at their
            target), so the means run over the pairs still outside it.
            The hardest pair is then taken among the kept ones; an anchor with none left is excluded from
            that term's mean (not counted as 0), as the reference's per-anchor lists. L_center keeps the
            unfiltered hardest positives (the reference's centre term does not go through the sampler).
        filter_margin: the raw-distance margin of "hard" / "semi_hard"; None (default) = the reference's
            automatic margin overlap_coef·D/K (= c_n in normalised units; `is_triplet_loss_margin_auto`, its
            argparse default). The reference's Fashion-MNIST scripts set a fixed 0.2 instead.
        reduction, name, dtype: as `keras.losses.Loss`.

    A term with no valid anchor (no positive pair in the batch, or a single class and so no negative)
    is a documented 0 with zero gradient.

    Example:
        >>> loss = zoo.losses.ExponentialTripletLoss(num_classes=10, overlap_coef=1.2, center_weight=1.0)
        >>> model.compile(optimizer="adam", loss=loss)   # model outputs zoo.layers.EmbeddingSpace embeddings

    Reference:
        Urtans, Nikitenko, Vecins, "Exponential Triplet Loss", ICCDA 2020; code
        evaldsurtans/exponential-triplet-loss (loss ``exp13``).

    Departures from the reference code:
        The reference adds ε = 1e-20 to the log argument, which vanishes next to 1 in float32 (log(0) =
        -inf when a batch mean reaches its bound); here the argument is clamped at
        `zoo.geometry.numerics.LOG_EPS` = 1e-7. Distances are unsquared, as the code (its `euclidean_2`
        option only squared D, a bug not reproduced). With c_n >= 1 the reference computes 0/(1 - c_n)
        (NaN at exactly c_n = 1); here the term is 0. With a sample filter that leaves a term no anchor, the
        reference's mean over an empty list is NaN; here the term is 0. Under "hard" / "semi_hard" an anchor
        with no positive keeps no negative (the reference would fail on `None + margin`). One filter at a
        time (the reference accepts a list; "hard" + "semi_hard" = "semi_hard").
    """

    fn = staticmethod(exponential_triplet_loss)

    def __init__(self, num_classes, overlap_coef=1.2, distance="euclidean", embedding_scale=1.0,
                 max_distance=None, pos_weight=1.0, neg_weight=1.0, center_weight=0.0, mean_inside_log=True,
                 anchor_stride=1, sample_filter=None, filter_margin=None, reduction="sum_over_batch_size",
                 name="exponential_triplet_loss", dtype=None):
        owner = "ExponentialTripletLoss"
        inf = float("inf")
        if sample_filter is not None:
            sample_filter = check_choice(sample_filter, "sample_filter", ("none",) + FILTERS, owner=owner)
            sample_filter = None if sample_filter == "none" else sample_filter
        if filter_margin is not None:
            filter_margin = check_range(filter_margin, "filter_margin", owner, 0.0, inf, hi_text="∞")
        num_classes = check_int(num_classes, "num_classes", minimum=2, owner=owner)
        distance_cfg = distance_config(distance)
        embedding_scale = check_range(embedding_scale, "embedding_scale", owner, 1e-12, inf, hi_text="∞")
        if max_distance is not None:
            max_distance = check_range(max_distance, "max_distance", owner, 1e-12, inf, hi_text="∞")
        _max_distance(zoo.geometry.get(distance), max_distance, embedding_scale)
        super().__init__(
            reduction=reduction, name=name, dtype=dtype,
            num_classes=num_classes,
            overlap_coef=check_range(overlap_coef, "overlap_coef", owner, 0.0, inf, hi_text="∞"),
            distance=distance_cfg,
            embedding_scale=embedding_scale,
            max_distance=max_distance,
            pos_weight=check_range(pos_weight, "pos_weight", owner, 0.0, inf, hi_text="∞"),
            neg_weight=check_range(neg_weight, "neg_weight", owner, 0.0, inf, hi_text="∞"),
            center_weight=check_range(center_weight, "center_weight", owner, 0.0, inf, hi_text="∞"),
            mean_inside_log=bool(mean_inside_log),
            anchor_stride=check_int(anchor_stride, "anchor_stride", minimum=1, owner=owner),
            sample_filter=sample_filter,
            filter_margin=filter_margin,
        )

    @property
    def c_n(self):
        """The overlap margin c_n = overlap_coef / K."""
        return self.overlap_coef / self.num_classes
