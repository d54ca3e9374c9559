"""The centre-loss update shared by `zoo.layers.CenterHead` and `zoo.models.ReIDModel` (Wen et al., Eq. 4)."""

from keras import ops

__all__ = ["center_update"]


def center_update(centers, x, onehot, alpha):
    """New class centres after one batch (gradient stopped), Wen et al.'s rule:

        Δc_j = Σ_i [y_i = j](c_j − x_i) / (1 + Σ_i [y_i = j]),    c_j ← c_j − α·Δc_j

    Args:
        centers: [K, d] current centres (a copy of the variable, gradient stopped).
        x: [B, d] float32 features.
        onehot: [B, K] float32 one-hot labels.
        alpha: the centre learning rate α in (0, 1].

    Returns:
        [K, d] updated centres (assign them to the variable).
    """
    xs = ops.stop_gradient(x)
    counts = ops.expand_dims(ops.sum(onehot, axis=0), -1)  # [K, 1]
    sums = ops.matmul(ops.transpose(onehot), xs)  # [K, d]
    delta = (counts * centers - sums) / (1.0 + counts)
    return centers - alpha * delta
