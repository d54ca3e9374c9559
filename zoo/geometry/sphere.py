"""The unit hypersphere: normalisation, cosine similarity and angles, on keras.ops.

Used by the hyperspherical heads (CosineHead, ArcFace/CosFace/SphereFace, DistArc angular term,
fixed prototypes) and as the "sphere" geometry of ProtoNet and retrieval.

Reference:
    Deng et al., "ArcFace", CVPR 2019; Wang & Isola, "Understanding contrastive representation
    learning through alignment and uniformity on the hypersphere", ICML 2020.
"""

from keras import ops

from zoo.geometry import numerics as nx
from zoo.geometry.poincare import _t


def normalize(x, axis=-1):
    """x / ||x|| along `axis`, with a finite gradient at 0 (the zero vector maps to 0).

    Example:
        >>> zoo.geometry.sphere.normalize(keras.ops.convert_to_tensor([[3.0, 4.0]]))  # [[0.6, 0.8]]
    """
    x = _t(x)
    return x / nx.safe_norm(x, axis=axis, keepdims=True)


def cosine(x, y, keepdims=False):
    """cos of the angle between x and y, broadcasting over leading axes; in [-1, 1].

    Example:
        >>> zoo.geometry.sphere.cosine(keras.ops.ones((1, 2)), keras.ops.ones((1, 2)))  # [1.]
    """
    x, y = _t(x, y)
    cos = ops.sum(normalize(x) * normalize(y), axis=-1, keepdims=keepdims)
    return ops.clip(cos, -1.0, 1.0)


def pairwise_cosine(x, y):
    """Cosine between every row of x [n, d] and every row of y [m, d] -> [n, m] (one matmul).

    Example:
        >>> zoo.geometry.sphere.pairwise_cosine(keras.ops.eye(2), keras.ops.eye(2))  # identity
    """
    x, y = _t(x, y)
    return ops.clip(ops.matmul(normalize(x), ops.transpose(normalize(y))), -1.0, 1.0)


def angle(x, y, keepdims=False):
    """Angle arccos(cos(x, y)) in [0, pi], with the cosine clipped to ±(1 - ACOS_EPS) so the gradient
    stays finite for parallel and antiparallel vectors.

    Example:
        >>> zoo.geometry.sphere.angle(keras.ops.eye(2)[:1], keras.ops.eye(2)[1:])  # [pi/2]
    """
    cos = cosine(x, y, keepdims=keepdims)
    return ops.arccos(ops.clip(cos, -1.0 + nx.ACOS_EPS, 1.0 - nx.ACOS_EPS))


def pairwise_angle(x, y):
    """Angles between every row of x [n, d] and every row of y [m, d] -> [n, m]."""
    cos = pairwise_cosine(x, y)
    return ops.arccos(ops.clip(cos, -1.0 + nx.ACOS_EPS, 1.0 - nx.ACOS_EPS))
