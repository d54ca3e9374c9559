"""zoo.pretrained.protocols: the test protocols of published models (`evaluate`), deterministic and equal to the
models' own evaluation code.

Real data: scikit-learn digits (8x8 uint8, raw 0..255) through the "digits" dataset of the protocols or as
`data=` arrays; the Fashion-MNIST few-shot pool is checked against `zoo.data.fewshot_splits`. Tiny untrained
models (a one-conv backbone, 8-d embeddings): the protocols are checked against numpy and the models' own
methods, not for accuracy.
"""

import keras
import numpy as np
import pytest

import zoo
from zoo.pretrained import protocols
from zoo.pretrained.protocols import PROTOCOLS, check_protocol, describe_protocol, evaluate, register_protocol

DIM = 8


def _tiny_backbone():
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(DIM)], name="tiny")


@pytest.fixture(scope="module")
def digits_test():
    _, (x, y) = zoo.data.digits()
    return x, y


def test_classification_equals_numpy_argmax_of_predict(digits_test):
    keras.utils.set_random_seed(0)
    model = zoo.models.ImageClassifier(_tiny_backbone(), head="poincare", num_classes=10, input_shape=(8, 8),
                                       embedding_dim=DIM, normalize=None)
    protocol = {"kind": "classification", "dataset": "digits", "split": "test", "batch_size": 20, "limit": 60}
    result = evaluate(model, protocol)  # loads zoo.data.digits() itself
    x, y = digits_test
    scores = model.predict(x[:60], batch_size=20, verbose=0)
    assert result == {"accuracy": float(np.mean(np.argmax(scores, axis=1) == y[:60]))}
    assert 0.0 <= result["accuracy"] <= 1.0 and isinstance(result["accuracy"], float)
    assert evaluate(model, protocol) == result  # deterministic
    assert evaluate(model, protocol, data=(x, y)) == result  # the same arrays given, `limit` still applies
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        evaluate(model, protocol, data=(x[:60], y[:60] + 10))


def test_few_shot_equals_predict_episode(digits_test):
    x, y = digits_test
    pool = (x[y >= 5], y[y >= 5])  # classes 5-9 as the test classes, ~45 images each
    keras.utils.set_random_seed(0)
    model = zoo.models.ProtoNet(_tiny_backbone(), geometry="poincare", c=0.05, input_shape=(8, 8), embedding_dim=DIM,
                                normalize=None)
    protocol = {"kind": "few_shot", "dataset": "digits", "split": "test", "way": 3, "shots": [1, 3], "query": 4,
                "episodes": 4, "seed": 0, "batch_size": 32}
    result = evaluate(model, protocol, data=pool)
    assert set(result) == {"3way1shot_accuracy", "3way1shot_ci95", "3way3shot_accuracy", "3way3shot_ci95"}
    assert all(isinstance(v, float) for v in result.values())
    assert all(0.0 <= result[f"3way{s}shot_accuracy"] <= 1.0 and result[f"3way{s}shot_ci95"] >= 0 for s in (1, 3))
    assert evaluate(model, protocol, data=pool) == result  # deterministic

    # The same episodes scored by predict_episode (raw images, the model's own embedding and prototype code).
    px, py = pool
    z = model.embed(px, batch_size=32)
    for shot in (1, 3):
        accuracies = []
        for support, queries in protocols._episode_plans(py, 3, shot, 4, 4, (0, shot)):
            assert len(np.unique(support)) == 3 * shot and not set(support.ravel()) & set(queries.ravel())
            labels = np.repeat(np.arange(3), shot)
            scores = model.predict_episode(px[support.ravel()], labels, px[queries.ravel()])
            cheap = model.episode_scores(z[support.ravel()], labels, 3, z[queries.ravel()])
            np.testing.assert_allclose(cheap, scores, rtol=1e-5, atol=1e-5)
            assert np.array_equal(np.argmax(cheap, axis=1), np.argmax(scores, axis=1))
            accuracies.append(np.mean(np.argmax(scores, axis=1) == np.repeat(np.arange(3), 4)))
        mean, ci95 = zoo.metrics.confidence_interval(accuracies)
        assert result[f"3way{shot}shot_accuracy"] == pytest.approx(mean, abs=1e-12)
        assert result[f"3way{shot}shot_ci95"] == pytest.approx(ci95, abs=1e-12)

    with pytest.raises(ValueError, match="needs >= 14 images"):  # 10 shots + 4 queries: class 5 has only 10
        evaluate(model, {**protocol, "shots": [10]}, data=_cut(pool, 5, 10))
    with pytest.raises(TypeError, match="episode_scores"):
        evaluate(zoo.models.ImageClassifier(_tiny_backbone(), num_classes=3, input_shape=(8, 8), embedding_dim=DIM),
                 protocol, data=pool)


def _cut(pool, cls, n):
    """The pool with only the first `n` images of class `cls`."""
    x, y = pool
    keep = np.ones(len(y), bool)
    keep[np.flatnonzero(y == cls)[n:]] = False
    return x[keep], y[keep]


def test_episode_plans_are_seeded_and_class_balanced():
    labels = np.repeat(np.arange(6), 10)  # pool index i is of class i // 10
    a = list(protocols._episode_plans(labels, 4, 2, 3, 20, (0, 2)))
    b = list(protocols._episode_plans(labels, 4, 2, 3, 20, (0, 2)))
    c = list(protocols._episode_plans(labels, 4, 2, 3, 20, (0, 1)))
    assert all(np.array_equal(s1, s2) and np.array_equal(q1, q2) for (s1, q1), (s2, q2) in zip(a, b))
    assert not all(np.array_equal(s1, s2) for (s1, _), (s2, _) in zip(a, c))  # another shot: other episodes
    for support, queries in a:
        assert support.shape == (4, 2) and queries.shape == (4, 3)
        picks = np.concatenate([support, queries], axis=1)
        assert len(np.unique(picks)) == 20  # without replacement
        assert all(len(np.unique(row // 10)) == 1 for row in picks)  # one class per row
        assert len(np.unique(picks[:, 0] // 10)) == 4  # way distinct classes
    assert len({tuple(np.sort(s[:, 0] // 10)) for s, _ in a}) > 1  # the classes vary between episodes


def test_fashion_mnist_pool_is_the_recipes_test_split():
    x, y = protocols._few_shot_pool("fashion_mnist", "test")
    split = zoo.data.fewshot_splits("fashion_mnist")["test"]
    assert x.shape == (5000, 28, 28) and x.dtype == np.uint8
    assert np.array_equal(x, split.images[..., 0]) and np.array_equal(y, split.labels)
    assert np.bincount(y).tolist() == [1000] * 5
    assert split.class_names == ("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")  # classes 5-9


def test_retrieval_equals_retrieval_metrics_on_embed(digits_test):
    keras.utils.set_random_seed(0)
    model = zoo.models.EmbeddingModel(_tiny_backbone(), space="l2", input_shape=(8, 8), embedding_dim=DIM,
                                      normalize=None)
    protocol = {"kind": "retrieval", "dataset": "digits", "split": "test", "ks": [1, 5], "batch_size": 20,
                "limit": 60}
    result = evaluate(model, protocol)
    x, y = digits_test
    ref = zoo.metrics.retrieval_metrics(model.embed(x[:60], batch_size=20), y[:60], ks=(1, 5),
                                        geometry=model.geometry, map_at_r=True)
    assert result == {"recall@1": ref["recall@1"], "recall@5": ref["recall@5"], "map@r": ref["map@r"]}
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in result.values())
    assert evaluate(model, protocol) == result
    with pytest.raises(TypeError, match="evaluate_retrieval"):
        evaluate(object(), protocol)


def test_check_protocol_fills_defaults_and_names_bad_keys():
    full = check_protocol({"kind": "few_shot", "dataset": "fashion_mnist", "split": "test"})
    assert full == {"kind": "few_shot", "dataset": "fashion_mnist", "split": "test", "way": 5, "shots": [1, 5],
                    "query": 15, "episodes": 600, "seed": 0, "batch_size": 500}
    assert check_protocol(PROTOCOLS["retrieval"]) == {**PROTOCOLS["retrieval"], "ks": [1, 5]}
    assert set(PROTOCOLS) >= {"classification", "few_shot", "retrieval"}
    with pytest.raises(TypeError):
        PROTOCOLS["classification"]["batch_size"] = 1  # read-only
    base = dict(PROTOCOLS["classification"])
    with pytest.raises(ValueError, match=r"unknown protocol kind 'nope'.*'classification', 'few_shot', 'reid', 'retr"):
        check_protocol({**base, "kind": "nope"})
    with pytest.raises(ValueError, match="no 'kind'"):
        check_protocol({"dataset": "digits", "split": "test"})
    with pytest.raises(ValueError, match=r"missing key\(s\) \['split'\]"):
        check_protocol({"kind": "classification", "dataset": "digits"})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['shot'\]"):
        check_protocol({**PROTOCOLS["few_shot"], "shot": 1})
    with pytest.raises(ValueError, match="batch_size"):
        check_protocol({**base, "batch_size": 0})
    with pytest.raises(ValueError, match="'shots' must be a non-empty list"):
        check_protocol({**PROTOCOLS["few_shot"], "shots": []})
    with pytest.raises(ValueError, match="way"):
        check_protocol({**PROTOCOLS["few_shot"], "way": 1})
    with pytest.raises(ValueError, match="'split' must be one of"):
        check_protocol({**base, "split": "validation"})
    with pytest.raises(ValueError, match="limit"):
        check_protocol({**base, "limit": 0})
    with pytest.raises(TypeError, match="must be a dict"):
        check_protocol("classification")
    with pytest.raises(ValueError, match="unknown dataset 'cifar10'"):
        evaluate(_Stub(), {**base, "dataset": "cifar10"})


class _Stub:
    def predict(self, x, batch_size=None, verbose=0):
        raise AssertionError("not reached: the dataset is checked first")


def test_describe_protocol():
    assert describe_protocol(PROTOCOLS["classification"]) == (
        "Fashion-MNIST test split (10,000 images), top-1 accuracy of argmax predict, batch 500")
    few = describe_protocol(PROTOCOLS["few_shot"])
    assert few.startswith("5-way {1,5}-shot, 15 queries per class, 600 episodes per shot (seed 0), Fashion-MNIST "
                          "test classes 5-9 of the test file (5,000 images), mean query accuracy ± 95% CI")
    assert "recall@{1,5} and MAP@R" in describe_protocol(PROTOCOLS["retrieval"])
    limited = describe_protocol({"kind": "classification", "dataset": "digits", "split": "test", "limit": 60})
    assert limited.startswith("the first 60 images of the scikit-learn digits test split")


def test_register_protocol_refuses_duplicates():
    def count(model, protocol, data, verbose):
        return {"n": float(len(data[0])), "batch": float(protocol["batch_size"])}

    with pytest.raises(ValueError, match="already registered"):
        register_protocol("classification", count)
    try:
        assert register_protocol("count_test", count, defaults={"dataset": "market1501", "batch_size": 4}) is count
        assert dict(PROTOCOLS["count_test"]) == {"kind": "count_test", "dataset": "market1501", "split": "test",
                                                 "batch_size": 4}
        images = np.zeros((3, 8, 8), np.uint8)
        assert evaluate(None, dict(PROTOCOLS["count_test"]), data=(images, [0, 1, 1])) == {"n": 3.0, "batch": 4.0}
        assert describe_protocol(PROTOCOLS["count_test"]) == "count_test on market1501 test split"
        with pytest.raises(ValueError, match="already registered"):
            register_protocol("count_test", count)
        register_protocol("count_test", count, defaults={"batch_size": 8}, replace=True)
        assert PROTOCOLS["count_test"]["batch_size"] == 8
    finally:
        protocols._REGISTRY.pop("count_test", None)
        protocols._STANDARD.pop("count_test", None)
    with pytest.raises(TypeError, match="callable"):
        register_protocol("count_test", "not a function")
