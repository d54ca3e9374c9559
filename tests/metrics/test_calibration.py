"""zoo.metrics.calibration: ECE against a float64 loop written from the textbook definition (right-closed
bins as DL2PA's `np.digitize(..., right=True)`), the identities (calibrated -> 0, confidently wrong -> 1,
one bin -> |accuracy - mean confidence|), bin edges, the reliability-diagram bins and bad inputs."""

import numpy as np
import pytest

from zoo.metrics.calibration import expected_calibration_error


def loop_ece(p, y, bins):
    """Σ_b |B_b|/N |acc − conf| with sample i in bin b when b/bins < max p_i <= (b+1)/bins (loops, float64)."""
    n = len(y)
    members = [[] for _ in range(bins)]
    for i in range(n):
        c = max(p[i])
        pred = int(np.argmax(p[i]))
        for b in range(bins):
            if b / bins < c <= (b + 1) / bins:
                members[b].append((c, pred == y[i]))
                break
    total = 0.0
    for m in members:
        if m:
            acc = sum(float(ok) for _, ok in m) / len(m)
            conf = sum(c for c, _ in m) / len(m)
            total += len(m) / n * abs(acc - conf)
    return total


def random_probs(rng, n, k, sharp):
    z = rng.normal(size=(n, k)) * sharp
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.mark.parametrize("bins", [1, 7, 15])
def test_matches_float64_loop(bins):
    rng = np.random.default_rng(0)
    for sharp in (0.5, 3.0):
        p = random_probs(rng, 300, 6, sharp)
        y = rng.integers(0, 6, 300)
        assert expected_calibration_error(p, y, bins=bins) == pytest.approx(loop_ece(p, y, bins), abs=1e-12)
    # float32 tensors of any backend are accepted
    import keras

    p32 = keras.ops.convert_to_tensor(p.astype("float32"))
    assert expected_calibration_error(p32, y, bins) == pytest.approx(loop_ece(p.astype("float32"), y, bins), abs=1e-6)


def test_identities():
    # perfectly calibrated: confidence 0.7 on every sample, 7 of 10 right
    p = np.tile([0.7, 0.3], (10, 1))
    y = np.array([0] * 7 + [1] * 3)
    assert expected_calibration_error(p, y) == pytest.approx(0.0, abs=1e-12)
    # confidently wrong: confidence 1, never right
    p = np.eye(4)[[0, 1, 2, 3]]
    assert expected_calibration_error(p, np.array([1, 2, 3, 0])) == 1.0
    assert expected_calibration_error(p, np.array([0, 1, 2, 3])) == 0.0
    # one bin: |accuracy − mean confidence|
    rng = np.random.default_rng(1)
    p = random_probs(rng, 200, 5, 2.0)
    y = rng.integers(0, 5, 200)
    acc = np.mean(p.argmax(1) == y)
    assert expected_calibration_error(p, y, bins=1) == pytest.approx(abs(acc - p.max(1).mean()), abs=1e-12)


def test_bin_edges_are_right_closed_and_bins_returned():
    # confidence exactly 0.6 belongs to (0.4, 0.6] with 5 bins, 0.6 + 1e-9 to (0.6, 0.8]
    p = np.array([[0.6, 0.4], [0.6 + 1e-9, 0.4 - 1e-9], [1.0, 0.0]])
    y = np.array([0, 1, 0])
    ece, diagram = expected_calibration_error(p, y, bins=5, return_bins=True)
    np.testing.assert_array_equal(diagram["counts"], [0, 0, 1, 1, 1])
    np.testing.assert_allclose(diagram["accuracy"], [0, 0, 1, 0, 1])
    np.testing.assert_allclose(diagram["confidence"], [0, 0, 0.6, 0.6 + 1e-9, 1.0])
    np.testing.assert_allclose(diagram["edges"], np.linspace(0, 1, 6))
    assert ece == pytest.approx((0.4 + 0.6 + 1e-9) / 3)
    assert diagram["max_calibration_error"] == pytest.approx(0.6 + 1e-9)
    # a max probability rounded just above 1 stays in the top bin (the reference would drop it)
    assert expected_calibration_error(np.array([[1.0 + 1e-9, 0.0]]), [1], bins=15) == pytest.approx(1.0)


def test_bad_inputs():
    p = np.array([[0.5, 0.5], [0.9, 0.1]])
    with pytest.raises(ValueError, match="`probabilities` must be \\[N, K\\]"):
        expected_calibration_error(p[0], [0])
    with pytest.raises(ValueError, match="row 1 sums to 1.8"):
        expected_calibration_error(np.array([[0.5, 0.5], [0.9, 0.9]]), [0, 1])
    with pytest.raises(ValueError, match="not logits"):
        expected_calibration_error(np.array([[3.0, -2.0]]), [0])
    with pytest.raises(ValueError, match="NaN"):
        expected_calibration_error(np.array([[np.nan, 1.0]]), [0])
    with pytest.raises(ValueError, match="`labels` must be \\[N\\]"):
        expected_calibration_error(p, [0, 1, 1])
    with pytest.raises(ValueError, match="`labels` must be in \\[0, 2\\)"):
        expected_calibration_error(p, [0, 2])
    with pytest.raises(ValueError, match="integer class ids"):
        expected_calibration_error(p, [0.5, 1])
    for bins in (0, 2.5, True):
        with pytest.raises(ValueError, match="`bins` must be an integer >= 1"):
            expected_calibration_error(p, [0, 1], bins=bins)
