"""Few-shot evaluation: per-episode accuracy and the 95% confidence interval of its mean (host-side numpy).

The protocol of Prototypical Networks and of the hyperbolic ProtoNet: sample n test episodes, compute the
query accuracy of each, report mean ± 1.96·std/√n (n = 600 in Snell et al., 10,000 in Khrulkov et al.).

Reference:
    Snell et al., "Prototypical Networks for Few-shot Learning", NeurIPS 2017; Khrulkov et al.,
    "Hyperbolic Image Embeddings", CVPR 2020 (examples/fewshot: `np.std`, population std).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import keras
import numpy as np

__all__ = ["confidence_interval", "evaluate_episodes"]

#: z-value of a two-sided 95% normal interval (the references' 1.96).
Z_95 = 1.96


def confidence_interval(accuracies: Any, ddof: int = 0) -> tuple[float, float]:
    """Mean and 95% half-width 1.96·std/√n of per-episode accuracies.

    Args:
        accuracies: per-episode accuracies (any 1-D sequence of finite numbers; fractions or percent).
        ddof: delta degrees of freedom of the std. 0 (default): the population std sqrt(mean((a - ā)^2)),
            numpy's default and what the references compute (`np.std`); 1: the sample std (n - 1 in the
            denominator, 0.08% wider at n = 600, 0.005% at n = 10,000).

    Returns:
        (mean, half_width) as Python floats: the interval is mean ± half_width.

    Raises:
        ValueError: empty or non-finite input, fewer than ddof + 1 values.

    Example:
        >>> zoo.metrics.confidence_interval([0.5, 0.7, 0.6, 0.6])
        (0.6, 0.06929...)   # 1.96 * 0.0707 / 2
    """
    a = np.asarray(accuracies, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError("confidence_interval: `accuracies` is empty.")
    if not np.all(np.isfinite(a)):
        raise ValueError("confidence_interval: `accuracies` contains NaN or Inf.")
    if isinstance(ddof, bool) or not isinstance(ddof, numbers.Integral) or ddof not in (0, 1):
        raise ValueError(f"confidence_interval: `ddof` must be 0 (population std) or 1 (sample std); got {ddof!r}.")
    if a.size <= ddof:
        raise ValueError(f"confidence_interval: the sample std (ddof=1) needs >= 2 values; got {a.size}.")
    return float(a.mean()), float(Z_95 * a.std(ddof=ddof) / math.sqrt(a.size))


def _cardinality(episodes):
    """Number of elements of a finite dataset/sequence, -1 if infinite, None if unknown."""
    if hasattr(episodes, "cardinality"):  # tf.data.Dataset
        n = int(episodes.cardinality())
        return n if n >= 0 else (-1 if n == -1 else None)  # tf.data: -1 infinite, -2 unknown
    if hasattr(episodes, "__len__"):
        return len(episodes)
    return None


def _iterate(episodes):
    if hasattr(episodes, "as_numpy_iterator"):
        return episodes.as_numpy_iterator()
    return iter(episodes)


def _split(element, index):
    """(x, y or None) of one episode."""
    if isinstance(element, dict):
        raise ValueError("evaluate_episodes: episodes must be (x, y) pairs or x alone, not dicts.")
    if isinstance(element, (tuple, list)):
        if len(element) == 1:
            return element[0], None
        if len(element) in (2, 3):  # (x, y) or (x, y, sample_weight)
            return element[0], element[1]
        raise ValueError(f"evaluate_episodes: episode {index} has {len(element)} parts; expected (x, y).")
    return element, None


def episode_accuracy(logits: Any, y: Any = None) -> float:
    """Query accuracy of one episode: mean(argmax_k logits[i, k] == y[i]).

    Args:
        logits: [query * way, way] numpy/tensor.
        y: query labels [query * way]; None = the episode contract's y[i] = i % way.
    """
    z = np.asarray(keras.ops.convert_to_numpy(logits))
    if z.ndim != 2 or z.shape[0] == 0:
        raise ValueError(f"evaluate_episodes: the model must output logits [query * way, way]; got shape {z.shape}.")
    if not np.all(np.isfinite(z)):
        raise ValueError("evaluate_episodes: the model produced NaN or Inf logits (a non-finite embedding).")
    if y is None:
        y = np.arange(z.shape[0]) % z.shape[1]
    y = np.asarray(keras.ops.convert_to_numpy(y)).reshape(-1)
    if y.shape[0] != z.shape[0]:
        raise ValueError(f"evaluate_episodes: {y.shape[0]} labels for {z.shape[0]} query logits.")
    return float(np.mean(np.argmax(z, axis=1) == y.astype(np.int64)))


def evaluate_episodes(model: Any, episodes: Any, num_episodes: int | None = None,
                      verbose: int = 1) -> dict[str, Any]:
    """Accuracy of a few-shot model over episodes, with its 95% confidence interval.

    Each episode x (shot-major, see `zoo.data.episodes`) goes through `model.predict_on_batch` (inference
    mode: BatchNorm uses its moving statistics, as the references' `model.eval()`); the per-episode
    accuracy is that of argmax over the logits against y.

    Args:
        model: a Keras model mapping one episode's images to query logits [query * way, way] (e.g. a
            backbone followed by `zoo.layers.PrototypicalHead`).
        episodes: a finite `tf.data.Dataset` or iterable of (x, y) episodes (or x alone: then y[i] = i % way,
            the episode contract), e.g. `zoo.data.episodes(split, way=5, shot=1, query=15, episodes=600)`.
        num_episodes: evaluate at most this many (None: all; required for an infinite dataset).
        verbose: 1 shows a progress bar with the running accuracy, 0 is silent.

    Returns:
        dict(mean=float, ci95=float (half-width 1.96·std/√n, population std), n=int,
        accuracies=float64 numpy array [n]).

    Example:
        >>> test = zoo.data.episodes(splits["test"], way=5, shot=1, query=15, episodes=600, seed=1)
        >>> r = zoo.metrics.evaluate_episodes(model, test)
        >>> print(f"{100 * r['mean']:.2f} ± {100 * r['ci95']:.2f} % over {r['n']} episodes")

    Reference:
        Snell et al., NeurIPS 2017 (600 test episodes); Khrulkov et al., CVPR 2020 (10,000).
    """
    if num_episodes is not None and (isinstance(num_episodes, bool) or not isinstance(num_episodes, numbers.Integral)
                                     or num_episodes < 1):
        raise ValueError(f"evaluate_episodes: `num_episodes` must be None or an integer >= 1; got {num_episodes!r}.")
    total = _cardinality(episodes)
    if total == -1 and num_episodes is None:
        raise ValueError("evaluate_episodes: the episode dataset is infinite; pass `num_episodes`.")
    target = num_episodes if total in (None, -1) else (total if num_episodes is None else min(total, num_episodes))
    bar = keras.utils.Progbar(target, stateful_metrics=["accuracy"]) if verbose else None
    accs = []
    for i, element in enumerate(_iterate(episodes)):
        if num_episodes is not None and i >= num_episodes:
            break
        x, y = _split(element, i)
        accs.append(episode_accuracy(model.predict_on_batch(x), y))
        if bar is not None:
            bar.update(i + 1, values=[("accuracy", float(np.mean(accs)))])
    if not accs:
        raise ValueError("evaluate_episodes: `episodes` yielded no episode.")
    mean, ci = confidence_interval(accs)
    return {"mean": mean, "ci95": ci, "n": len(accs), "accuracies": np.asarray(accs, np.float64)}
