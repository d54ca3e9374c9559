"""`AtomicModelCheckpoint`: Keras' `ModelCheckpoint` whose files are replaced atomically."""

import keras

from zoo._io import atomic_path
from zoo.callbacks.stop_on_interrupt import StopOnInterrupt

__all__ = ["AtomicModelCheckpoint"]


@keras.saving.register_keras_serializable(package="zoo")
class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """`keras.callbacks.ModelCheckpoint` that writes each checkpoint to a temporary file and renames it.

    Same arguments and behaviour as Keras' (e.g. `save_best_only=True, monitor="val_accuracy", mode="max"`
    keeps the best epoch's weights); a crash or `kill -9` during a save keeps the previous checkpoint intact
    instead of a truncated file.

    Example:
        >>> best = zoo.callbacks.AtomicModelCheckpoint("runs/x/best.weights.h5", monitor="val_accuracy",
        ...                                            mode="max", save_best_only=True, save_weights_only=True)

    Reference:
        `keras.callbacks.ModelCheckpoint`.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(filepath, monitor=monitor, verbose=verbose, save_best_only=save_best_only,
                         save_weights_only=save_weights_only, mode=mode, save_freq=save_freq,
                         initial_value_threshold=initial_value_threshold)
        self._config = {"filepath": filepath, "monitor": monitor, "verbose": verbose, "save_best_only": save_best_only,
                        "save_weights_only": save_weights_only, "mode": mode, "save_freq": save_freq,
                        "initial_value_threshold": initial_value_threshold}

    def get_config(self):
        return dict(self._config)

    def _save_model(self, epoch, batch, logs):
        if StopOnInterrupt.stopped(self.model):  # an epoch cut short by Ctrl-C is not a candidate
            return
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, batch, logs, filepath):
            return
        with atomic_path(filepath) as tmp:
            if self.save_weights_only:
                self.model.save_weights(tmp, overwrite=True)
            else:
                self.model.save(tmp, overwrite=True)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saved {filepath}")
