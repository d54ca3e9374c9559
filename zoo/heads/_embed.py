"""The `scores` and `embed` hooks the head families put in their `HeadSpec`s.

Each works on Keras tensors and on numpy arrays (task models slice `predict`'s numpy output with `scores`).
"""

from keras import ops

from zoo.geometry import sphere

__all__ = ["ball_points", "drop_last_column", "unit_vectors"]


def unit_vectors(layer, embeddings):
    """Cosine heads score x̂ = x / ‖x‖: their embeddings live on the unit sphere."""
    return sphere.normalize(ops.cast(embeddings, "float32"))


def ball_points(layer, embeddings):
    """Hyperbolic heads classify exp_0^c(x) projected into the ball (`PoincareClassifier.embed`)."""
    return layer.embed(embeddings)


def drop_last_column(outputs):
    """The class scores [B, K] of a head that appends one extra column (the centre term of `CenterHead`)."""
    return outputs[..., :-1]
