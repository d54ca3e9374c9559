"""zoo.callbacks.PrototypeReassignment on real data (scikit-learn digits): the loss falls, the assignment
changes and equals scipy's optimum on the class-mean scores, survives .keras save/load and an interrupted
fit resumed with keras.callbacks.BackupAndRestore; step schedule; bad input."""

import keras
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import zoo.data
from tests.helpers import to_numpy
from zoo.callbacks import PrototypeReassignment
from zoo.layers import PrototypeHead
from zoo.losses import PrototypeRegressionLoss

EPOCHS = 4


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_PROTOTYPES_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def digits():
    (xtr, ytr), (xte, yte) = zoo.data.digits()
    f = lambda x: (x.reshape(len(x), -1).astype("float32") / 255.0 - 0.3) / 0.38  # noqa: E731
    return (f(xtr), ytr.astype("int32")), (f(xte), yte.astype("int32"))


def _model(seed=0, dim=8, momentum=0.9):
    keras.utils.set_random_seed(seed)
    img = keras.Input((64,), name="image")
    lab = keras.Input((), dtype="int32", name="label")
    h = keras.layers.Dense(64, activation="relu")(img)
    head = PrototypeHead(10, prototypes="uniform", steps=200, momentum=momentum, name="prototype_head")
    model = keras.Model([img, lab], head(keras.layers.Dense(dim)(h), labels=lab))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=PrototypeRegressionLoss())
    return model, head


def _state(head):
    return {k: to_numpy(getattr(head, k)).copy() for k in ("assignment", "class_means")}


def test_training_smoke_assignment_changes_and_is_the_scipy_optimum(digits, tmp_path):
    (x, y), (xt, yt) = digits
    model, head = _model()
    cb = PrototypeReassignment(verbose=0)
    hist = model.fit([x, y], y, epochs=EPOCHS, batch_size=128, callbacks=[cb], verbose=0, shuffle=False)
    loss = hist.history["loss"]
    assert loss[-1] < 0.6 * loss[0], loss
    assert len(cb.history) == EPOCHS and hist.history["reassigned"] == [c for _, _, c, _ in cb.history]
    assert sum(hist.history["reassigned"]) > 0  # the assignment changed during training
    scores = to_numpy(head.class_means).astype(np.float64) @ to_numpy(head.prototypes).astype(np.float64).T
    # The solve after the last epoch is the scipy optimum, kept pending (no step was trained with it).
    np.testing.assert_array_equal(cb.pending, linear_sum_assignment(-scores)[1])
    acc = (to_numpy(model([xt, yt])).argmax(1) == yt).mean()
    assert acc > 0.5, acc
    model.save(tmp_path / "m.keras")
    lh = keras.saving.load_model(tmp_path / "m.keras").get_layer("prototype_head")
    for k, v in _state(head).items():
        np.testing.assert_array_equal(_state(lh)[k], v)


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise RuntimeError("simulated interruption")


class _Spy(keras.callbacks.Callback):
    def __init__(self, head):
        super().__init__()
        self.head, self.at_begin, self.at_end = head, None, {}

    def on_train_begin(self, logs=None):
        self.at_begin = _state(self.head)

    def on_epoch_end(self, epoch, logs=None):
        self.at_end[epoch] = _state(self.head)


def test_interrupted_fit_resumed_with_backup_and_restore(digits, tmp_path):
    (x, y), _ = digits
    x, y = x[:384], y[:384]
    backup = str(tmp_path / "backup")
    kw = dict(epochs=EPOCHS, batch_size=64, verbose=0, shuffle=False)

    # Uninterrupted reference run.
    ref_model, ref_head = _model(seed=0)
    ref_spy = _Spy(ref_head)
    ref_model.fit([x, y], y, callbacks=[PrototypeReassignment(verbose=0), ref_spy], **kw)

    # Same run interrupted at the start of epoch 2 (after two reassignments).
    model, head = _model(seed=0)
    spy = _Spy(head)
    with pytest.raises(RuntimeError, match="simulated interruption"):
        model.fit([x, y], y, callbacks=[PrototypeReassignment(verbose=0), keras.callbacks.BackupAndRestore(backup),
                                        spy, _Interrupt(2)], **kw)
    assert sorted(spy.at_end) == [0, 1]

    # Resume in a fresh model (different initial weights); the backup restores everything.
    model2, head2 = _model(seed=1)
    spy2 = _Spy(head2)
    hist = model2.fit([x, y], y, callbacks=[PrototypeReassignment(verbose=0), keras.callbacks.BackupAndRestore(backup),
                                            spy2], **kw)
    for k in ("assignment", "class_means"):
        np.testing.assert_array_equal(spy2.at_begin[k], spy.at_end[1][k])  # restored exactly
        np.testing.assert_array_equal(spy.at_end[1][k], ref_spy.at_end[1][k])
    assert len(hist.history["loss"]) == EPOCHS - 2 and sorted(spy2.at_end) == [2, 3]
    changes = [not np.array_equal(ref_spy.at_end[e]["assignment"], ref_spy.at_end[e - 1]["assignment"])
               for e in range(1, EPOCHS)]
    # The resumed run continues the same trajectory as the uninterrupted one.
    np.testing.assert_array_equal(spy2.at_end[3]["assignment"], ref_spy.at_end[3]["assignment"])
    np.testing.assert_allclose(spy2.at_end[3]["class_means"], ref_spy.at_end[3]["class_means"], atol=1e-5)
    print("assignment changed after epochs 2..4:", changes)


def test_every_n_steps_schedule(digits):
    (x, y), _ = digits
    x, y = x[:256], y[:256]
    model, head = _model(seed=2)
    cb = PrototypeReassignment(every_n_steps=2, verbose=0)
    hist = model.fit([x, y], y, epochs=2, batch_size=64, callbacks=[cb], verbose=0, shuffle=False)
    assert [s for _, s, _, _ in cb.history] == [2, 4, 6, 8]
    assert len(hist.history["reassigned"]) == 2
    # step 8 is the last step of the fit: its solve (the scipy optimum) waits in `pending`; applying it writes
    # it into the head (no stale backend state)
    scores = head.class_prototype_scores()
    np.testing.assert_array_equal(cb.pending, linear_sum_assignment(-scores)[1])
    cb.apply_pending()
    assert cb.pending is None
    np.testing.assert_array_equal(to_numpy(head.assignment), linear_sum_assignment(-scores)[1])


class _AssignmentSpy(keras.callbacks.Callback):
    """Records the head's assignment at every training step (what the features are trained with)."""

    def __init__(self, head):
        super().__init__()
        self.head, self.trained_with = head, []

    def on_train_batch_begin(self, batch, logs=None):
        _ = self.model  # on JAX, reading `Callback.model` attaches the training state to the variables
        self.trained_with.append(to_numpy(self.head.assignment).copy())


@pytest.mark.parametrize("schedule", [{"every_n_epochs": 1}, {"every_n_steps": 2}])
def test_model_leaves_fit_with_the_assignment_it_was_trained_with(digits, schedule):
    """Fidelity: the solve due after the last step of a fit must not replace the trained assignment
    (the test set is evaluated right after fit); it takes effect when training continues."""
    (x, y), _ = digits
    x, y = x[:256], y[:256]
    model, head = _model(seed=3)
    cb = PrototypeReassignment(verbose=0, **schedule)
    spy = _AssignmentSpy(head)
    kw = dict(batch_size=64, verbose=0, shuffle=False)
    model.fit([x, y], y, epochs=1, callbacks=[cb, spy], **kw)
    assert cb.history[-1][2] > 0, cb.history  # the last solve would change the assignment
    np.testing.assert_array_equal(to_numpy(head.assignment), spy.trained_with[-1])
    assert cb.pending is not None and not np.array_equal(cb.pending, spy.trained_with[-1])
    pending = cb.pending.copy()
    # Training continues with the same callback: the pending solve is applied before the first new step.
    model.fit([x, y], y, epochs=1, callbacks=[cb, spy], **kw)
    np.testing.assert_array_equal(spy.trained_with[4], pending)
    np.testing.assert_array_equal(to_numpy(head.assignment), spy.trained_with[-1])


def test_bad_input():
    with pytest.raises(ValueError, match="every_n_epochs"):
        PrototypeReassignment(every_n_epochs=0)
    with pytest.raises(ValueError, match="every_n_steps"):
        PrototypeReassignment(every_n_steps=0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="no zoo.layers.PrototypeHead"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0, callbacks=[PrototypeReassignment()])
    cfg = PrototypeReassignment(every_n_epochs=3, verbose=0).get_config()
    assert PrototypeReassignment(**cfg).every_n_epochs == 3
