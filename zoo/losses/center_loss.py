"""Center loss: a base classification loss plus λ/2·‖x - c_y‖², on the output of `zoo.layers.CenterHead`.

The pure function `center_loss` does the work; `CenterLoss` is the thin Keras wrapper.
"""

import keras
from keras import ops

from zoo._checks import check_range
from zoo.losses._common import check_center_output, check_scores, int_labels, num_classes_of
from zoo.losses.function_loss import FunctionLoss

__all__ = ["CenterLoss"]


def _softmax_ce(y_true, logits):
    return keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)


def center_loss(y_true, y_pred, lam=0.003, base_loss=None):
    """Per-sample center loss on the `CenterHead` output [B, W+1] = [scores | min(scores) - 1 - d].

        L = base(y, scores) + (λ/2)·d,    d = ‖x - c_y‖² = min(scores) - 1 - e

    Args:
        y_true: int labels [B] (or [B, 1]).
        y_pred: `zoo.layers.CenterHead` output.
        lam: λ >= 0 (Wen et al.: 0.003 for faces).
        base_loss: per-sample loss `f(y_true, scores) -> [B]` on the classifier scores: None for softmax
            cross-entropy from logits, or a `keras.losses.Loss` (its unreduced `call` is used).

    Returns:
        [B] losses (float32).

    Raises:
        ValueError: y_pred not [B, W+1] with W >= 2 (static); where the values are concrete, a last column
            that is not a centre term (plain logits without the CenterHead).
    """
    y_pred = ops.cast(y_pred, "float32")
    check_scores(y_pred, "center_loss", "the zoo.layers.CenterHead output [B, W+1] = [scores (W >= 2) | centre term]",
                 min_width=3)
    scores, extra = y_pred[..., :-1], y_pred[..., -1]
    check_center_output(scores, extra, "center_loss")
    dist = ops.min(scores, axis=-1) - 1.0 - extra
    labels = int_labels(y_true, num_classes_of(scores, "center_loss"), "center_loss")
    if base_loss is None:
        base = _softmax_ce(labels, scores)
    elif isinstance(base_loss, keras.losses.Loss):
        base = base_loss.call(y_true, scores)
    else:
        base = base_loss(y_true, scores)
    return base + 0.5 * float(lam) * dist


@keras.saving.register_keras_serializable(package="zoo")
class CenterLoss(FunctionLoss):
    """Softmax (or any base loss) + λ·center loss, on the output of `zoo.layers.CenterHead`.

        L = base(y, scores) + (λ/2)·‖x - c_y‖²

    The head appends e = min(scores) - 1 - ‖x - c_y‖² to its scores; this loss reads the squared
    distance back from it (stateless, serializable). The centres are non-trainable state of the head
    (updated with rate α), so the pull term moves only the embeddings, as in Wen et al.

    Args:
        lam: λ >= 0 weighting the pull term. Default 0.003 (Wen et al., faces).
        base_loss: a `keras.losses.Loss` on the scores (e.g. `zoo.losses.ArcFaceLoss()` with a
            `CosineHead` classifier), or None for softmax cross-entropy from logits (the paper).
        reduction, name, dtype: as `keras.losses.Loss`.

    Example:
        >>> head = zoo.layers.CenterHead(10, classifier=zoo.layers.CosineHead(10))
        >>> loss = zoo.losses.CenterLoss(lam=0.01, base_loss=zoo.losses.ArcFaceLoss())

    Reference:
        Wen, Zhang, Li, Qiao, "A Discriminative Feature Learning Approach for Deep Face Recognition",
        ECCV 2016.

    Departures from the reference code:
        The reference sums ½‖x - c_y‖² over the mini-batch; here it is averaged like the base loss
        (Keras' "sum_over_batch_size"), so λ values are per sample.
    """

    fn = staticmethod(center_loss)

    def __init__(self, lam=0.003, base_loss=None, reduction="sum_over_batch_size", name="center_loss",
                 dtype=None):
        if isinstance(base_loss, dict):
            base_loss = keras.saving.deserialize_keras_object(base_loss)
        if base_loss is not None and not isinstance(base_loss, keras.losses.Loss):
            raise ValueError(f"CenterLoss: `base_loss` must be a keras.losses.Loss or None; got {base_loss!r}.")
        super().__init__(reduction=reduction, name=name, dtype=dtype,
                         lam=check_range(lam, "lam", "CenterLoss", 0.0, float("inf"), hi_text="∞"),
                         base_loss=base_loss)
