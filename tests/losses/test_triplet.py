"""TripletLoss (batch-hard, batch-all, semi-hard) against float64 numpy loops; vectorised mining picks the
same pairs as a brute-force loop; zero-distance / single-class gradients; bad input; serialization."""

import numpy as np
import pytest

import zoo.geometry
from tests.harness import check_loss
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.losses import TripletLoss
from zoo.losses._mining import hardest, pair_masks, pairwise
from zoo.losses.triplet import triplet_loss


def ref_dist(x, kind="euclidean"):
    x = x.astype(np.float64)
    if kind == "cosine":
        u = x / np.linalg.norm(x, axis=1, keepdims=True)
        return 1.0 - u @ u.T
    return np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))


def brute_hardest(d, y, stride=1):
    """Per-anchor (hardest positive index, hardest negative index) by a plain loop (None if missing)."""
    out = []
    for a in range(len(y)):
        if a % stride:
            out.append((None, None))
            continue
        pos = [j for j in range(len(y)) if j != a and y[j] == y[a]]
        neg = [j for j in range(len(y)) if y[j] != y[a]]
        out.append((max(pos, key=lambda j: d[a, j]) if pos else None,
                    min(neg, key=lambda j: d[a, j]) if neg else None))
    return out


def ref_triplet(x, y, margin, mining, kind="euclidean", squared=False):
    d = ref_dist(x, kind)
    if squared:
        d = d ** 2
    n = len(y)
    vals = []
    if mining == "batch_hard":
        for a, (p, q) in enumerate(brute_hardest(d, y)):
            if p is not None and q is not None:
                vals.append(max(d[a, p] - d[a, q] + margin, 0.0))
    elif mining == "batch_all":
        for a in range(n):
            for p in range(n):
                for q in range(n):
                    if p != a and y[p] == y[a] and y[q] != y[a]:
                        vals.append(max(d[a, p] - d[a, q] + margin, 0.0))
    else:
        for a in range(n):
            negs = [q for q in range(n) if y[q] != y[a]]
            if not negs:
                continue
            for p in range(n):
                if p == a or y[p] != y[a]:
                    continue
                semi = [d[a, q] for q in negs if d[a, q] > d[a, p]]
                dn = min(semi) if semi else max(d[a, q] for q in negs)
                vals.append(max(d[a, p] - dn + margin, 0.0))
    return np.mean(vals) if vals else 0.0


def batch(b=12, dim=5, k=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(b, dim)).astype(np.float32), rng.integers(0, k, size=b)


@pytest.mark.parametrize("mining", ["batch_hard", "batch_all", "semi_hard"])
@pytest.mark.parametrize("kind,squared", [("euclidean", False), ("cosine", False), ("euclidean", True)])
def test_matches_numpy_reference(mining, kind, squared):
    for seed in (0, 1):
        x, y = batch(seed=seed)
        got = float(to_numpy(TripletLoss(margin=0.3, mining=mining, distance=kind, squared=squared)(y, x)))
        assert got == pytest.approx(ref_triplet(x, y, 0.3, mining, kind, squared), rel=2e-5, abs=1e-5)


def test_batch_hard_mining_picks_the_brute_force_pairs():
    for seed in range(3):
        x, y = batch(b=16, seed=seed)
        d = to_numpy(pairwise(x, zoo.geometry.get("euclidean")))
        hp, hn, has_p, has_n = (to_numpy(t) for t in hardest(d, *pair_masks(y, anchor_stride=2)))
        for a, (p, q) in enumerate(brute_hardest(ref_dist(x), y, stride=2)):
            assert bool(has_p[a]) == (p is not None) and bool(has_n[a]) == (q is not None)
            if p is not None:
                assert hp[a] == pytest.approx(d[a, p], abs=1e-6)
            if q is not None:
                assert hn[a] == pytest.approx(d[a, q], abs=1e-6)


def test_poincare_geometry():
    x, y = batch()
    x = 0.2 * x / np.linalg.norm(x, axis=1, keepdims=True)
    d = to_numpy(zoo.geometry.get("poincare").pairwise_distance(x, x)).astype(np.float64)
    ref = np.mean([max(d[a, p] - d[a, q] + 0.1, 0) for a, (p, q) in enumerate(brute_hardest(d, y))
                   if p is not None and q is not None])
    assert float(to_numpy(triplet_loss(y, x, 0.1, distance="poincare"))) == pytest.approx(ref, rel=1e-4)


@pytest.mark.parametrize("mining", ["batch_hard", "batch_all", "semi_hard"])
def test_finite_gradients_identical_embeddings_and_single_class(mining):
    x = np.ones((6, 4), np.float32)
    y = np.array([0, 0, 1, 1, 2, 2])
    v, (g,) = value_and_grad(lambda e: triplet_loss(y, e, 0.2, mining, center_weight=1.0), x)
    assert_all_finite(v, g)
    assert float(v) == pytest.approx(0.2, abs=1e-5)
    v, (g,) = value_and_grad(lambda e: triplet_loss(np.zeros(6, int), e, 0.2, mining), batch(6)[0])
    assert_all_finite(v, g)
    assert float(v) == 0.0 and not g.any()


def test_no_positive_pair_is_a_documented_zero():
    x, _ = batch(b=5)
    v, (g,) = value_and_grad(lambda e: triplet_loss(np.arange(5), e), x)
    assert float(v) == 0.0 and not g.any()


def test_bad_input():
    x, y = batch()
    with pytest.raises(ValueError, match="y_true"):
        TripletLoss()(np.eye(4)[y], x)
    with pytest.raises(ValueError, match="labels"):
        TripletLoss()(y[:5], x)
    with pytest.raises(ValueError, match="mining"):
        TripletLoss(mining="hardest")
    with pytest.raises(ValueError, match="margin"):
        TripletLoss(margin=-1)
    with pytest.raises(ValueError, match="geometry"):
        TripletLoss(distance="manhattan")


def test_keras_object_checks():
    loss = TripletLoss(margin=0.4, mining="semi_hard", distance="cosine", squared=True, anchor_stride=3,
                       center_weight=0.5, center_margin=0.1)
    x, y = batch()
    check_loss(loss, y, x)
    assert TripletLoss.from_config(loss.get_config()).get_config() == loss.get_config()
    # geometry names and aliases are zoo.geometry.get's: "cos" is the cosine distance on the sphere
    assert float(to_numpy(TripletLoss(distance="cos")(y, x))) == pytest.approx(
        float(to_numpy(TripletLoss(distance="cosine")(y, x))))
    # a geometry object or its config dict is stored as the config dict
    as_object = TripletLoss(distance=zoo.geometry.get("poincare", c=0.5))
    assert as_object.get_config()["distance"] == {"name": "poincare", "c": 0.5}
    assert float(to_numpy(as_object(y, 0.1 * x))) == pytest.approx(float(to_numpy(triplet_loss(
        y, 0.1 * x, distance={"name": "poincare", "c": 0.5}))))
