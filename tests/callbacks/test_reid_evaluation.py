"""ReIDEvaluation: the validation metrics reach the epoch logs (rank-k, mAP, mINP, score) and equal
`zoo.metrics.evaluate_rank` on the model's features; any Keras model with a geometry; clear errors."""

import keras
import numpy as np
import pytest

import zoo


def _split(n, ids, cams, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype("float32"), rng.integers(0, ids, n), rng.integers(0, cams, n)


class Features(keras.Model):
    """A model whose `predict` returns its inputs: the callback ranks them as features."""

    def call(self, x):
        return x


def test_logs_equal_evaluate_rank_on_the_models_features():
    query, gallery = _split(12, 4, 3, 0), _split(40, 4, 3, 1)
    model = Features()
    model.compile(optimizer="sgd", loss="mse")
    cb = zoo.callbacks.ReIDEvaluation(query, gallery, geometry="cosine", ap="market", prefix="v_")
    history = model.fit(np.zeros((4, 4), "float32"), np.zeros((4, 4), "float32"), epochs=2, verbose=0, callbacks=[cb])
    want = zoo.metrics.evaluate_rank(None, query[1], gallery[1], query[2], gallery[2], ap="market",
                                     query_features=query[0], gallery_features=gallery[0], geometry="cosine")
    for key in ("rank1", "rank5", "rank10", "mAP", "mINP"):
        assert history.history["v_" + key] == [pytest.approx(float(want[key]))] * 2, key
    assert history.history["v_score"][0] == pytest.approx((want["rank1"] + want["mAP"]) / 2)
    assert [epoch for epoch, _ in cb.history] == [0, 1]


def test_bad_arguments():
    query = _split(4, 2, 2, 0)
    with pytest.raises(ValueError, match="`query` must be"):
        zoo.callbacks.ReIDEvaluation(query[:2], query)
    with pytest.raises(ValueError, match="`gallery` pids"):
        zoo.callbacks.ReIDEvaluation(query, (query[0], query[1].astype(float), query[2]))
    with pytest.raises(ValueError, match="ap"):
        zoo.callbacks.ReIDEvaluation(query, query, ap="interpolated")
    with pytest.raises(ValueError, match="every_n_epochs"):
        zoo.callbacks.ReIDEvaluation(query, query, every_n_epochs=0)
