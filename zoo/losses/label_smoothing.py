"""Softmax cross-entropy with label smoothing on integer labels (the re-ID strong baseline's ID loss).

The pure function `label_smoothing_cross_entropy` does the work; `LabelSmoothingCrossEntropy` is the thin Keras
wrapper. Keras 3.15's `SparseCategoricalCrossentropy` has no `label_smoothing` argument (only the one-hot
`CategoricalCrossentropy` has), so integer labels would have to be one-hot encoded in the data pipeline.
"""

import keras
from keras import ops

from zoo._checks import check_range
from zoo.losses._common import check_scores, int_labels, poison_invalid, sparse_softmax_cross_entropy
from zoo.losses.function_loss import FunctionLoss

__all__ = ["LabelSmoothingCrossEntropy"]


def label_smoothing_cross_entropy(y_true, y_pred, epsilon=0.1):
    """Per-sample CE against the smoothed target q = (1 − ε)·onehot(y) + ε/K, from logits [B, K].

        L = (1 − ε)·(logsumexp(z) − z_y) + ε·(logsumexp(z) − mean_k z_k)

    Args: see `LabelSmoothingCrossEntropy`.

    Returns:
        [B] float32 losses; a label outside [0, K) gives NaN for that sample (never a silent clip).
    """
    logits = ops.cast(y_pred, "float32")
    check_scores(logits, "LabelSmoothingCrossEntropy", "logits [B, num_classes]")
    num_classes = int(logits.shape[-1])
    labels = int_labels(y_true, num_classes, "LabelSmoothingCrossEntropy")
    hard = sparse_softmax_cross_entropy(labels, logits)
    uniform = ops.logsumexp(logits, axis=-1) - ops.mean(logits, axis=-1)
    return poison_invalid((1.0 - epsilon) * hard + epsilon * uniform, labels, num_classes)


@keras.saving.register_keras_serializable(package="zoo")
class LabelSmoothingCrossEntropy(FunctionLoss):
    """Softmax cross-entropy of logits against label-smoothed integer labels (y_true = int labels [B]).

        q_k = (1 − ε)·[k = y] + ε/K,   L = −Σ_k q_k log softmax(z)_k

    (equal to `keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=ε)` on one-hot labels).

    Args:
        epsilon: ε in [0, 1) (default 0.1, the re-ID strong baseline's; 0 is plain cross-entropy).
        reduction, name, dtype: as `keras.losses.Loss`.

    Example:
        >>> model.compile(optimizer="adam", loss=zoo.losses.LabelSmoothingCrossEntropy(epsilon=0.1))

    Reference:
        Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016 (label
        smoothing); Luo et al., "Bag of Tricks and a Strong Baseline for Deep Person Re-identification",
        CVPRW 2019 (ε = 0.1 on the identity classifier, `CrossEntropyLabelSmooth`).
    """

    fn = staticmethod(label_smoothing_cross_entropy)

    def __init__(self, epsilon=0.1, reduction="sum_over_batch_size", name="label_smoothing_cross_entropy",
                 dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype,
                         epsilon=check_range(epsilon, "epsilon", "LabelSmoothingCrossEntropy", 0.0, 1.0, hi_open=True))
