"""Hyperspherical prototypes spread by the Gaussian-potential (uniformity) objective of DL2PA.

Host-side numpy on purpose: the estimate is a one-off, it never runs inside a model, and plain numpy in
float64 with a numpy `default_rng` makes "the same seed gives the same prototypes" true on every Keras
backend (TensorFlow, JAX and PyTorch draw different random numbers from the same seed, and their float32
kernels differ in the last bits). The gradient is written out in closed form (below), so no autodiff
framework is needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zoo._checks import check_int

__all__ = ["uniform", "gaussian_potential", "pairwise_cosine_stats", "PAPER_LR", "PAPER_T"]

#: SGD learning rate of the paper and of the reference script (`Prototype_Estimation.py`).
PAPER_LR = 0.1
#: Temperature t of the Gaussian potential exp(-t ||p_i - p_j||^2) (Wang & Isola; DL2PA uses t = 2).
PAPER_T = 2.0
# Subsets up to this size are optimised with a single BLAS thread (faster for small matrices).
_SINGLE_THREAD_MAX = 512
# verbose="auto" shows a progress bar when steps * num * subset size * dim (the multiply-adds of the Gram
#: matrices) reaches this: about 10 s of numpy on one core (1000 prototypes in 64-d at 1000 steps: 6.4e10).
_AUTO_PROGRESS_WORK = 2e10


def gaussian_potential(prototypes: Any, t: float = PAPER_T) -> float:
    """The estimation objective: log( mean over pairs i<j of exp(-t ||p_i - p_j||^2) ), in float64.

    Rows are normalised first (as the reference normalises inside the loss). Lower is more uniform.

    Args:
        prototypes: [n, d] array, n >= 2.
        t: temperature > 0.

    Returns:
        float.

    Example:
        >>> zoo.prototypes.gaussian_potential(zoo.prototypes.etf(10, 9))
    """
    p = np.asarray(prototypes, dtype=np.float64)
    p = p / np.linalg.norm(p, axis=1, keepdims=True)
    iu = np.triu_indices(p.shape[0], 1)
    sq = np.maximum(2.0 - 2.0 * (p @ p.T)[iu], 0.0)
    return float(np.log(np.mean(np.exp(-float(t) * sq))))


def pairwise_cosine_stats(prototypes: Any) -> tuple[float, float]:
    """(max, min) cosine over distinct pairs of rows: the numbers of the paper's Table 7.

    Example:
        >>> zoo.prototypes.pairwise_cosine_stats(zoo.prototypes.etf(100, 99))   # (-0.0101, -0.0101)
    """
    p = np.asarray(prototypes, dtype=np.float64)
    p = p / np.linalg.norm(p, axis=1, keepdims=True)
    g = p @ p.T
    iu = np.triu_indices(p.shape[0], 1)
    return float(g[iu].max()), float(g[iu].min())


def _potential_grad(x, t):
    """Gradient of log(sum_{i<j} exp(-t ||x_i - x_j||^2)) w.r.t. unit rows x [b, d], projected on the
    tangent space of each row (the gradient through the normalisation at a unit vector).

    With E_ij = exp(-t ||x_i - x_j||^2) and W = E / sum_{i<j} E_ij (symmetric, zero diagonal):
        dL/dx_i = -2t sum_j W_ij (x_i - x_j) = -2t (rowsum(W)_i x_i - (W x)_i).
    log-mean and log-sum differ by a constant, so this is also the gradient of the paper's loss.
    """
    gram = x @ x.T
    sq = np.maximum(2.0 - 2.0 * gram, 0.0)  # ||x_i - x_j||^2 for unit rows
    e = np.exp(-t * sq)
    np.fill_diagonal(e, 0.0)
    w = e / (0.5 * e.sum())
    g = -2.0 * t * (w.sum(axis=1, keepdims=True) * x - w @ x)
    return g - np.sum(g * x, axis=1, keepdims=True) * x


def uniform(num: int, dim: int, steps: int = 1000, seed: int = 0, lr: float = PAPER_LR, t: float = PAPER_T,
            batch_size: int | None = None, per_prototype_lr: bool = True, verbose: Any = "auto") -> np.ndarray:
    """Estimate `num` unit prototypes in R^dim that are spread out as evenly as possible.

    Objective (DL2PA §3.2.1, the Gaussian-potential uniformity of Wang & Isola, t = 2):

        L(S) = log( 1/|pairs| * sum_{i<j in S} exp(-t ||p_i - p_j||^2) ),   ||p_i|| = 1,

    minimised by plain SGD over subsets S of the prototypes; after every step the prototypes of S are
    projected back to the unit sphere (p <- p / ||p||), as the paper says. Start: U(-1, 1) entries,
    rows normalised (as the reference). For num <= dim + 1 the minimiser is the simplex ETF (pairwise
    cosine -1/(num - 1)); for num > dim + 1 it is a uniform-looking spread (e.g. the regular polygon in
    2-D).

    Args:
        num: number of prototypes (>= 2).
        dim: dimension (>= 2).
        steps: number of passes over the prototypes ("epochs" of the reference script; with the
            default `batch_size` one pass is one SGD step). Default 1000 (the paper).
        seed: int seed of numpy's `default_rng` (initial points and subset order).
        lr: SGD learning rate, default 0.1 (the paper). See `per_prototype_lr`.
        t: temperature of the potential, default 2 (the paper).
        batch_size: size of the random subsets S (a shuffled partition of the prototypes each pass, as
            the reference's DataLoader). Default None = all prototypes in one subset, the paper's setting.
        per_prototype_lr: scale the step by (|S| - 1) / 2, the number of pairs per prototype, so each
            prototype moves by lr times an O(1) force whatever |S| (default True). The loss averages over
            all |S|(|S|-1)/2 pairs, so the raw gradient on one prototype shrinks like 1/|S|: with the
            paper's lr 0.1 and 1000 steps, 100 prototypes in 99-d only reach max cosine 0.16 (we ran the
            reference script: 0.164; the paper's Table 7 reports 0.00). With the scaling they reach the ETF
            value -0.0101 and, in 50-d, max/min cosine 0.00/-1.00 (Table 7: 0.01/-1.0). False gives the
            reference code's raw step.
        verbose: 1/True shows a `keras.utils.Progbar` over the steps, 0/False none, "auto" (default) one
            when the estimate is long (steps * num * batch * dim >= 2e10, about 10 s of numpy).

    Returns:
        float32 numpy array [num, dim] of unit rows.

    Raises:
        ValueError: num < 2, dim < 2, steps < 0, seed not an integer >= 0 (or None), lr or t not > 0,
            batch_size < 2, verbose not one of 0, 1, "auto".

    Example:
        >>> protos = zoo.prototypes.uniform(100, 50, steps=1000, seed=0)
        >>> zoo.prototypes.pairwise_cosine_stats(protos)       # about (0.0001, -1.0)

    Reference:
        Saadabadi et al., "Hyperspherical Classification with Dynamic Label-to-Prototype Assignment",
        CVPR 2024, §3.2.1 (code: `Prototype_Estimation.py`); Wang & Isola, ICML 2020.

    Departures from the reference code:
        - Prototypes are rows [num, dim] (the reference stores columns [dim, num]).
        - The prototypes are projected to the sphere after every step (the paper); the reference never
          projects its parameter and only normalises inside the loss, so its norms drift slightly above 1.
        - `per_prototype_lr` (see above), on by default, because the paper's numbers need it.
        - numpy float64 with a closed-form gradient instead of torch autograd; numpy's generator, so the
          numbers differ from torch's for the same seed.
    """
    num = check_int(num, "num", minimum=2, owner="uniform")
    dim = check_int(dim, "dim", minimum=2, owner="uniform")
    steps = check_int(steps, "steps", minimum=0, owner="uniform")
    if seed is not None:
        seed = check_int(seed, "seed", minimum=0, owner="uniform")
    if not (verbose == "auto" or (not isinstance(verbose, str) and verbose in (0, 1))):
        raise ValueError(f"uniform: `verbose` must be 0, 1 or 'auto'; got {verbose!r}.")
    if not float(lr) > 0 or not float(t) > 0:
        raise ValueError(f"`lr` and `t` must be > 0; got lr={lr!r}, t={t!r}.")
    b = num if batch_size is None else check_int(batch_size, "batch_size", minimum=2, owner="uniform")
    b = min(b, num)
    if verbose == "auto":
        verbose = steps * num * b * dim >= _AUTO_PROGRESS_WORK
    rng = np.random.default_rng(seed)
    p = rng.uniform(-1.0, 1.0, size=(num, dim))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    lr, t = float(lr), float(t)
    # Small matrices: one BLAS thread is fastest (thread start-up dominates, and an oversubscribed machine
    # makes multi-threaded BLAS 20x slower); large sets keep numpy's default.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1 if b <= _SINGLE_THREAD_MAX else None, user_api="blas"):
        _run(p, steps, b, lr, t, per_prototype_lr, rng, _progress(steps, num, dim) if verbose else None)
    return p.astype(np.float32)


def _progress(steps, num, dim):
    """A keras progress bar over the steps (keras imported only when one is shown)."""
    import keras

    print(f"zoo.prototypes.uniform: estimating {num} prototypes in {dim}-d ({steps} steps)")
    return keras.utils.Progbar(steps, unit_name="step")


def _run(p, steps, b, lr, t, per_prototype_lr, rng, bar=None):
    num = p.shape[0]
    for i in range(steps):
        order = np.arange(num) if b == num else rng.permutation(num)
        for start in range(0, num, b):
            idx = order[start:start + b]
            if idx.size < 2:
                continue
            x = p[idx]
            step = lr * ((idx.size - 1) / 2.0 if per_prototype_lr else 1.0)
            x = x - step * _potential_grad(x, t)
            p[idx] = x / np.linalg.norm(x, axis=1, keepdims=True)
        if bar is not None:
            bar.update(i + 1)
