"""`PrototypicalLoss`: cross-entropy of the queries of a Prototypical Network episode.

The pure function `prototypical_loss` does the work; `PrototypicalLoss` is the thin Keras wrapper.
"""

import keras
from keras import ops

from zoo.losses._common import int_labels, poison_invalid, sparse_softmax_cross_entropy
from zoo.losses.function_loss import FunctionLoss

__all__ = ["PrototypicalLoss"]


def prototypical_loss(y_true, logits):
    """Per-query softmax cross-entropy  L_i = logsumexp_k(logits[i, k]) - logits[i, y_i], shape [query * way].

    Args:
        y_true: int labels of the queries [query * way] (or [query * way, 1]; floats are cast back to
            int), y[i] = i % way in the shot-major episode layout.
        logits: [query * way, way], e.g. the output of `zoo.layers.PrototypicalHead`.

    Labels outside [0, way) raise a ValueError when their values are concrete and give a NaN loss
    inside a compiled graph (never a silent zero one-hot row).
    """
    logits = ops.convert_to_tensor(logits)
    if len(logits.shape) != 2:
        raise ValueError(f"PrototypicalLoss: logits must be [query * way, way]; got shape {logits.shape}.")
    way = logits.shape[-1]
    if way is None:  # symbolic way (TensorFlow graph with an unknown batch): the backend checks the range
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    else:
        labels = int_labels(y_true, int(way), "PrototypicalLoss")
    n, m = labels.shape[0], logits.shape[0]
    if n is not None and m is not None and n != m:
        raise ValueError(f"PrototypicalLoss: {n} labels for {m} query logits (one label per query, "
                         "query * way of them).")
    if way is None:
        return ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    return poison_invalid(sparse_softmax_cross_entropy(labels, logits), labels, int(way))


@keras.saving.register_keras_serializable(package="zoo")
class PrototypicalLoss(FunctionLoss):
    """Cross-entropy over the queries of an episode (y_true = query labels, y_pred = prototypical logits):

        L = mean_i ( -log softmax(logits_i)[y_i] ),   i over the query * way queries,

    the loss of Prototypical Networks in any geometry (the logits carry the geometry: -||q - p||^2,
    cos / T or -d_c(q, p) from `zoo.layers.PrototypicalHead`). Stateless; with the default reduction it is
    the mean over the queries, as the references' `F.cross_entropy`.

    Args:
        reduction, name, dtype: as `keras.losses.Loss`.

    Example:
        >>> model.compile(optimizer="adam", loss=zoo.losses.PrototypicalLoss(),
        ...               metrics=["sparse_categorical_accuracy"])

    Reference:
        Snell et al., "Prototypical Networks for Few-shot Learning", NeurIPS 2017; Khrulkov et al.,
        "Hyperbolic Image Embeddings", CVPR 2020 (examples/fewshot: `F.cross_entropy(logits, label)`).

    Departures from the reference code:
        None: labels come from the episode pipeline (y[i] = i % way) instead of being rebuilt inside the
        training loop.
    """

    fn = staticmethod(prototypical_loss)

    def __init__(self, reduction="sum_over_batch_size", name="prototypical_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
