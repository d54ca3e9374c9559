"""zoo.metrics.uncertainty: distance to the origin against the in-graph dist0 and float64, AUROC against a
brute-force pair count (ties), orientation of the OOD AUROC, FPR at 95% TPR, bad input."""

import math

import numpy as np
import pytest

from tests.helpers import to_numpy
from zoo.geometry import poincare as P
from zoo.metrics.uncertainty import (
    auroc,
    distance_to_origin,
    fpr_at_tpr,
    max_softmax_probability,
    ood_auroc,
    ood_report,
)


@pytest.mark.parametrize("c", [1e-3, 0.05, 1.0])
def test_distance_to_origin(c):
    rng = np.random.default_rng(0)
    v = rng.normal(size=(100, 3))
    x = v / np.linalg.norm(v, axis=1, keepdims=True) * rng.uniform(0, 0.999, (100, 1)) / math.sqrt(c)
    want = 2 / math.sqrt(c) * np.arctanh(math.sqrt(c) * np.linalg.norm(x, axis=1))
    np.testing.assert_allclose(distance_to_origin(x, c), want, rtol=1e-12)
    np.testing.assert_allclose(distance_to_origin(x, c), to_numpy(P.dist0(x.astype(np.float32), c)), rtol=1e-4)
    # points past the boundary are refused (issue #13: they were scored as the clamped maximum)
    with pytest.raises(ValueError, match="`points` has 1 of 1 points outside the Poincaré ball"):
        distance_to_origin(np.array([[10.0 / math.sqrt(c), 0.0, 0.0]]), c)
    # inside, next to the boundary: the artanh clamp at 1 - 1e-5 (as dist0), not inf
    near = distance_to_origin(np.array([[(1 - 1e-9) / math.sqrt(c), 0.0, 0.0]]), c)
    assert near[0] == pytest.approx(2 / math.sqrt(c) * math.atanh(1 - 1e-5))


def brute_auroc(pos, neg):
    pos, neg = np.asarray(pos, float)[:, None], np.asarray(neg, float)[None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def test_auroc_matches_pair_count_and_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    for _ in range(5):
        pos, neg = rng.integers(0, 6, 70).astype(float), rng.integers(0, 5, 50).astype(float)  # many ties
        want = brute_auroc(pos, neg)
        assert auroc(pos, neg) == pytest.approx(want, abs=1e-12)
        labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        assert auroc(pos, neg) == pytest.approx(roc_auc_score(labels, np.r_[pos, neg]), abs=1e-12)
    assert auroc([1, 2, 3], [0, 0]) == 1.0 and auroc([0, 0], [1, 2]) == 0.0 and auroc([1, 1], [1]) == 0.5


def test_ood_orientation_fpr_and_report():
    d_in = np.array([3.0, 4.0, 5.0, 6.0])  # in-distribution: far from the origin
    d_out = np.array([0.5, 1.0, 3.5])  # OOD: near the centre
    assert ood_auroc(d_in, d_out) == pytest.approx(brute_auroc(d_in, d_out))
    assert ood_auroc(-d_in, -d_out, lower_is_ood=False) == pytest.approx(ood_auroc(d_in, d_out))
    rng = np.random.default_rng(2)
    s_in, s_out = rng.normal(2, 1, 5000), rng.normal(0, 1, 5000)
    thr = np.quantile(s_in, 0.05)
    assert fpr_at_tpr(s_in, s_out) == pytest.approx(np.mean(s_out >= thr))
    rep = ood_report(s_in, s_out)
    assert 0.9 < rep["auroc"] < 0.95 and rep["n_in"] == 5000 and rep["in_mean"] > rep["out_mean"]


def test_bad_input():
    with pytest.raises(ValueError, match="`c` must be a finite number > 0"):
        distance_to_origin(np.zeros((2, 2)), c=0.0)
    with pytest.raises(ValueError, match="non-finite embedding"):
        distance_to_origin(np.array([[np.nan, 0.0]]), c=1.0)
    with pytest.raises(ValueError, match="NaN or Inf"):
        auroc([1.0, np.inf], [0.0])
    with pytest.raises(ValueError, match="empty"):
        ood_auroc([], [1.0])


def test_max_softmax_probability_against_a_float64_loop():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 4)) * 30.0
    z[0] = [1000.0, -1000.0, 0.0, 999.0]  # no overflow: the shift by the row max
    ref = [max(math.exp(v - max(row)) for v in row) / sum(math.exp(v - max(row)) for v in row) for row in z]
    np.testing.assert_allclose(max_softmax_probability(z), ref, rtol=1e-12)
    np.testing.assert_allclose(max_softmax_probability(np.zeros((2, 5))), 0.2)  # uniform: 1/K
    with pytest.raises(ValueError, match="logits"):
        max_softmax_probability(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="logits"):
        max_softmax_probability(np.array([[np.nan, 1.0]]))
