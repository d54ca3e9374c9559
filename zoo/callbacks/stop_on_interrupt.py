"""`StopOnInterrupt`: Ctrl-C stops `fit` cleanly after the current batch, on every backend."""

import signal
import sys
import threading
import time

import keras

__all__ = ["StopOnInterrupt"]

# Attribute set on the model while a Ctrl-C is stopping its fit.
_MARK = "_zoo_stopped_by_interrupt"


@keras.saving.register_keras_serializable(package="zoo")
class StopOnInterrupt(keras.callbacks.Callback):
    """Turn Ctrl-C (SIGINT) during `fit` into `model.stop_training = True`; a second Ctrl-C aborts at once.

    The first Ctrl-C lets the running batch finish, stops training, and lets every callback's `on_train_end`
    run (logs; the checkpoint callbacks of `zoo.callbacks` do not save the unfinished epoch: `stopped(model)`);
    `interrupted` is then True (the task models of `zoo.models` raise `KeyboardInterrupt` after `fit`
    returns, so a script still stops). A second Ctrl-C restores the previous
    handler and raises `KeyboardInterrupt` immediately. The handler is installed only while `fit` runs, and only
    from the main thread (Python delivers signals there).

    Why: on the JAX backend a Ctrl-C during `model.fit` is lost (with Keras 3.15 and jax 0.10 a SIGINT sent
    during fit was ignored for the rest of the run: the KeyboardInterrupt raised by Python's default handler
    does not reach the training loop), so a user could not stop a run. A handler that only sets a flag works
    on every backend.

    Example:
        >>> stop = zoo.callbacks.StopOnInterrupt()
        >>> model.fit(x, y, epochs=100, callbacks=[stop])
        >>> if stop.interrupted:
        ...     print("stopped early at epoch", stop.stopped_epoch)
    """

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = verbose
        self.interrupted = False
        self.stopped_epoch = None
        self.signal_time = None
        self._previous = None
        self._epoch = 0

    def _handler(self, signum, frame):
        if self.interrupted:
            self._restore()
            raise KeyboardInterrupt("second Ctrl-C: training aborted")
        self.interrupted = True
        self.signal_time = time.time()
        if self.model is not None:
            self.model.stop_training = True
            object.__setattr__(self.model, _MARK, True)  # untracked attribute, read by `StopOnInterrupt.stopped`
        if self.verbose:
            print("\n[StopOnInterrupt] Ctrl-C: stopping after the current batch (press Ctrl-C again to abort now)",
                  file=sys.stderr, flush=True)

    def _restore(self):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    @staticmethod
    def stopped(model):
        """Whether a Ctrl-C stopped `model`'s current `fit` mid-epoch: the epoch that ends then is incomplete, so
        checkpoints (`AtomicBackupAndRestore`, `AtomicModelCheckpoint`) skip it."""
        return bool(model is not None and model.__dict__.get(_MARK, False))

    def on_train_begin(self, logs=None):
        self.interrupted = False
        self.stopped_epoch = None
        object.__setattr__(self.model, _MARK, False)
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.interrupted:
            self.model.stop_training = True
            if self.stopped_epoch is None:
                self.stopped_epoch = self._epoch

    def on_train_end(self, logs=None):
        self._restore()

    def get_config(self):
        return {"verbose": self.verbose}
