"""Retrieval metrics equal a brute-force float64 numpy computation (full sort per query), in any chunking;
centroid accuracy (train and transductive); bad input."""

import numpy as np
import pytest

from zoo.metrics import class_centroids, nearest_centroid_accuracy, recall_at_k, retrieval_metrics


def brute(q, ql, g, gl, ks, kind, loo):
    q, g = q.astype(np.float64), g.astype(np.float64)
    if kind == "cosine":
        qn, gn = q / np.linalg.norm(q, axis=1, keepdims=True), g / np.linalg.norm(g, axis=1, keepdims=True)
        d = 1 - qn @ gn.T
    else:
        d = np.sqrt(((q[:, None] - g[None]) ** 2).sum(-1))
    out = {f"recall@{k}": 0.0 for k in ks} | {f"precision@{k}": 0.0 for k in ks}
    maps, mapr = [], []
    for i in range(len(q)):
        idx = [j for j in np.argsort(d[i]) if not (loo and j == i)]
        rel = np.array([gl[j] == ql[i] for j in idx], float)
        for k in ks:
            out[f"recall@{k}"] += rel[:k].any() / len(q)
            out[f"precision@{k}"] += rel[:k].sum() / k / len(q)
        r = int(rel.sum())
        if r:
            prec = np.cumsum(rel) / np.arange(1, len(rel) + 1)
            maps.append((prec * rel).sum() / r)
            mapr.append((prec[:r] * rel[:r]).sum() / r)
    out["map@r"], out["map"] = np.mean(mapr), np.mean(maps)
    return out


def data(n=60, m=90, d=6, k=5, seed=0):
    rng = np.random.default_rng(seed)
    centers = 2 * rng.normal(size=(k, d))
    ql, gl = rng.integers(0, k, n), rng.integers(0, k, m)
    return (centers[ql] + rng.normal(size=(n, d))).astype(np.float32), ql, \
        (centers[gl] + rng.normal(size=(m, d))).astype(np.float32), gl


@pytest.mark.parametrize("kind", ["euclidean", "cosine"])
@pytest.mark.parametrize("max_elements", [17 * 90, 10 ** 6])
def test_matches_brute_force(kind, max_elements):
    q, ql, g, gl = data()
    got = retrieval_metrics(q, ql, g, gl, ks=(1, 3, 10), geometry=kind, mean_ap=True, max_elements=max_elements)
    ref = brute(q, ql, g, gl, (1, 3, 10), kind, False)
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key
    got = retrieval_metrics(q, ql, ks=(1, 4), geometry=kind, mean_ap=True, max_elements=max_elements)
    ref = brute(q, ql, q, ql, (1, 4), kind, True)
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key
    want = brute(q, ql, g, gl, (3,), kind, False)["recall@3"]
    assert recall_at_k(q, ql, g, gl, k=3, geometry=kind) == pytest.approx(want)


def test_nearest_centroid_accuracy_train_and_transductive():
    q, ql, g, gl = data(seed=1)
    for kind in ("euclidean", "cosine"):
        for src, lab in ((g, gl), (q, ql)):
            classes = np.unique(lab)
            s64 = src.astype(np.float64)
            if kind == "cosine":   # the sphere's mean: normalised mean of the normalised points
                s64 = s64 / np.linalg.norm(s64, axis=1, keepdims=True)
            cents = np.stack([s64[lab == c].mean(0) for c in classes])
            if kind == "cosine":
                cents /= np.linalg.norm(cents, axis=1, keepdims=True)
                qq = q / np.linalg.norm(q, axis=1, keepdims=True)
                pred = classes[np.argmax(qq @ cents.T, 1)]
            else:
                pred = classes[np.argmin(((q[:, None] - cents[None]) ** 2).sum(-1), 1)]
            want = (pred == ql).mean()
            got = (nearest_centroid_accuracy(q, ql, g, gl, kind, max_elements=5 * 25) if src is g
                   else nearest_centroid_accuracy(q, ql, geometry=kind))
            assert got == pytest.approx(want)
    classes, cents = class_centroids(g, gl)
    np.testing.assert_allclose(cents[0], g[gl == classes[0]].mean(0), rtol=1e-5)


def _unit(deg):
    a = np.deg2rad(np.asarray(deg, np.float64))
    return np.stack([np.cos(a), np.sin(a)], -1).astype(np.float32)


def test_l2_space_centroids_are_renormalised():
    """Fidelity (exponential triplet, `l2` space): the mean of unit embeddings of a spread-out class lies
    near the origin; the reference renormalises the centroids before the Euclidean nearest-centroid test.
    Class 0 spans ±80°, class 1 sits at 60°; a query at 25° is nearer class 1's raw mean but class 0's
    renormalised one (its angle to 0° is 25°, to 60° is 35°)."""
    train = _unit([-80, 80, 58, 62])
    train_y = np.array([0, 0, 1, 1])
    query, query_y = _unit([25, 0, 60]), np.array([0, 0, 1])
    classes, cents = class_centroids(train, train_y, normalize_centroids=True)
    np.testing.assert_allclose(np.linalg.norm(cents, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(cents[0], [1.0, 0.0], atol=1e-6)
    raw = nearest_centroid_accuracy(query, query_y, train, train_y)
    renormalised = nearest_centroid_accuracy(query, query_y, train, train_y, normalize_centroids=True)
    assert raw == pytest.approx(2 / 3) and renormalised == 1.0
    # transductive centroids too; on the sphere geometry the mean is already unit (no change)
    assert nearest_centroid_accuracy(query, query_y, normalize_centroids=True) == 1.0
    assert nearest_centroid_accuracy(query, query_y, train, train_y, "cosine", normalize_centroids=True) == \
        nearest_centroid_accuracy(query, query_y, train, train_y, "cosine")


def test_bad_input():
    q, ql, g, gl = data()
    with pytest.raises(ValueError, match="non-finite"):
        retrieval_metrics(np.where(np.arange(6) == 2, np.nan, q), ql)
    with pytest.raises(ValueError, match="query_labels"):
        retrieval_metrics(q, ql[:-1])
    with pytest.raises(ValueError, match="query_labels"):
        retrieval_metrics(q, np.eye(5)[ql])
    with pytest.raises(ValueError, match="ks"):
        retrieval_metrics(q, ql, ks=(0,))
    with pytest.raises(ValueError, match="dim"):
        retrieval_metrics(q, ql, g[:, :3], gl)
