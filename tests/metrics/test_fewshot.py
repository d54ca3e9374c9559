"""zoo.metrics.fewshot: the 95% interval by hand, and evaluate_episodes against numpy per-episode accuracies
of the classic ProtoNet on episodes given as a tf.data dataset, a list, or x alone."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.layers import PrototypicalHead
from zoo.metrics import confidence_interval, evaluate_episodes


def test_confidence_interval_by_hand():
    acc = [0.5, 0.7, 0.6, 0.6]
    # mean 0.6; population variance (0.01 + 0.01 + 0 + 0) / 4 = 0.005; half-width 1.96 sqrt(0.005) / sqrt(4)
    mean, hw = confidence_interval(acc)
    assert mean == pytest.approx(0.6, abs=1e-15)
    assert hw == pytest.approx(1.96 * math.sqrt(0.005) / 2, rel=1e-12)
    assert hw == pytest.approx(0.0692964646, rel=1e-9)
    # sample std: variance 0.02 / 3
    assert confidence_interval(acc, ddof=1)[1] == pytest.approx(1.96 * math.sqrt(0.02 / 3) / 2, rel=1e-12)
    # numpy's default std, as the reference (np.std)
    a = np.random.default_rng(0).uniform(size=600)
    assert confidence_interval(a)[1] == pytest.approx(1.96 * np.std(a) / np.sqrt(600), rel=1e-12)
    assert confidence_interval([0.8]) == (0.8, 0.0)
    assert isinstance(confidence_interval(np.array([1, 0]))[0], float)


def test_confidence_interval_bad_input():
    with pytest.raises(ValueError, match="empty"):
        confidence_interval([])
    with pytest.raises(ValueError, match="NaN"):
        confidence_interval([0.5, float("nan")])
    with pytest.raises(ValueError, match="ddof"):
        confidence_interval([0.5, 0.6], ddof=2)
    with pytest.raises(ValueError, match=">= 2 values"):
        confidence_interval([0.5], ddof=1)


def make_episodes(num, way, shot, query, d, rng, noise):
    """Gaussian class clusters in shot-major layout; returns (list of (x, y), numpy accuracies of the classic
    ProtoNet rule: nearest arithmetic-mean prototype in squared Euclidean distance)."""
    episodes, accs = [], []
    for _ in range(num):
        centres = rng.normal(size=(way, d))
        x = np.concatenate([centres + noise * rng.normal(size=(way, d)) for _ in range(shot + query)])
        y = (np.arange(query * way) % way).astype(np.int32)
        protos = x[: shot * way].reshape(shot, way, d).mean(0)
        q = x[shot * way:]
        pred = np.argmin(((q[:, None] - protos[None]) ** 2).sum(-1), axis=1)
        episodes.append((x.astype(np.float32), y))
        accs.append(np.mean(pred == y))
    return episodes, np.asarray(accs)


def protonet(shot, query, d):
    inputs = keras.Input((d,))
    return keras.Model(inputs, PrototypicalHead(shot, query)(inputs))


def test_evaluate_episodes_matches_numpy_accuracies(capsys):
    way, shot, query, d = 5, 2, 3, 8
    rng = np.random.default_rng(1)
    episodes, want = make_episodes(12, way, shot, query, d, rng, noise=0.9)
    assert 0.2 < want.mean() < 1.0  # not trivial
    model = protonet(shot, query, d)
    ds = tf.data.Dataset.from_tensor_slices(([e[0] for e in episodes], [e[1] for e in episodes]))
    for source in (episodes, ds):
        r = evaluate_episodes(model, source, verbose=0)
        np.testing.assert_allclose(r["accuracies"], want, rtol=0, atol=1e-12)
        assert r["n"] == 12
        assert (r["mean"], r["ci95"]) == confidence_interval(want)
    # x alone: y[i] = i % way by the episode contract; num_episodes caps the count
    r = evaluate_episodes(model, [e[0] for e in episodes], num_episodes=5, verbose=1)
    np.testing.assert_allclose(r["accuracies"], want[:5], rtol=0, atol=1e-12)
    assert "accuracy" in capsys.readouterr().out  # progress bar with the running accuracy
    # another way with the same model
    episodes30, want30 = make_episodes(3, 30, shot, query, d, rng, noise=0.5)
    np.testing.assert_allclose(evaluate_episodes(model, episodes30, verbose=0)["accuracies"], want30, atol=1e-12)


def test_evaluate_episodes_bad_input():
    model = protonet(1, 1, 4)
    x = np.random.default_rng(2).normal(size=(6, 4)).astype(np.float32)
    with pytest.raises(ValueError, match="infinite"):
        evaluate_episodes(model, tf.data.Dataset.from_tensors((x, np.arange(3) % 3)).repeat(), verbose=0)
    with pytest.raises(ValueError, match="num_episodes"):
        evaluate_episodes(model, [(x, None)], num_episodes=0, verbose=0)
    with pytest.raises(ValueError, match="no episode"):
        evaluate_episodes(model, [], verbose=0)
    with pytest.raises(ValueError, match="2 labels for 3"):
        evaluate_episodes(model, [(x, np.array([0, 1]))], verbose=0)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        evaluate_episodes(model, [(bad, np.arange(3) % 3)], verbose=0)
    # an infinite dataset is fine with num_episodes
    r = evaluate_episodes(model, tf.data.Dataset.from_tensors((x, np.arange(3) % 3)).repeat(), num_episodes=2,
                          verbose=0)
    assert r["n"] == 2
