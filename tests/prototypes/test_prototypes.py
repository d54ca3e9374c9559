"""zoo.prototypes: uniform (Gaussian potential), etf, Hungarian assignment, .npy + sha256 store."""

import itertools
import os
import sys

import numpy as np
import pytest

import zoo.prototypes as zp
from zoo.prototypes.uniform import _potential_grad


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_PROTOTYPES_DIR", str(tmp_path / "cache"))


def _reference_potential(p, t=2.0):
    """float64 numpy reference of the paper's loss on unnormalised rows (normalised inside, as the code)."""
    p = p / np.linalg.norm(p, axis=1, keepdims=True)
    i, j = np.triu_indices(len(p), 1)
    return np.log(np.mean(np.exp(-t * np.sum((p[i] - p[j]) ** 2, axis=1))))


def test_closed_form_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(7, 4))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    g = _potential_grad(x, 2.0)
    num = np.zeros_like(x)
    eps = 1e-6
    for a in range(x.shape[0]):
        for b in range(x.shape[1]):
            xp, xm = x.copy(), x.copy()
            xp[a, b] += eps
            xm[a, b] -= eps
            num[a, b] = (_reference_potential(xp) - _reference_potential(xm)) / (2 * eps)
    np.testing.assert_allclose(g, num, atol=1e-7)
    assert zp.gaussian_potential(x) == pytest.approx(_reference_potential(x), abs=1e-12)


def test_uniform_100x99_reaches_the_etf_value():
    p = zp.uniform(100, 99, seed=0)
    assert p.shape == (100, 99) and p.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-6)
    mx, mn = zp.pairwise_cosine_stats(p)
    assert abs(mx - (-1.0 / 99)) < 0.005, (mx, mn)
    # The paper's Table 7 (d >= C): max/min 0.00/-0.01.
    assert abs(mn - (-1.0 / 99)) < 0.005


def test_uniform_100x50_matches_table7_and_beats_random():
    p = zp.uniform(100, 50, seed=0)
    mx, mn = zp.pairwise_cosine_stats(p)
    print(f"uniform(100, 50): max cos {mx:.4f}, min cos {mn:.4f} (paper Table 7, d < C: 0.01 / -1.0)")
    assert mx < 0.02 and mn < -0.99
    start = zp.uniform(100, 50, steps=0, seed=0)
    assert zp.gaussian_potential(p) < zp.gaussian_potential(start) - 0.1


def test_uniform_small_sets_and_determinism():
    p2 = zp.uniform(10, 2, steps=300, seed=0)
    ang = np.sort(np.mod(np.arctan2(p2[:, 1], p2[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(np.diff(np.r_[ang, ang[0] + 2 * np.pi]), 2 * np.pi / 10, atol=1e-3)  # regular 10-gon
    a = zp.uniform(12, 5, steps=100, seed=3)
    np.testing.assert_array_equal(a, zp.uniform(12, 5, steps=100, seed=3))
    assert not np.array_equal(a, zp.uniform(12, 5, steps=100, seed=4))
    sub = zp.uniform(12, 5, steps=100, seed=3, batch_size=4)
    assert sub.shape == (12, 5) and np.all(np.isfinite(sub))
    with pytest.raises(ValueError, match="num"):
        zp.uniform(1, 5)
    with pytest.raises(ValueError, match="lr"):
        zp.uniform(5, 5, lr=0.0)


# uniform(12, 5, steps=200, seed=7)[:3], computed once; every backend's test run compares with these numbers.
GOLDEN_12x5 = np.array([
    [0.46591276, 0.4942694, 0.28233674, -0.37767676, -0.56237823],
    [0.74973953, 0.01097906, 0.2757957, 0.59746897, 0.06883094],
    [-0.96218246, -0.1425904, 0.00208896, 0.06428818, 0.22301459],
])


def test_uniform_same_seed_same_prototypes_on_every_backend():
    # Pure numpy (no backend import): each backend's run of this test checks the same stored numbers.
    mod = sys.modules["zoo.prototypes.uniform"]
    assert "uniform" in mod.__dict__ and not {"tensorflow", "jax", "torch", "keras"} & set(mod.__dict__)
    np.testing.assert_allclose(zp.uniform(12, 5, steps=200, seed=7)[:3], GOLDEN_12x5, atol=1e-6)


def test_etf_gram_and_errors():
    for num, dim in [(10, 9), (10, 64), (2, 1), (100, 99)]:
        m = zp.etf(num, dim).astype(np.float64)
        assert m.shape == (num, dim)
        g = m @ m.T
        expected = np.full((num, num), -1.0 / (num - 1))
        np.fill_diagonal(expected, 1.0)
        np.testing.assert_allclose(g, expected, atol=1e-6)
    with pytest.raises(ValueError, match=r"needs dim >= num - 1 = 9"):
        zp.etf(10, 5)
    mx, mn = zp.pairwise_cosine_stats(zp.etf(100, 99))
    assert mx == pytest.approx(-1 / 99, abs=1e-6) and mn == pytest.approx(-1 / 99, abs=1e-6)


def test_assign_is_the_optimum():
    rng = np.random.default_rng(0)
    for c, p in [(5, 5), (4, 6)]:
        s = rng.normal(size=(c, p))
        sigma = zp.assign(s)
        assert len(set(sigma.tolist())) == c
        best = max(sum(s[k, perm[k]] for k in range(c)) for perm in itertools.permutations(range(p), c))
        assert s[np.arange(c), sigma].sum() == pytest.approx(best)
    q = rng.normal(size=(6, 3))
    protos = rng.normal(size=(6, 3))
    np.testing.assert_array_equal(zp.assign_from_means(q, protos), zp.assign(q @ protos.T))
    from scipy.optimize import linear_sum_assignment

    np.testing.assert_array_equal(zp.assign(q @ protos.T), linear_sum_assignment(-(q @ protos.T))[1])


def test_assign_bad_input():
    with pytest.raises(ValueError, match="only 3 prototypes"):
        zp.assign(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="only 3 prototypes"):
        zp.assign_from_means(np.zeros((4, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        zp.assign(np.array([[np.nan, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="not a permutation"):
        zp.check_assignment([0, 1, 1], 3, 3)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        zp.check_assignment([0, 1, 3], 3, 3)
    with pytest.raises(ValueError, match="shape"):
        zp.check_assignment([0, 1], 3, 3)
    np.testing.assert_array_equal(zp.check_assignment([2, 0, 1], 3, 4), [2, 0, 1])


def test_store_roundtrip_hash_and_shape(tmp_path):
    p = zp.etf(6, 5)
    path = tmp_path / "p.npy"
    digest = zp.save(path, p)
    assert open(str(path) + ".sha256").read().split()[0] == digest == zp.sha256_file(path)
    np.testing.assert_array_equal(zp.load(path, shape=(6, 5)), p)
    with pytest.raises(zp.PrototypeFileError, match="expected"):
        zp.load(path, shape=(6, 4))
    with pytest.raises(zp.PrototypeFileError, match="sha256"):
        zp.load(path, sha256="0" * 64)
    np.save(path, np.zeros((6, 5), np.float32))  # overwritten behind the sidecar's back
    with pytest.raises(zp.PrototypeFileError, match="sha256"):
        zp.load(path)
    with pytest.raises(zp.PrototypeFileError, match="does not exist"):
        zp.load(tmp_path / "missing.npy")


def test_load_or_estimate_caches(monkeypatch):
    a = zp.load_or_estimate("uniform", 8, 3, steps=50)
    files = os.listdir(zp.cache_dir())
    assert sorted(files) == ["uniform_8x3_seed0_steps50.npy", "uniform_8x3_seed0_steps50.npy.sha256"]

    def boom(*args, **kwargs):
        raise AssertionError("re-estimated instead of reading the cache")

    monkeypatch.setattr(sys.modules["zoo.prototypes.uniform"], "uniform", boom)
    np.testing.assert_array_equal(zp.load_or_estimate("uniform", 8, 3, steps=50), a)
    np.testing.assert_array_equal(zp.load_or_estimate("etf", 8, 7), zp.etf(8, 7))
    with pytest.raises(ValueError, match="kind"):
        zp.load_or_estimate("random", 8, 3)


# -- reliability (issue #13): a cache that cannot be written, zero rows in files, progress ------------------------


def _store():
    return sys.modules["zoo.prototypes.store"]


def test_unwritable_cache_warns_and_returns_the_estimate(monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_store().tempfile, "mkstemp", denied)
    with pytest.warns(RuntimeWarning, match="could not cache"):
        a = zp.load_or_estimate("uniform", 8, 3, steps=20)
    np.testing.assert_array_equal(a, zp.uniform(8, 3, steps=20))
    assert not os.path.exists(zp.cache_dir()) or os.listdir(zp.cache_dir()) == []


def test_full_disk_leaves_no_temporary_file(monkeypatch):
    real_save = np.save

    def full(f, arr, **kwargs):  # a few bytes land, then the disk is full
        real_save(f, arr[:1], **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_store().np, "save", full)
    with pytest.warns(RuntimeWarning, match="No space left"):
        a = zp.load_or_estimate("uniform", 8, 3, steps=20)
    assert a.shape == (8, 3)
    assert os.listdir(zp.cache_dir()) == []   # no .tmp, no half-written set
    with pytest.raises(OSError, match="No space"):
        zp.save(os.path.join(zp.cache_dir(), "p.npy"), a)
    assert os.listdir(zp.cache_dir()) == []


def test_a_file_with_a_zero_row_is_refused(tmp_path):
    p = zp.etf(4, 3)
    p[2] = 0.0
    path = tmp_path / "zero.npy"
    np.save(path, p)  # written by hand: no sidecar
    with pytest.raises(zp.PrototypeFileError, match=r"all-zero row\(s\) \[2\]"):
        zp.load(path)
    with pytest.raises(ValueError, match="all-zero row"):
        zp.save(tmp_path / "z2.npy", p)


def test_uniform_progress_and_argument_errors(capsys):
    zp.uniform(4, 2, steps=3, verbose=1)
    out = capsys.readouterr().out
    assert "estimating 4 prototypes in 2-d" in out and "3/3" in out
    zp.uniform(4, 2, steps=3)   # "auto": short estimates stay silent
    zp.uniform(4, 2, steps=3, verbose=0)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="`seed` must be an integer >= 0; got -1"):
        zp.uniform(4, 2, seed=-1)
    with pytest.raises(ValueError, match="`verbose` must be 0, 1 or 'auto'"):
        zp.uniform(4, 2, verbose="yes")
