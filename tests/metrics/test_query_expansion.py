"""zoo.metrics.query_expansion equals a per-row transcription of fast-reid's `aqe` (float64, full similarity
matrix), in any block size; k = 1 is the identity; bad input."""

import numpy as np
import pytest

from zoo.metrics.query_expansion import query_expansion


def aqe_reference(q, g, times, k, alpha):
    """fast-reid `evaluation/query_expansion.py::aqe`, with numpy instead of torch, one row at a time."""
    feats = np.concatenate([q, g]).astype(np.float64)
    unit = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    for _ in range(times):
        out = []
        for sim in unit @ unit.T:
            rank = np.argsort(-sim)[:k]
            out.append(np.mean(feats[rank] * np.power(sim[rank], alpha)[:, None], axis=0))
        feats = np.stack(out)
        unit = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    return feats[:len(q)], feats[len(q):]


@pytest.mark.parametrize("k, alpha, times", [(5, 3.0, 1), (3, 1.0, 2), (4, 0.0, 1)])
def test_equals_fastreid_transcription(k, alpha, times):
    rng = np.random.default_rng(k)
    q, g = rng.normal(size=(7, 5)).astype(np.float32), rng.normal(size=(19, 5)).astype(np.float32)
    want_q, want_g = aqe_reference(q, g, times, k, alpha)
    for max_elements in (2 ** 24, 26 * 3, 1):
        got_q, got_g = query_expansion(q, g, k=k, alpha=alpha, times=times, max_elements=max_elements)
        assert got_q.shape == q.shape and got_g.shape == g.shape and got_q.dtype == np.float32
        np.testing.assert_allclose(got_q, want_q, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got_g, want_g, rtol=1e-5, atol=1e-6)


def test_identity_cases_and_bad_input():
    rng = np.random.default_rng(0)
    q, g = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(6, 3)).astype(np.float32)
    got_q, got_g = query_expansion(q, g, k=1)                 # the only neighbour is the item itself, weight 1
    np.testing.assert_allclose(got_q, q, rtol=1e-6)
    np.testing.assert_allclose(got_g, g, rtol=1e-6)
    same_q, _ = query_expansion(q, g, times=0)
    np.testing.assert_array_equal(same_q, q)
    with pytest.raises(ValueError, match="`k` must be an integer in \\[1, 10\\]"):
        query_expansion(q, g, k=11)
    with pytest.raises(ValueError, match="`alpha`"):
        query_expansion(q, g, alpha=-1)
    with pytest.raises(ValueError, match="dim"):
        query_expansion(q, g[:, :2])
    bad = q.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="`query` has 1 non-finite.*row 2"):
        query_expansion(bad, g)
