"""zoo.callbacks.FewShotEvaluation on real Fashion-MNIST episodes: the accuracy and its interval reach the logs
(History, a later callback, CSVLogger, EarlyStopping), the best epoch's weights are restored (a known best
epoch is forced by a callback that writes weights), and the restored weights are the ones the model then uses
(JAX's training-state sync)."""

import csv
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.backbones
from tests.layers.test_prototypical_head import numpy_episode
from zoo.callbacks import FewShotEvaluation
from zoo.layers import PrototypicalHead
from zoo.losses import PrototypicalLoss
from zoo.metrics import evaluate_episodes

WAY, SHOT, QUERY = 5, 5, 3


def small_protonet():
    """A real Conv-4 (hyptorch variant, BatchNorm) at 8 filters / 16-d on 28x28x1, + the Euclidean head."""
    backbone = zoo.backbones.get("conv4", input_shape=(28, 28, 1), embedding_dim=16, filters=8)
    model = keras.Model(backbone.input, PrototypicalHead(SHOT, QUERY)(backbone.output))
    model.compile(keras.optimizers.Adam(1e-3), loss=PrototypicalLoss(), metrics=["sparse_categorical_accuracy"])
    return model


def episodes(num, seed):
    rng = np.random.default_rng(seed)
    return [numpy_episode(WAY, SHOT, QUERY, rng, num_classes=10) for _ in range(num)]


def train_dataset(num=3, seed=0):
    eps = episodes(num, seed)
    return tf.data.Dataset.from_tensor_slices((np.stack([e[0] for e in eps]), np.stack([e[1] for e in eps])))


class ForceWeights(keras.callbacks.Callback):
    """At each epoch end (before FewShotEvaluation) write `good` weights at epoch `best` and all-zero weights
    otherwise. Zero weights give all-zero embeddings, all-equal logits and argmax 0: accuracy exactly 1/way."""

    def __init__(self, good, best):
        super().__init__()
        self.good, self.best = good, best

    def on_epoch_end(self, epoch, logs=None):
        self.model.set_weights(self.good if epoch == self.best else [np.zeros_like(w) for w in self.good])


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(dict(logs))


def same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_logs_and_restores_the_best_epoch(tmp_path, capsys):
    model = small_protonet()
    val = episodes(6, seed=1)
    good = [np.array(w) for w in model.get_weights()]
    acc_good = evaluate_episodes(model, val, verbose=0)["mean"]
    assert acc_good > 1 / WAY + 0.1  # random Conv-4 features already beat chance on Fashion-MNIST
    fe = FewShotEvaluation(val, verbose=1)
    recorder = Recorder()
    csv_path = os.path.join(tmp_path, "log.csv")
    stop = keras.callbacks.EarlyStopping(monitor="val_fewshot_accuracy", mode="max", patience=1)
    history = model.fit(train_dataset(), epochs=5, verbose=0,
                        callbacks=[ForceWeights(good, best=1), fe, recorder, keras.callbacks.CSVLogger(csv_path),
                                   stop])
    # epochs 0, 2 are at chance (zero weights), epoch 1 is `good`; EarlyStopping (after us) stops at epoch 2
    acc = history.history["val_fewshot_accuracy"]
    np.testing.assert_allclose(acc, [1 / WAY, acc_good, 1 / WAY], rtol=0, atol=1e-12)
    ci = history.history["val_fewshot_ci95"]
    assert ci[0] < 1e-15 and ci[2] < 1e-15 and ci[1] > 0.01  # every chance episode is exactly 1/way
    assert [r["val_fewshot_accuracy"] for r in recorder.seen] == acc  # a later callback sees them
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    assert [float(r["val_fewshot_accuracy"]) for r in rows] == pytest.approx(acc)
    assert "val_fewshot_ci95" in rows[0]
    assert [e for e, _, _ in fe.history] == [0, 1, 2]
    assert fe.best_epoch == 1 and fe.best == pytest.approx(acc_good)
    # restored at train end: the model holds (and, on JAX too, uses) epoch 1's weights
    assert same_weights(model.get_weights(), good)
    assert evaluate_episodes(model, val, verbose=0)["mean"] == pytest.approx(acc_good, abs=1e-12)
    out = capsys.readouterr().out
    assert "[FewShotEvaluation] epoch 2" in out and "restored the weights of epoch 2" in out


def test_every_n_epochs_and_no_restore():
    model = small_protonet()
    val = episodes(3, seed=2)
    good = [np.array(w) for w in model.get_weights()]
    fe = FewShotEvaluation(val, every_n_epochs=2, restore_best=False, monitor_name="val_5way_accuracy", verbose=0)
    history = model.fit(train_dataset(num=2), epochs=4, verbose=0, callbacks=[ForceWeights(good, best=1), fe])
    assert len(history.history["val_5way_accuracy"]) == 2  # epochs 1 and 3 only
    assert len(history.history["val_5way_ci95"]) == 2
    assert [e for e, _, _ in fe.history] == [1, 3] and fe.best_epoch == 1
    assert same_weights(model.get_weights(), [np.zeros_like(w) for w in good])  # last epoch's, not restored


def test_real_training_selects_and_restores_its_best_epoch():
    """No forcing: plain training; the weights after fit score exactly the best logged validation accuracy."""
    model = small_protonet()
    val = episodes(4, seed=3)
    fe = FewShotEvaluation(val, verbose=0)
    history = model.fit(train_dataset(num=4, seed=4), epochs=3, verbose=0, callbacks=[fe])
    acc = history.history["val_fewshot_accuracy"]
    assert fe.best == max(acc) and fe.best_epoch == int(np.argmax(acc))
    assert evaluate_episodes(model, val, verbose=0)["mean"] == pytest.approx(max(acc), abs=1e-12)
    assert all(np.isfinite(history.history["loss"]))


def test_bad_arguments():
    for kw, match in [(dict(every_n_epochs=0), "every_n_epochs"), (dict(every_n_epochs=True), "every_n_epochs"),
                      (dict(monitor_name=""), "monitor_name"), (dict(num_episodes=0), "num_episodes")]:
        with pytest.raises(ValueError, match=match):
            FewShotEvaluation([], **kw)
    with pytest.raises(ValueError, match="val_episodes"):
        FewShotEvaluation(None)
    assert FewShotEvaluation([], monitor_name="val_acc").ci_name == "val_acc_ci95"
    assert FewShotEvaluation([]).ci_name == "val_fewshot_ci95"
