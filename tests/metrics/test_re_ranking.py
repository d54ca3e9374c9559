"""k-reciprocal re-ranking: memory-light == dense reference == a float64 transcription of the reference's
semantics; hand-checked tiny case; parameter paths (k2 = 1, lambda = 1, squared); validation."""

import math

import numpy as np
import pytest

from zoo.metrics.re_ranking import _stable_top, re_ranking


def _clustered(n=360, nq=90, ids=30, dim=12, seed=0):
    """Features with identity clusters (non-trivial k-reciprocal sets), split into query and gallery."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(ids, dim))
    x = (centers[rng.integers(0, ids, n)] + 0.6 * rng.normal(size=(n, dim))).astype(np.float32)
    return x[:nq], x[nq:]


def _dist(a, b):
    return np.sqrt(((a[:, None, :].astype(np.float64) - b[None]) ** 2).sum(-1)).astype(np.float32)


@pytest.fixture(scope="module")
def blocks():
    q, g = _clustered()
    return _dist(q, g), _dist(q, q), _dist(g, g)


def _reference64(q_g, q_q, g_g, k1, k2, lam):
    """Straightforward float64 transcription of the published algorithm, with Python sets."""
    d = np.block([[q_q, q_g], [q_g.T, g_g]]).astype(np.float64) ** 2
    d = (d / d.max(axis=0)).T
    n, nq = len(d), len(q_g)
    rank = np.argsort(d, axis=1, kind="stable")

    def recip(i, k):
        return [j for j in rank[i, :k + 1] if i in rank[j, :k + 1]]

    v = np.zeros((n, n))
    for i in range(n):
        r = recip(i, k1)
        members = set(r)
        for j in r:
            half = recip(j, int(np.around(k1 / 2)))
            if len(set(half) & set(r)) > 2 / 3 * len(half):
                members |= set(half)
        idx = sorted(members)
        w = np.exp(-d[i, idx])
        v[i, idx] = w / w.sum()
    if k2 > 1:
        v = np.stack([v[rank[i, :k2]].mean(axis=0) for i in range(n)])
    s = np.minimum(v[:nq, None, :], v[None, nq:, :]).sum(-1)
    return (1 - s / (2 - s)) * (1 - lam) + d[:nq, nq:] * lam


@pytest.mark.parametrize("k1,k2,lam", [(20, 6, 0.3), (7, 1, 0.5), (5, 3, 0.0)])
def test_sparse_equals_dense_blocks(blocks, k1, k2, lam):
    dense = re_ranking(*blocks, k1=k1, k2=k2, lambda_value=lam, method="dense")
    sparse = re_ranking(*blocks, k1=k1, k2=k2, lambda_value=lam, max_elements=5000)
    assert sparse.shape == dense.shape == blocks[0].shape and sparse.dtype == np.float32
    np.testing.assert_allclose(sparse, dense, rtol=0, atol=1e-6)
    # non-trivial: the re-ranking changes the order of many gallery items
    assert (np.argsort(sparse, 1)[:, :5] != np.argsort(blocks[0], 1)[:, :5]).any()


def test_dense_equals_float64_transcription(blocks):
    expected = _reference64(*blocks, 20, 6, 0.3)
    np.testing.assert_allclose(re_ranking(*blocks, method="dense"), expected, rtol=0, atol=2e-5)


@pytest.mark.parametrize("geometry", ["euclidean", "cosine"])
def test_sparse_equals_dense_features(geometry):
    q, g = _clustered(n=240, nq=60, seed=1)
    dense = re_ranking(query_features=q, gallery_features=g, geometry=geometry, method="dense",
                       max_elements=7000)
    sparse = re_ranking(query_features=q, gallery_features=g, geometry=geometry, max_elements=7000)
    np.testing.assert_allclose(sparse, dense, rtol=0, atol=1e-6)
    if geometry == "euclidean":   # same ranking problem as the blocks (up to float32 rounding of d)
        qg, qq, gg = _dist(q, g), _dist(q, q), _dist(g, g)
        np.testing.assert_allclose(sparse, re_ranking(qg, qq, gg), rtol=0, atol=1e-4)


def test_lambda_one_returns_normalised_distance(blocks):
    q_g, q_q, _ = blocks
    d2 = np.square(np.block([[q_q, q_g]]).astype(np.float64)).astype(np.float32)     # query rows of D (symmetric)
    col_max = d2.max(axis=1)
    expected = np.square(q_g.astype(np.float64)).astype(np.float32) / col_max[:, None]
    for method in ("sparse", "dense"):
        out = re_ranking(*blocks, lambda_value=1.0, method=method)
        np.testing.assert_array_equal(out, expected)


def test_squared_option_and_torchreid_fourth_power(blocks):
    q_g, q_q, g_g = blocks
    sq = [np.square(b.astype(np.float64)).astype(np.float32) for b in blocks]
    plain = re_ranking(q_g, q_q, g_g)
    np.testing.assert_array_equal(re_ranking(*sq, squared=True), plain)
    # torchreid's pipeline: squared distances squared again (d^4) -- a different ranking problem
    assert np.abs(re_ranking(*sq) - plain).max() > 1e-3


def test_tiny_hand_checked_case():
    # 1-D points: query 0 at 0; gallery at 1, 10, 11. k1 = 1, k2 = 1, lambda = 1/2.
    x = np.array([0.0, 1.0, 10.0, 11.0])
    d = np.abs(x[:, None] - x[None]).astype(np.float32)
    out = re_ranking(d[:1, 1:], d[:1, :1], d[1:, 1:], k1=1, k2=1, lambda_value=0.5)
    # R*(0) = {0, 1}, R*(1) = {0, 1}; V from the row-max normalised squared distances (maxima 121 and 100)
    a, b = math.exp(-1 / 121), math.exp(-0.01)
    s = min(1 / (1 + a), b / (1 + b)) + min(a / (1 + a), 1 / (1 + b))
    expected = [0.5 * (1 - s / (2 - s)) + 0.5 / 121, 0.5 + 0.5 * 100 / 121, 0.5 + 0.5]
    np.testing.assert_allclose(out[0], expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(re_ranking(d[:1, 1:], d[:1, :1], d[1:, 1:], k1=1, k2=1, lambda_value=0.5,
                                          method="dense")[0], expected, rtol=0, atol=1e-6)
    # k1 + 1 and k2 larger than N: every list is the whole set, in both versions
    np.testing.assert_array_equal(re_ranking(d[:1, 1:], d[:1, :1], d[1:, 1:]),
                                  re_ranking(d[:1, 1:], d[:1, :1], d[1:, 1:], method="dense"))


def test_stable_top_breaks_ties_by_index():
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 4, size=(50, 30)).astype(np.float32)      # many ties across the k-th value
    for k in (1, 5, 29, 30):
        np.testing.assert_array_equal(_stable_top(rows, k), np.argsort(rows, axis=1, kind="stable")[:, :k])


def test_ties_sparse_equals_dense():
    x = np.repeat(np.arange(20.0), 3)[:, None] + np.tile([0.0, 0.0, 1e-3], 20)[:, None]   # exact duplicates
    d = np.abs(x - x.T).astype(np.float32)
    args = (d[:12, 12:], d[:12, :12], d[12:, 12:])
    np.testing.assert_allclose(re_ranking(*args, k1=4, k2=2), re_ranking(*args, k1=4, k2=2, method="dense"),
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    ({"k1": 0}, "`k1`"),
    ({"k2": 0}, "`k2`"),
    ({"lambda_value": 1.5}, "`lambda_value`"),
    ({"method": "fast"}, "`method`"),
    ({"squared": "yes"}, "`squared`"),
])
def test_bad_parameters(kwargs, match):
    d = np.ones((2, 2), np.float32)
    with pytest.raises(ValueError, match=match):
        re_ranking(d, d, d, **kwargs)


def test_bad_inputs():
    q_g, q_q, g_g = np.ones((2, 3), np.float32), np.ones((2, 2), np.float32), np.ones((3, 3), np.float32)
    with pytest.raises(ValueError, match="`q_q` must be square"):
        re_ranking(q_g, np.ones((2, 3)), g_g)
    with pytest.raises(ValueError, match="`g_g` must be square"):
        re_ranking(q_g, q_q, np.ones((2, 2)))
    with pytest.raises(ValueError, match="`q_g` must be a 2-D"):
        re_ranking(np.ones(3), q_q, g_g)
    bad = g_g.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"`g_g` has non-finite values \(first at \[1, 2\]\)"):
        re_ranking(q_g, q_q, bad)
    with pytest.raises(ValueError, match="`q_g` must hold distances >= 0"):
        re_ranking(-q_g, q_q, g_g)
    with pytest.raises(ValueError, match="missing"):
        re_ranking(q_g, q_q)
    with pytest.raises(ValueError, match="not both"):
        re_ranking(q_g, q_q, g_g, query_features=np.ones((2, 4)), gallery_features=np.ones((3, 4)))
    with pytest.raises(ValueError, match="only one"):
        re_ranking(query_features=np.ones((2, 4)))
    with pytest.raises(ValueError, match="`gallery_features` has dim"):
        re_ranking(query_features=np.ones((2, 4)), gallery_features=np.ones((3, 5)))
    with pytest.raises(ValueError, match="is 0"):
        re_ranking(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="outside the Poincaré ball"):
        re_ranking(query_features=np.full((2, 2), 0.9), gallery_features=np.zeros((3, 2)), geometry="poincare")
