"""The simplex equiangular tight frame (ETF): num unit vectors with pairwise cosine -1/(num - 1)."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["etf"]


def etf(num: int, dim: int) -> np.ndarray:
    """Simplex ETF prototypes: `num` unit rows in R^dim with every pairwise cosine equal to -1/(num - 1).

        M = sqrt(num / (num - 1)) * H,   H [num, num - 1] = the Helmert basis of {v : sum_i v_i = 0},

    i.e. the vertices of the regular simplex centred at 0, written in the orthonormal Helmert basis
    (column k has k entries 1, then -k, then zeros, divided by sqrt(k (k + 1))) and padded with zero
    columns up to `dim`. Closed form, no randomness: the same on every machine and backend. It is the
    minimiser of the Gaussian potential of `zoo.prototypes.uniform` when it exists.

    Args:
        num: number of prototypes (>= 2).
        dim: dimension; needs dim >= num - 1 (a simplex of num vertices spans num - 1 dimensions).

    Returns:
        float32 numpy array [num, dim].

    Raises:
        ValueError: num < 2, or dim < num - 1 (use `zoo.prototypes.uniform` there).

    Example:
        >>> m = zoo.prototypes.etf(10, 9)
        >>> (m @ m.T)[0, 1]           # -1/9
        -0.11111111

    Reference:
        Papyan, Han, Donoho, "Prevalence of neural collapse", PNAS 2020; Yang et al., "Inducing neural
        collapse in imbalanced learning" (fixed ETF classifier), NeurIPS 2022. DL2PA (CVPR 2024) compares
        with it in Table 2 and the long-tail tables.

    Departures from the reference code:
        The ETF code of Yang et al. draws a random orthonormal [dim, num] matrix and therefore needs
        dim >= num; the Helmert construction needs only dim >= num - 1 and is deterministic.
    """
    if isinstance(num, bool) or not isinstance(num, numbers.Integral) or int(num) < 2:
        raise ValueError(f"`num` must be an integer >= 2; got {num!r}.")
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise ValueError(f"`dim` must be an integer; got {dim!r}.")
    num, dim = int(num), int(dim)
    if dim < num - 1:
        raise ValueError(
            f"etf(num={num}, dim={dim}): a simplex ETF of {num} prototypes needs dim >= num - 1 = {num - 1}; "
            f"got dim={dim}. Use zoo.prototypes.uniform({num}, {dim}) when the dimension is smaller.")
    h = np.zeros((num, num - 1), dtype=np.float64)
    for k in range(1, num):
        h[:k, k - 1] = 1.0
        h[k, k - 1] = -float(k)
        h[:, k - 1] /= np.sqrt(k * (k + 1.0))
    m = np.sqrt(num / (num - 1.0)) * h
    out = np.zeros((num, dim), dtype=np.float64)
    out[:, :num - 1] = m
    return out.astype(np.float32)
