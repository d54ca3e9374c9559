"""Float64 numpy references of the Poincaré-ball formulas, written in their textbook (hyptorch) form.

These are deliberately the *naive* formulas: the library evaluates better-conditioned equivalents,
and agreement in float64 is the check that the rewrites are the same functions.
"""

import numpy as np


def sqn(x):
    return np.sum(x * x, axis=-1, keepdims=True)


def project(x, c, eps=1e-3):
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    maxnorm = (1 - eps) / np.sqrt(c)
    return np.where(n > maxnorm, x / np.maximum(n, 1e-300) * maxnorm, x)


def mobius_add(x, y, c):
    xy = np.sum(x * y, axis=-1, keepdims=True)
    x2, y2 = sqn(x), sqn(y)
    num = (1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y
    return num / (1 + 2 * c * xy + c * c * x2 * y2)


def expmap0(u, c):
    n = np.linalg.norm(u, axis=-1, keepdims=True)
    return np.tanh(np.sqrt(c) * n) * u / (np.sqrt(c) * n)


def logmap0(y, c):
    n = np.linalg.norm(y, axis=-1, keepdims=True)
    return np.arctanh(np.sqrt(c) * n) * y / (np.sqrt(c) * n)


def lam(x, c):
    return 2 / (1 - c * sqn(x))


def expmap(x, u, c):
    n = np.linalg.norm(u, axis=-1, keepdims=True)
    second = np.tanh(np.sqrt(c) * lam(x, c) * n / 2) * u / (np.sqrt(c) * n)
    return mobius_add(x, second, c)


def logmap(x, y, c):
    w = mobius_add(-x, y, c)
    n = np.linalg.norm(w, axis=-1, keepdims=True)
    return 2 / (np.sqrt(c) * lam(x, c)) * np.arctanh(np.sqrt(c) * n) * w / n


def dist(x, y, c):
    n = np.linalg.norm(mobius_add(-x, y, c), axis=-1)
    return 2 / np.sqrt(c) * np.arctanh(np.sqrt(c) * n)


def dist0(x, c):
    return 2 / np.sqrt(c) * np.arctanh(np.sqrt(c) * np.linalg.norm(x, axis=-1))


def pairwise_dist(x, y, c):
    return dist(x[:, None, :], y[None, :, :], c)


def mobius_matvec(m, x, c):
    mx = x @ m
    xn = np.linalg.norm(x, axis=-1, keepdims=True)
    mxn = np.linalg.norm(mx, axis=-1, keepdims=True)
    return np.tanh(mxn / xn * np.arctanh(np.sqrt(c) * xn)) * mx / (mxn * np.sqrt(c))


def to_klein(x, c):
    return 2 * x / (1 + c * sqn(x))


def from_klein(k, c):
    return k / (1 + np.sqrt(1 - c * sqn(k)))


def midpoint(x, c, weights=None):
    """Einstein midpoint over axis -2: Lorentz factors computed on the Klein points."""
    k = to_klein(x, c)
    gamma = 1 / np.sqrt(1 - c * sqn(k))
    if weights is not None:
        gamma = gamma * weights[..., None]
    return from_klein(np.sum(gamma * k, axis=-2) / np.sum(gamma, axis=-2), c)


# --- Euclidean space and the sphere -------------------------------------------------------------------


def pairwise_sq_dist(x, y):
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def weighted_mean(x, w=None):
    """Mean over axis -2, weights over the points."""
    if w is None:
        return x.mean(-2)
    return (x * w[..., None]).sum(-2) / w.sum(-1)[..., None]


def normalize(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def cosine(x, y):
    return (normalize(x) * normalize(y)).sum(-1)


def pairwise_cosine(x, y):
    return normalize(x) @ normalize(y).T
