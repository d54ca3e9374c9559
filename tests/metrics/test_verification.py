"""zoo.metrics.verification: the EER against scikit-learn's roc_curve + scipy's brentq (the reference's `calc_err`),
its edge cases (perfect, reversed, all ties, one class), and the range accuracy against a float64 loop."""

import numpy as np
import pytest

from zoo.metrics.verification import equal_error_rate, range_accuracy, range_scores, range_votes


def ref_eer(scores, correct):
    from scipy.interpolate import interp1d
    from scipy.optimize import brentq
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(np.asarray(correct, int), np.asarray(scores, np.float64))
    return brentq(lambda x: 1.0 - x - interp1d(fpr, tpr)(x), 0.0, 1.0, xtol=1e-14)


@pytest.mark.parametrize("seed,levels", [(0, None), (1, None), (2, 4), (3, 3), (4, 7)])
def test_eer_matches_sklearn_brentq(seed, levels):
    rng = np.random.default_rng(seed)
    n = 60 + 17 * seed
    correct = rng.random(n) < 0.6
    scores = rng.normal(size=n) + 1.2 * correct
    if levels:                         # heavy ties, as the range classifier's 1, 1/2, 1/3, 0 scores
        scores = np.round(scores * levels / 3) / levels
    assert equal_error_rate(scores, correct) == pytest.approx(ref_eer(scores, correct), abs=1e-9)


def test_eer_edges_and_threshold():
    assert equal_error_rate([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0]) == 0.0                 # perfect separation
    assert equal_error_rate([0.9, 0.8, 0.3, 0.1], [0, 0, 1, 1]) == 1.0                 # reversed
    assert equal_error_rate([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0]) == pytest.approx(0.5)  # one tie: the diagonal
    eer, thr = equal_error_rate([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0], return_threshold=True)
    assert eer == 0.0 and 0.3 <= thr <= 1.9
    assert np.isnan(equal_error_rate([0.2, 0.4], [True, True]))
    assert all(np.isnan(equal_error_rate([0.2, 0.4], [0, 0], return_threshold=True)))
    with pytest.raises(ValueError, match="is_correct"):
        equal_error_rate([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="scores"):
        equal_error_rate([0.1, np.nan], [1, 0])


def ref_range(x, y, rx, ry, kind="euclidean", renorm=False):
    """float64 loop: centroids and radii from (rx, ry), votes d < r_k, normalised, argmax (lowest id on ties),
    no vote = wrong."""
    def dist(a, b):
        if kind == "cosine":
            return 1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
        return float(np.sqrt(((a - b) ** 2).sum()))

    classes = sorted(set(ry.tolist()))
    cents = {}
    for k in classes:
        pts = rx[ry == k]
        if kind == "cosine":           # the sphere's mean (zoo.metrics.class_centroids): mean of unit vectors
            pts = pts / np.linalg.norm(pts, axis=1, keepdims=True)
        c = pts.mean(0)
        if renorm or kind == "cosine":
            c = c / np.linalg.norm(c)
        cents[k] = c
    radius = {k: max(dist(p, cents[k]) for p in rx[ry == k]) for k in classes}
    hits, tops, oks = 0, [], []
    for xi, yi in zip(x, y):
        votes = np.array([1.0 if dist(xi, cents[k]) < radius[k] else 0.0 for k in classes])
        if votes.sum() > 0:
            votes = votes / votes.sum()
        best = classes[int(np.argmax(votes))]
        ok = votes.max() > 0 and best == yi
        hits += ok
        tops.append(votes.max())
        oks.append(ok)
    return hits / len(y), np.array(tops), np.array(oks)


def blobs(n, k, dim, seed, spread=1.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centres = rng.normal(size=(k, dim)) * 2.0
    return (centres[y] + spread * rng.normal(size=(n, dim))).astype(np.float32).astype(np.float64), y


@pytest.mark.parametrize("kind,renorm,transductive", [("euclidean", False, True), ("euclidean", False, False),
                                                      ("cosine", False, False), ("euclidean", True, True)])
def test_range_accuracy_matches_float64_loop(kind, renorm, transductive):
    x, y = blobs(70, 4, 5, 0)
    rx, ry = blobs(90, 4, 5, 1)
    if transductive:
        rx, ry = x, y
    want, tops, oks = ref_range(x, y, rx, ry, kind, renorm)
    args = (None, None) if transductive else (rx, ry)
    got = range_accuracy(x.astype(np.float32), y, *args, geometry=kind, normalize_centroids=renorm)
    assert got == pytest.approx(want)
    top, ok = range_scores(x.astype(np.float32), y, *args, geometry=kind, normalize_centroids=renorm)
    np.testing.assert_allclose(top, tops)
    np.testing.assert_array_equal(ok, oks)
    assert 0.0 < got < 1.0                          # overlapping blobs: some ties / misses / no votes


def test_range_votes_identity_ties_and_no_votes():
    # Two classes on a line: class 0 at {0, 2} (centroid 1, radius 1), class 1 at {10, 14} (centroid 12, radius 2).
    rx = np.array([[0.0], [2.0], [10.0], [14.0]], np.float32)
    ry = np.array([0, 0, 1, 1])
    x = np.array([[1.0], [0.0], [11.0], [5.0]], np.float32)   # inside 0; on 0's radius (no vote); inside 1; nowhere
    classes, votes = range_votes(x, None, rx, ry)
    np.testing.assert_array_equal(classes, [0, 1])
    np.testing.assert_array_equal(votes, [[1, 0], [0, 0], [0, 1], [0, 0]])
    assert range_accuracy(x, np.array([0, 0, 1, 1]), rx, ry) == 0.5
    # Overlapping ranges: both vote (1/2 each), the tie goes to the lowest id.
    _, votes = range_votes(np.array([[5.0]], np.float32), None, np.array([[0], [10], [3], [7]], np.float32),
                           np.array([0, 0, 1, 1]))
    np.testing.assert_array_equal(votes, [[0.5, 0.5]])
    assert range_accuracy(np.array([[5.0]], np.float32), [1], np.array([[0], [10], [3], [7]], np.float32),
                          np.array([0, 0, 1, 1])) == 0.0
    with pytest.raises(ValueError, match="labels"):
        range_votes(x)
    with pytest.raises(ValueError, match="train_labels"):
        range_votes(x, None, rx)
