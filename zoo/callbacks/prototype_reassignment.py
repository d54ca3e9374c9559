"""`PrototypeReassignment`: the Hungarian label-to-prototype step of DL2PA, driven from `model.fit`."""

import time

import keras
import numpy as np

from zoo._checks import check_int

__all__ = ["PrototypeReassignment"]


def _find_heads(layer, found):
    from zoo.layers.prototype_head import PrototypeHead

    if isinstance(layer, PrototypeHead):
        found.append(layer)
    for sub in getattr(layer, "layers", None) or []:
        if sub is not layer:
            _find_heads(sub, found)
    return found


@keras.saving.register_keras_serializable(package="zoo")
class PrototypeReassignment(keras.callbacks.Callback):
    """Re-solve the label -> prototype assignment of a `zoo.layers.PrototypeHead` during training.

        sigma = argmax over one-to-one maps of  sum_k <q_k, p_sigma(k)>       (DL2PA Eq. 9)

    from the head's momentum class means q_k (updated in its training call) and its fixed prototypes
    p_j, by the Hungarian method (`scipy.optimize.linear_sum_assignment`, on the host, via
    `zoo.prototypes.assign_from_means`); the result is written into the head's `assignment` variable,
    so it is saved in `.keras` files and in `keras.callbacks.BackupAndRestore` checkpoints.

    It runs at the end of every `every_n_epochs`-th epoch (counted from the first epoch of the run,
    so a resumed fit keeps the schedule), i.e. after validation, as the reference; or, with
    `every_n_steps=k`, after every k-th training step (counted by the optimizer's iterations, which
    BackupAndRestore restores: read once per fit, at its first step, then counted from the `batch`
    argument, so the model's state is touched only on reassignment steps; on JAX each touch of
    `self.model` syncs the whole training state to the host).

    Under data parallelism it runs once per process, on the replicated class means (JAX: the global-batch
    means; TensorFlow: the replica-averaged ones), and on several JAX processes process 0's solution is
    broadcast, so every replica and process holds the same assignment.

    The number of classes whose prototype changed is added to the epoch logs as `reassigned`
    (History / TensorBoard record it), kept in `self.history` as
    (epoch, step, changed, seconds) tuples and printed when `verbose`.

    The model leaves `fit` with the assignment its features were trained with: a reassignment that
    falls due after the last training step of a `fit` (the end of its last epoch, or its last step) is
    solved and recorded as usual but only *applied* before the next training step, i.e. when training
    continues (another `fit` with this callback). So the test accuracy reported after `fit` comes from
    the assignment of the last epoch, never from one no step was trained with. `pending` holds that
    unapplied assignment (None when there is none); `apply_pending()` applies it by hand.

    Put it *before* `keras.callbacks.BackupAndRestore` (or `ModelCheckpoint`) in the callback list, so
    the checkpoint written at the end of an epoch already holds that epoch's assignment, and before
    `TensorBoard` / `CSVLogger` if they should record `reassigned` (callbacks see the epoch logs in list
    order; Keras' History always sees it).

    Args:
        every_n_epochs: int >= 1 (default 1, the paper: one update per epoch).
        every_n_steps: None, or int >= 1 to reassign every k training steps instead (the paper's
            ablation of more than one update per epoch).
        layer_name: name of the PrototypeHead when the model has more than one.
        verbose: 0 silent, 1 one line per reassignment.

    Raises:
        ValueError (at the start of fit): no PrototypeHead in the model, or several and no layer_name.

    Example:
        >>> model.fit(ds, epochs=10, callbacks=[zoo.callbacks.PrototypeReassignment(every_n_epochs=1),
        ...                                     keras.callbacks.BackupAndRestore("backup")])

    Reference:
        Saadabadi et al., "Hyperspherical Classification with Dynamic Label-to-Prototype Assignment",
        CVPR 2024, §3.3 (code: `fixed_Classifier.update_fixed_center`, called after each validation).

    Departures from the reference code:
        No Hungarian step at construction (the head starts from the identity assignment; see
        `PrototypeHead`). The assignment is an integer variable indexing the fixed prototypes, not a
        permuted copy of them. The reference also re-solves after its last validation, then evaluates the
        test set with that never-trained assignment; here the last solve waits for further training (see
        above), so the reported number comes from the assignment the model was trained with.
    """

    def __init__(self, every_n_epochs=1, every_n_steps=None, layer_name=None, verbose=1):
        super().__init__()
        owner = "PrototypeReassignment"
        self.every_n_epochs = check_int(every_n_epochs, "every_n_epochs", minimum=1, owner=owner)
        self.every_n_steps = None if every_n_steps is None else check_int(
            every_n_steps, "every_n_steps", minimum=1, owner=owner)
        self.layer_name = layer_name
        self.verbose = int(verbose)
        self.history = []
        self.pending = None
        self._epoch = 0
        self._step_changes = 0
        self._step = None  # optimizer steps done, read at the first step of a fit, then counted
        self._last_batch = -1

    # -- finding the head ---------------------------------------------------------------------------

    def head(self):
        """The PrototypeHead this callback drives."""
        heads = _find_heads(self.model, [])
        if self.layer_name is not None:
            heads = [h for h in heads if h.name == self.layer_name]
        if not heads:
            which = f" named {self.layer_name!r}" if self.layer_name else ""
            raise ValueError(f"PrototypeReassignment: the model has no zoo.layers.PrototypeHead{which}.")
        if len(heads) > 1:
            raise ValueError(f"PrototypeReassignment: the model has {len(heads)} PrototypeHeads "
                             f"({[h.name for h in heads]}); pass layer_name=.")
        if not heads[0].built:
            raise ValueError("PrototypeReassignment: the PrototypeHead is not built.")
        return heads[0]

    # -- the step -----------------------------------------------------------------------------------

    def solve(self):
        """(assignment, changed, seconds): the Hungarian solution on the current class means, not applied."""
        from zoo.distribute import _host
        from zoo.prototypes import assign_from_means

        head = self.head()
        t0 = time.perf_counter()
        means = _host.to_numpy(head.class_means)
        protos = _host.to_numpy(head.prototypes)
        old = _host.to_numpy(head.assignment).astype(np.int64)
        new = _host.same_on_every_process(assign_from_means(means, protos)).astype(np.int64)
        return new, int(np.sum(new != old)), time.perf_counter() - t0

    def reassign(self, apply=True):
        """Solve the assignment from the current class means and set it (or keep it in `pending` when
        `apply` is False); return (how many classes changed, seconds)."""
        new, changed, seconds = self.solve()
        if apply:
            self.head().set_assignment(new)
            self.pending = None
        else:
            self.pending = new
        return changed, seconds

    def apply_pending(self):
        """Apply the assignment solved after the last training step of a fit (no-op when none waits)."""
        if self.pending is not None:
            self.head().set_assignment(self.pending)
            self.pending = None

    def _last_step_of_fit(self, epoch, batch):
        """True when no training step of this fit follows (epoch, batch); batch None: end of the epoch."""
        params = self.params or {}
        epochs, steps = params.get("epochs"), params.get("steps")
        if epochs is None or epoch + 1 < epochs:
            return False
        if batch is None:
            return True
        return steps is not None and batch + 1 >= steps

    def _record(self, epoch, step, changed, seconds):
        self.history.append((int(epoch), None if step is None else int(step), changed, seconds))
        if self.verbose:
            where = f"epoch {epoch + 1}" + ("" if step is None else f", step {step}")
            print(f"[PrototypeReassignment] {where}: {changed} of {self.head().num_classes} classes changed "
                  f"prototype ({seconds * 1e3:.1f} ms)")

    # -- Keras hooks --------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self.head()  # fail early with a clear message
        self._step = None  # re-read at the first step: BackupAndRestore may restore the iterations

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._step_changes = 0
        self._last_batch = -1

    def on_train_batch_begin(self, batch, logs=None):
        self.apply_pending()  # training continues: the solve due after the previous step takes effect

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps is None:
            return
        if self._step is None:  # once per fit (a resumed fit continues the restored count)
            self._step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        else:  # `batch` is the last step of the call (steps_per_execution > 1 advances it by more than 1)
            self._step += int(batch) - self._last_batch
        self._last_batch = int(batch)
        step = self._step
        if step % self.every_n_steps == 0:
            # The last step of a fit (when Keras knows the steps per epoch) keeps its solve pending; with an
            # unknown epoch length, `pending` is applied before the next step, so nothing trains on it late.
            last = self._last_step_of_fit(self._epoch, batch)
            changed, seconds = self.reassign(apply=not last and (self.params or {}).get("steps") is not None)
            self._step_changes += changed
            self._record(self._epoch, step, changed, seconds)

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_steps is not None:
            if logs is not None:
                logs["reassigned"] = self._step_changes
            return
        if (epoch + 1) % self.every_n_epochs:
            return
        changed, seconds = self.reassign(apply=not self._last_step_of_fit(epoch, None))
        self._record(epoch, None, changed, seconds)
        if logs is not None:
            logs["reassigned"] = changed

    def get_config(self):
        return {"every_n_epochs": self.every_n_epochs, "every_n_steps": self.every_n_steps,
                "layer_name": self.layer_name, "verbose": self.verbose}
