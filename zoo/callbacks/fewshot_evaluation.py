"""`FewShotEvaluation`: validation-episode accuracy every epoch and model selection on it."""


import keras
import numpy as np

from zoo._checks import check_int

__all__ = ["FewShotEvaluation"]


@keras.saving.register_keras_serializable(package="zoo")
class FewShotEvaluation(keras.callbacks.Callback):
    """Evaluate the model on validation episodes at the end of every `every_n_epochs`-th epoch, log the
    accuracy with its 95% interval, and keep (and finally restore) the weights of the best epoch.

    At each evaluation `zoo.metrics.evaluate_episodes(model, val_episodes)` gives the mean query accuracy
    over the episodes and its half-width 1.96·std/√n (population std); they are written into the epoch
    `logs` as `monitor_name` (default ``val_fewshot_accuracy``) and the same name with ``_accuracy``
    replaced by ``_ci95`` (default ``val_fewshot_ci95``), so History and every callback placed *after*
    this one in the list (`ModelCheckpoint(monitor="val_fewshot_accuracy", mode="max")`, `EarlyStopping`,
    `CSVLogger`, `TensorBoard`) see them. Epochs without an evaluation (every_n_epochs > 1) get no entry,
    as Keras' own `validation_freq`.

    When the accuracy beats the best so far (strictly), a host copy of all model weights (trainable and
    not, e.g. BatchNorm statistics) is kept; with `restore_best` they are written back at the end of
    training: the model selection of the references (best validation accuracy). The best value and epoch
    are in `best` and `best_epoch` (0-based), every evaluation in `history` as (epoch, mean, ci95).

    Weights are read and written through `model.get_weights()` / `set_weights()` at epoch and train end.
    On JAX, `fit` copies its training state back into the model variables before `on_epoch_end`, and
    re-reads the variables at the start of the next epoch, so both reading and restoring are safe on every
    backend (no mid-epoch state is involved). The optimizer state is not restored (not needed to use the
    selected model).

    Args:
        val_episodes: validation episodes: a finite `tf.data.Dataset` or iterable of (x, y) (see
            `zoo.data.episodes`; the references validate 5-way, 15 queries, 500 episodes). A dataset that
            re-samples on each iteration gives fresh episodes every evaluation (as the reference); one
            built with a fixed seed and `.cache()` gives the same episodes each time (less noisy selection).
        every_n_epochs: evaluation period, int >= 1.
        restore_best: restore the best evaluated weights at the end of training (default True).
        monitor_name: log key of the accuracy; must end in "_accuracy" or the CI key is this + "_ci95".
        num_episodes: evaluate at most this many episodes per evaluation (None: the whole dataset).
        verbose: 1 prints one line per evaluation, 0 is silent.

    Example:
        >>> val = zoo.data.episodes(splits["val"], way=5, shot=1, query=15, episodes=500, seed=1)
        >>> model.fit(zoo.data.episodes(splits["train"], way=30, shot=1, query=15), epochs=200,
        ...           callbacks=[zoo.callbacks.FewShotEvaluation(val),
        ...                      keras.callbacks.CSVLogger("log.csv")])

    Reference:
        Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (examples/fewshot: validate every epoch,
        save the model with the best validation accuracy, test that one).
    """

    def __init__(self, val_episodes, every_n_epochs=1, restore_best=True, monitor_name="val_fewshot_accuracy",
                 num_episodes=None, verbose=1):
        super().__init__()
        every_n_epochs = check_int(every_n_epochs, "every_n_epochs", minimum=1, owner="FewShotEvaluation")
        if not isinstance(monitor_name, str) or not monitor_name:
            raise ValueError(f"FewShotEvaluation: `monitor_name` must be a non-empty string; got {monitor_name!r}.")
        if num_episodes is not None:
            num_episodes = check_int(num_episodes, "num_episodes", minimum=1, owner="FewShotEvaluation")
        if val_episodes is None:
            raise ValueError("FewShotEvaluation: `val_episodes` is required (a dataset of (x, y) episodes).")
        self.val_episodes = val_episodes
        self.every_n_epochs = int(every_n_epochs)
        self.restore_best = bool(restore_best)
        self.monitor_name = monitor_name
        stem = monitor_name[: -len("_accuracy")] if monitor_name.endswith("_accuracy") else monitor_name
        self.ci_name = stem + "_ci95"
        self.num_episodes = num_episodes
        self.verbose = int(verbose)
        self.history = []
        self.best = -np.inf
        self.best_epoch = None
        self.best_weights = None

    def evaluate(self):
        """Evaluate the model on the validation episodes now; returns `zoo.metrics.evaluate_episodes`' dict."""
        from zoo.metrics.fewshot import evaluate_episodes

        return evaluate_episodes(self.model, self.val_episodes, num_episodes=self.num_episodes, verbose=0)

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self.best_weights = -np.inf, None, None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        result = self.evaluate()
        mean, ci = result["mean"], result["ci95"]
        if logs is not None:
            logs[self.monitor_name] = mean
            logs[self.ci_name] = ci
        self.history.append((int(epoch), mean, ci))
        improved = mean > self.best
        if improved:
            self.best, self.best_epoch = mean, int(epoch)
            self.best_weights = [np.array(w, copy=True) for w in self.model.get_weights()]
        if self.verbose:
            print(f"[FewShotEvaluation] epoch {epoch + 1}: {self.monitor_name} = {100 * mean:.2f} ± {100 * ci:.2f} % "
                  f"over {result['n']} episodes" + (" (best)" if improved else f" (best {100 * self.best:.2f} % at "
                                                                              f"epoch {self.best_epoch + 1})"))

    def on_train_end(self, logs=None):
        if not (self.restore_best and self.best_weights is not None):
            return
        self.model.set_weights(self.best_weights)
        if self.verbose:
            print(f"[FewShotEvaluation] restored the weights of epoch {self.best_epoch + 1} "
                  f"({self.monitor_name} = {100 * self.best:.2f} %)")

    def get_config(self):
        return {"every_n_epochs": self.every_n_epochs, "restore_best": self.restore_best,
                "monitor_name": self.monitor_name, "num_episodes": self.num_episodes, "verbose": self.verbose}
