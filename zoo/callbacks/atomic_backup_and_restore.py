"""`AtomicBackupAndRestore`: Keras' `BackupAndRestore` whose checkpoint files are replaced atomically."""

import json
import os

import keras

from zoo._io import atomic_path, atomic_write_text
from zoo.callbacks.stop_on_interrupt import StopOnInterrupt

__all__ = ["AtomicBackupAndRestore"]


@keras.saving.register_keras_serializable(package="zoo")
class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` that never leaves a half-written checkpoint.

    Every epoch (or `save_freq` batches) it writes the model's weights (optimizer state and every layer's
    state included: class means, centres, prototype assignments) and the epoch reached to `backup_dir`; a later
    `fit` with the same callback resumes from there. Keras writes both files in place, so a `kill -9` during
    the write leaves a truncated checkpoint; here each goes to a temporary file in the same folder and is
    renamed over the old one, so the folder always holds a complete checkpoint (the weights are renamed
    first, then the epoch: a crash between the two renames, microseconds apart, repeats one epoch). An epoch cut
    short by Ctrl-C (`zoo.callbacks.StopOnInterrupt`) is not saved: the checkpoint stays at the last complete
    epoch, so a resumed run repeats the interrupted epoch from its start.

    Args:
        backup_dir: folder of the checkpoint.
        save_freq: "epoch" or a number of batches.
        delete_checkpoint: delete the folder when training ends (default False here: a run stopped by Ctrl-C or
            `EarlyStopping` also "ends", and its checkpoint is what `--resume` continues from).

    Example:
        >>> backup = zoo.callbacks.AtomicBackupAndRestore("runs/x/backup")
        >>> model.fit(ds, epochs=20, callbacks=[backup])   # interrupted? the same call continues the run

    Reference:
        `keras.callbacks.BackupAndRestore` (same files, same resume logic).
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=False):
        super().__init__(backup_dir, save_freq=save_freq, double_checkpoint=False,
                         delete_checkpoint=delete_checkpoint)

    def on_epoch_end(self, epoch, logs=None):
        if StopOnInterrupt.stopped(self.model):  # a Ctrl-C cut this epoch short: keep the last complete one
            return
        super().on_epoch_end(epoch, logs)

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        with atomic_path(self._weights_path) as tmp:
            self.model.save_weights(tmp, overwrite=True)
        atomic_write_text(self._training_metadata_path,
                          json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen}))

    @property
    def resumable_epoch(self):
        """The epoch a `fit` with this callback would resume from (0: no checkpoint)."""
        if not os.path.exists(self._training_metadata_path):
            return 0
        with open(self._training_metadata_path) as f:
            return int(json.load(f).get("epoch", 0))

    def get_config(self):
        return {"backup_dir": self.backup_dir, "save_freq": self.save_freq, "delete_checkpoint": self.delete_checkpoint}
