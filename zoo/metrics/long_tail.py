"""Head / medium / tail accuracy of long-tailed classification (host-side numpy)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["long_tail_accuracy"]


def long_tail_accuracy(y_true: Any, y_pred: Any, splits: tuple[int, int] | None = None,
                       num_classes: int | None = None) -> dict[str, Any]:
    """Overall, per-class and head/medium/tail accuracy on a (balanced) test set.

        acc_split = mean over classes c in the split of  acc_c,   acc_c = #{correct, y = c} / #{y = c}

    (on a balanced test set this is the accuracy over the split's test images; classes without test
    images are skipped). The overall `accuracy` is the plain fraction of correct predictions.

    Args:
        y_true: int labels [N].
        y_pred: scores [N, C] (argmax is the prediction; logits, cosines, ...) or int predictions [N].
        splits: dict name -> class ids; default `zoo.data.long_tail_splits(C)` (head/medium/tail by class
            index, class 0 the most frequent).
        num_classes: C; default from the scores' width or the largest label.

    Returns:
        dict: "accuracy", "head_accuracy", "medium_accuracy", "tail_accuracy" (one "<name>_accuracy" per
        split) as floats, and "per_class_accuracy" (list of C floats, NaN for classes without images).

    Raises:
        ValueError: non-finite scores, mismatched lengths, labels outside [0, C).

    Example:
        >>> scores = model.predict(test_ds)
        >>> zoo.metrics.long_tail_accuracy(y_test, scores)["tail_accuracy"]

    Reference:
        DL2PA, CVPR 2024 (reports head/medium/tail on CIFAR-LT); splits as the reference code.
    """
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        if not np.all(np.isfinite(y_pred)):
            raise ValueError("y_pred contains NaN or inf scores (a diverged model?).")
        num_classes = num_classes or y_pred.shape[1]
        pred = y_pred.argmax(axis=1)
    elif y_pred.ndim == 1:
        pred = y_pred.astype(np.int64)
    else:
        raise ValueError(f"y_pred must be scores [N, C] or predictions [N]; got shape {y_pred.shape}.")
    if pred.shape[0] != y_true.shape[0]:
        raise ValueError(f"{y_true.shape[0]} labels but {pred.shape[0]} predictions.")
    num_classes = int(num_classes or (y_true.max() + 1))
    if y_true.size and (y_true.min() < 0 or y_true.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}); got {y_true.min()}..{y_true.max()}.")
    if splits is None:
        from zoo.data.long_tail import long_tail_splits

        splits = long_tail_splits(num_classes)
    correct = pred == y_true
    per_class = np.full(num_classes, np.nan)
    for c in range(num_classes):
        mask = y_true == c
        if mask.any():
            per_class[c] = correct[mask].mean()
    out = {"accuracy": float(correct.mean()) if correct.size else float("nan")}
    for name, classes in splits.items():
        vals = per_class[np.asarray(classes, dtype=np.int64)]
        vals = vals[np.isfinite(vals)]
        out[f"{name}_accuracy"] = float(vals.mean()) if vals.size else float("nan")
    out["per_class_accuracy"] = [float(v) for v in per_class]
    return out
