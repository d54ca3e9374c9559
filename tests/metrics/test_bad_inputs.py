"""Issue #13 (reliability) for zoo.metrics: Poincaré points outside the ball and "distances" that are not a
distance matrix are refused with a message naming the argument (item 18); δ-hyperbolicity reports its
progress on long runs (item 19)."""

import math

import numpy as np
import pytest

import zoo
from zoo.metrics import (
    class_centroids,
    delta_hyperbolicity,
    distance_to_origin,
    gromov_delta,
    nearest_centroid_accuracy,
    pairwise_distances,
    recall_at_k,
    retrieval_metrics,
)
from zoo.metrics import hyperbolicity as H

RNG = np.random.default_rng(0)
C = 0.25  # radius 2
INSIDE = (RNG.normal(size=(12, 3)) * 0.3).astype(np.float32)
LABELS = np.arange(12) % 3
OUTSIDE = INSIDE.copy()
OUTSIDE[4] = [2.5, 0.0, 0.0]  # norm 2.5 > radius 2


def _ball_error(name):
    return pytest.raises(ValueError, match=rf"`{name}` has 1 of 12 points outside the Poincaré ball of radius "
                                           rf"1/sqrt\(c\) = 2 \(c=0.25\).*largest norm is 2\.5")


def test_retrieval_metrics_refuse_points_outside_the_ball():
    geo = zoo.geometry.get("poincare", c=C)
    for geometry in (geo, geo.get_config()):
        assert 0 <= retrieval_metrics(INSIDE, LABELS, geometry=geometry)["recall@1"] <= 1
        with _ball_error("query"):
            retrieval_metrics(OUTSIDE, LABELS, geometry=geometry)
        with _ball_error("gallery"):
            recall_at_k(INSIDE, LABELS, OUTSIDE, LABELS, geometry=geometry)
        with _ball_error("embeddings"):
            class_centroids(OUTSIDE, LABELS, geometry=geometry)
        with _ball_error("embeddings"):
            nearest_centroid_accuracy(OUTSIDE, LABELS, INSIDE, LABELS, geometry=geometry)
        with _ball_error("train_embeddings"):
            nearest_centroid_accuracy(INSIDE, LABELS, OUTSIDE, LABELS, geometry=geometry)
    # Other geometries take any point.
    assert 0 <= retrieval_metrics(OUTSIDE, LABELS, geometry="euclidean")["recall@1"] <= 1


def test_distance_to_origin_and_pairwise_distances_refuse_points_outside_the_ball():
    with _ball_error("points"):
        distance_to_origin(OUTSIDE, c=C)
    with _ball_error("x"):
        pairwise_distances(OUTSIDE, metric="poincare", c=C)
    with _ball_error("x"):
        delta_hyperbolicity(OUTSIDE, n_samples=12, n_tries=1, metric="poincare", c=C, replace=False)
    on_boundary = np.array([[2.0, 0.0, 0.0]])  # norm = radius: infinitely far, not a point of the ball
    with pytest.raises(ValueError, match="`points` has 1 of 1 points outside"):
        distance_to_origin(on_boundary, c=C)
    for bad in (-1.0, np.float32(0.0), "1", np.nan):
        with pytest.raises(ValueError, match="`c` must be a finite number > 0"):
            distance_to_origin(INSIDE, c=bad)
    # Inside: the values of the geometry (a float32 point projected by zoo.geometry is inside).
    edge = np.asarray(zoo.geometry.poincare.project(np.array([[9.0, 0.0, 0.0]], np.float32), C))
    assert distance_to_origin(edge, c=C)[0] == pytest.approx(2 / math.sqrt(C) * math.atanh(1 - 1e-3), rel=1e-4)


def test_delta_refuses_matrices_that_are_not_distances():
    d = pairwise_distances(RNG.normal(size=(20, 3)))
    negative = d.copy()
    negative[2, 5] = negative[5, 2] = -0.5
    asymmetric = d.copy()
    asymmetric[2, 5] += 1.0
    for name, call in (("distances", lambda m: gromov_delta(m)),
                       ("x", lambda m: delta_hyperbolicity(m, n_samples=20, n_tries=1, metric="precomputed"))):
        with pytest.raises(ValueError, match=rf"`{name}` has 2 negative entries \(the smallest -0\.5\)"):
            call(negative)
        with pytest.raises(ValueError, match=rf"`{name}` is not symmetric: \|d\[i, j\] - d\[j, i\]\| up to 1"):
            call(asymmetric)
    # float32 rounding (asymmetry ~1e-7 of the diameter, tiny negative values) is accepted.
    noisy = (d + RNG.normal(size=d.shape) * 1e-7 * d.max()).astype(np.float32)
    np.fill_diagonal(noisy, -1e-9)
    assert gromov_delta(noisy) == pytest.approx(gromov_delta(d), abs=1e-5 * d.max())


def test_delta_shows_progress_when_asked_or_long(capsys, monkeypatch):
    x = RNG.normal(size=(40, 3))
    quiet = delta_hyperbolicity(x, n_samples=30, n_tries=2)
    assert capsys.readouterr().out == ""
    loud = delta_hyperbolicity(x, n_samples=30, n_tries=2, verbose=1)
    out = capsys.readouterr().out
    assert "δ-hyperbolicity: 2 tries of 30 points" in out and "16/16" in out  # 2 tries x 8 blocks of 4 rows
    assert loud["deltas"] == quiet["deltas"]  # the progress bar changes nothing
    gromov_delta(pairwise_distances(x), verbose=1)
    assert "δ-hyperbolicity" in capsys.readouterr().out
    # "auto" (the default) turns it on above AUTO_VERBOSE_WORK (~5 s): n_tries * n_samples^3.
    assert H.AUTO_VERBOSE_WORK <= 4000**3 and H.AUTO_VERBOSE_WORK >= 500**3 * 10
    monkeypatch.setattr(H, "AUTO_VERBOSE_WORK", 30**3 * 2)
    delta_hyperbolicity(x, n_samples=30, n_tries=2)
    assert "δ-hyperbolicity" in capsys.readouterr().out
    for bad in (3, "yes", -1):
        with pytest.raises(ValueError, match="`verbose` must be"):
            gromov_delta(pairwise_distances(x), verbose=bad)
