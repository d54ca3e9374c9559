"""Prototype regression loss of DL2PA on the cosine scores of `zoo.layers.PrototypeHead`.

Label format (stateless by design): `y_true` is either int class ids [B] (or [B, 1]), or, for mixup,
the packed float [B, 3] rows (y_a, y_b, lam) written by `zoo.data.mixup`: the images were mixed as
lam x + (1 - lam) x[perm], y_a = y, y_b = y[perm]. Everything the loss needs (the per-batch class
counts of the long-tail weights, the mixup coefficient) is computed from `y_true` inside the call, so the
Keras loss holds no state.
"""

import keras
from keras import ops

from zoo._checks import check_choice
from zoo.losses._common import check_cosines, check_scores, int_labels, take_target
from zoo.losses.function_loss import FunctionLoss

__all__ = ["PrototypeRegressionLoss"]

#: The two forms of the loss.
FORMS = ("balanced", "long_tail")


def unpack_labels(y_true):
    """(y_a int32 [B], y_b int32 [B], lam float32 [B]) from int labels [B] / [B, 1] or packed [B, 3].

    Int labels give y_b = y_a and lam = 1 (no mixup). Float labels are rounded back to int.
    """
    y = ops.convert_to_tensor(y_true)
    if len(y.shape) == 2 and y.shape[-1] == 3:
        y_a, y_b, lam = y[:, 0], y[:, 1], ops.cast(y[:, 2], "float32")
    else:
        if len(y.shape) == 2 and y.shape[-1] == 1:
            y = y[:, 0]
        elif len(y.shape) != 1:
            raise ValueError(f"y_true must be int labels [B] (or [B, 1]) or mixup-packed (y_a, y_b, lam) [B, 3]; "
                             f"got shape {tuple(y.shape)}.")
        y_a, y_b, lam = y, y, None
    y_a, y_b = (ops.cast(ops.round(v) if "float" in str(v.dtype) else v, "int32") for v in (y_a, y_b))
    if lam is None:
        lam = ops.ones(ops.shape(y_a), dtype="float32")
    return y_a, y_b, lam


def _unpack(y_true):
    """As `unpack_labels`, but lam is None (and y_b = y_a) for plain int labels."""
    y = ops.convert_to_tensor(y_true)
    if len(y.shape) == 2 and y.shape[-1] == 3:
        return unpack_labels(y)
    y_a = unpack_labels(y)[0]
    return y_a, y_a, None


def long_tail_weights(count_labels, labels, num_classes):
    """Per-sample weights E_y^2 = gamma / n_y for `labels`, with the class counts n_k and
    gamma = B / #(classes present) taken from `count_labels`.

    E_k = sqrt(gamma / n_k) is the reference's per-batch target length (`produce_Ew`): each class present
    in the batch gets the same total weight gamma, whatever its count. Computed from the [B, B]
    label-equality matrix (the one-hot Gram Y Y^T), independent of the number of classes:
    n_{y_b} = sum_b' [y'_b' = y_b] and #(classes present) = sum_b' 1 / n_{y'_b'}.
    Labels outside [0, C) are not counted.
    """
    def valid(v):
        return ops.cast(ops.logical_and(v >= 0, v < num_classes), "float32")

    vc = valid(count_labels)
    own = ops.sum(ops.cast(ops.equal(count_labels[:, None], count_labels[None, :]), "float32") * vc[None, :],
                  axis=1)  # n_{y'_b'} for every sample of count_labels
    present = ops.sum(vc / ops.maximum(own, 1.0))
    gamma = ops.sum(vc) / ops.maximum(present, 1.0)
    n = ops.sum(ops.cast(ops.equal(labels[:, None], count_labels[None, :]), "float32") * vc[None, :], axis=1)
    return gamma / ops.maximum(n, 1.0)


def _pick(scores, labels, num_classes):
    # The label's column (0 for a label outside [0, C): those samples become NaN in the caller).
    return take_target(scores, labels)


def prototype_regression_loss(y_true, y_pred, form="balanced"):
    """Per-sample DL2PA prototype regression loss on cosine scores.

    With c_k = cos(f(x), p_{sigma(k)}) = y_pred[:, k] (the output of `zoo.layers.PrototypeHead`):

        balanced:   l = (1 - c_y)^2                                            (pull to the prototype)
        long_tail:  l = 1/2 * E_y^2 (1 - c_y)^2,  E_y^2 = gamma / n_y,  gamma = B / #(classes in batch)

    and with mixup labels (y_a, y_b, lam): l = lam l(y_a) + (1 - lam) l(y_b).

    The long-tail form is the reference's dot-regression loss 1/2 (<h, m> - ||m|| ||h||)^2 / ||h|| with
    h = f / ||f|| and target m = E_y p_{sigma(y)} (||h||, ||m|| gradient-stopped): for unit h and unit
    prototypes <h, m> = E_y c_y and ||m|| = E_y, so it equals 1/2 E_y^2 (c_y - 1)^2, value and gradient.
    The class counts n_k come from the labels of the batch (y_a with mixup; y_b is a permutation of y_a).

    Args:
        y_true: int labels [B] / [B, 1], or mixup-packed (y_a, y_b, lam) [B, 3] (see `zoo.data.mixup`).
        y_pred: cosine scores [B, C] in class order.
        form: "balanced" or "long_tail".

    Returns:
        float32 [B]. Labels outside [0, C) raise a ValueError where their values are concrete (eager calls)
        and give NaN inside a compiled graph (a bad label is visible, not silently ignored).

    Raises:
        ValueError: y_pred not [B, C >= 2] (static); where the values are concrete, scores outside [-1, 1]
            (not cosines: another head's output) or labels outside [0, C).
    """
    if form not in FORMS:
        raise ValueError(f"`form` must be one of {FORMS}; got {form!r}.")
    scores = ops.cast(ops.convert_to_tensor(y_pred), "float32")
    owner = "prototype_regression_loss"
    expects = "the zoo.layers.PrototypeHead output: cosine scores [B, C] in [-1, 1], C >= 2"
    check_scores(scores, owner, expects)
    if scores.shape[-1] is None:
        raise ValueError(f"{owner}: y_pred must be {expects} with a known C; got shape {tuple(scores.shape)}.")
    num_classes = int(scores.shape[-1])
    check_cosines(scores, owner)
    y_a, y_b, lam = _unpack(y_true)
    int_labels(y_a, num_classes, owner)  # out-of-range labels raise where their values are concrete (eager)
    if lam is not None:
        int_labels(y_b, num_classes, owner)

    def pull(y):
        p = ops.square(1.0 - _pick(scores, y, num_classes))
        if form == "long_tail":
            # Counts from y_a; y_b is a permutation of y_a within the batch, so its counts are the same.
            p = 0.5 * long_tail_weights(y_a, y, num_classes) * p
        return p

    def valid(y):
        return ops.logical_and(y >= 0, y < num_classes)

    if lam is None:  # plain int labels
        return ops.where(valid(y_a), pull(y_a), float("nan"))
    loss = lam * pull(y_a) + (1.0 - lam) * pull(y_b)
    return ops.where(ops.logical_and(valid(y_a), valid(y_b)), loss, float("nan"))


@keras.saving.register_keras_serializable(package="zoo")
class PrototypeRegressionLoss(FunctionLoss):
    """DL2PA's prototype regression loss, balanced or long-tail, on `PrototypeHead` cosine scores.

        balanced:   L = mean_b (1 - cos(f(x_b), p_{sigma(y_b)}))^2
        long_tail:  L = mean_b 1/2 (gamma / n_{y_b}) (1 - cos(f(x_b), p_{sigma(y_b)}))^2

    gamma = B / #(classes present in the batch), n_k the batch count of class k; with mixup-packed
    labels (y_a, y_b, lam) each sample's loss is lam l(y_a) + (1 - lam) l(y_b). See
    `prototype_regression_loss` for the equivalence with the reference's dot-regression form.

    Args:
        form: "balanced" (default) or "long_tail".
        reduction: Keras reduction; default "sum_over_batch_size" (a mean). The reference's balanced loss
            is a *sum* over the batch: pass reduction="sum" (or scale the learning rate by B) to match its
            step size with SGD. The reference's long-tail loss is a mean, as here.
        name, dtype: as `keras.losses.Loss`.

    Example:
        >>> head = zoo.layers.PrototypeHead(10)
        >>> model.compile(optimizer="sgd", loss=zoo.losses.PrototypeRegressionLoss(form="long_tail"))
        >>> model.fit(zoo.data.mixup(train_ds, alpha=1.0, label_input=True), ...)   # packed labels

    Reference:
        Saadabadi et al., "Hyperspherical Classification with Dynamic Label-to-Prototype Assignment",
        CVPR 2024, Eq. 6-7 (code: `utils/B_utils.BLoss`, `utils/LT_utils.LTloss`, `produce_Ew`); the
        long-tail weighting and dot-regression come from Yang et al., NeurIPS 2022 (fixed ETF classifier).

    Departures from the reference code:
        - Mean over the batch by default for the balanced form (the reference sums); `reduction="sum"`
          reproduces it.
        - Computed from the head's cosine scores, so the loss is stateless and needs no access to the
          features or prototypes: the balanced cosine uses the zoo's safe norm instead of the reference's
          eps = 1e-9, and the long-tail form assumes unit features, i.e. no norm regulariser (the
          reference's `reg_lam` is 0 in every config).
        - A label outside [0, C) gives a NaN loss instead of an index error.
    """

    fn = staticmethod(prototype_regression_loss)

    def __init__(self, form="balanced", reduction="sum_over_batch_size", name="prototype_regression", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, form=check_choice(form, "form", FORMS))
