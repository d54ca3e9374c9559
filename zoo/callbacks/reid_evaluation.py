"""`ReIDEvaluation`: re-ID metrics (CMC rank-k, mAP, mINP) of a validation query/gallery, every n epochs."""

import keras
import numpy as np

from zoo._checks import check_bool, check_choice, check_int

__all__ = ["ReIDEvaluation"]

AP_VARIANTS = ("non_interpolated", "market")


def _split(data, name):
    try:
        images, pids, cams = data
    except (TypeError, ValueError):
        raise ValueError(f"ReIDEvaluation: `{name}` must be (images or paths, pids, cams); got "
                         f"{type(data).__name__}.") from None
    pids, cams = np.asarray(pids), np.asarray(cams)
    for what, v in (("pids", pids), ("cams", cams)):
        if v.ndim != 1 or not np.issubdtype(v.dtype, np.integer):
            raise ValueError(f"ReIDEvaluation: `{name}` {what} must be integers [N]; got {v.dtype} shape {v.shape}.")
    if len(pids) != len(cams) or (hasattr(images, "__len__") and len(images) != len(pids)):
        raise ValueError(f"ReIDEvaluation: `{name}` images, pids and cams must have one entry per image.")
    return images, pids, cams


@keras.saving.register_keras_serializable(package="zoo")
class ReIDEvaluation(keras.callbacks.Callback):
    """Embed a validation query and gallery at the end of every `every_n_epochs`-th epoch and add to the epoch logs:

        {prefix}rank1, {prefix}rank5, {prefix}rank10, {prefix}mAP, {prefix}mINP,
        {prefix}score = (rank1 + mAP) / 2   (fast-reid's model-selection metric)

    through `model.evaluate_reid` (a `zoo.models.ReIDModel`: its geometry, flip test-time augmentation) or, for
    any other model, `model.predict` features ranked with `geometry` by `zoo.metrics.evaluate_rank`. The values are
    in the logs, so `keras.callbacks.History`, `keras.callbacks.TensorBoard` (put this callback before it in the
    list) and `ModelCheckpoint(monitor="val_mAP", mode="max")` see them.

    Select on a validation split carved from the TRAINING identities (`zoo.data.ReIDSplits.validation`), never on
    the dataset's query/gallery: the test protocol is then run once, on the selected weights.

    Args:
        query, gallery: `(images or image paths or dataset, pids, cams)` of the validation split.
        every_n_epochs: evaluation period (>= 1).
        ap: "non_interpolated" (default) or "market" (see `zoo.metrics.evaluate_rank`).
        flip: flip test-time augmentation (ReIDModel only).
        geometry: the distance for models without `evaluate_reid` (default "euclidean").
        batch_size: embedding batch size.
        prefix: prefix of the log keys (default "val_").
        verbose: 1 prints one line per evaluation.

    Example:
        >>> splits = zoo.data.reid("market1501", root).validation(num_ids=100)
        >>> cb = zoo.callbacks.ReIDEvaluation(splits.query, splits.gallery)
        >>> model.fit(train, epochs=120, callbacks=[cb, keras.callbacks.TensorBoard("logs"),
        ...           keras.callbacks.ModelCheckpoint("best.weights.h5", monitor="val_mAP", mode="max",
        ...                                           save_best_only=True, save_weights_only=True)])

    Reference:
        Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV 2015 (CMC, mAP); Ye et al., "Deep
        Learning for Person Re-identification: A Survey and Outlook", TPAMI 2021 (mINP).
    """

    def __init__(self, query, gallery, every_n_epochs=1, ap="non_interpolated", flip=False, geometry="euclidean",
                 batch_size=128, prefix="val_", verbose=0):
        super().__init__()
        self.query = _split(query, "query")
        self.gallery = _split(gallery, "gallery")
        self.every_n_epochs = check_int(every_n_epochs, "every_n_epochs", minimum=1, owner="ReIDEvaluation")
        self.ap = check_choice(ap, "ap", AP_VARIANTS, owner="ReIDEvaluation")
        self.flip = check_bool(flip, "flip", owner="ReIDEvaluation")
        self.geometry, self.batch_size = geometry, check_int(batch_size, "batch_size", minimum=1,
                                                             owner="ReIDEvaluation")
        self.prefix, self.verbose = str(prefix), int(verbose)
        self.history = []

    def evaluate(self):
        """The metrics now, as the dict of log entries."""
        import zoo.metrics

        if hasattr(self.model, "evaluate_reid"):
            res = self.model.evaluate_reid(self.query, self.gallery, flip=self.flip, ap=self.ap,
                                           batch_size=self.batch_size)
        else:
            if self.flip:
                raise ValueError("ReIDEvaluation: flip=True needs a model with `evaluate_reid` (zoo.models.ReIDModel).")
            qf = np.asarray(self.model.predict(self.query[0], batch_size=self.batch_size, verbose=0), "float32")
            gf = np.asarray(self.model.predict(self.gallery[0], batch_size=self.batch_size, verbose=0), "float32")
            res = zoo.metrics.evaluate_rank(None, self.query[1], self.gallery[1], self.query[2], self.gallery[2],
                                            ap=self.ap, query_features=qf, gallery_features=gf,
                                            geometry=self.geometry)
        logs = {k: float(res[k]) for k in ("rank1", "rank5", "rank10", "mAP", "mINP")}
        logs["score"] = (logs["rank1"] + logs["mAP"]) / 2
        return {self.prefix + k: v for k, v in logs.items()}

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        values = self.evaluate()
        if logs is not None:
            logs.update(values)
        self.history.append((epoch, values))
        if self.verbose:
            print(f"[ReIDEvaluation] epoch {epoch + 1}: " + ", ".join(f"{k}={v:.4f}" for k, v in values.items()))

    def get_config(self):
        return {"every_n_epochs": self.every_n_epochs, "ap": self.ap, "flip": self.flip, "geometry": self.geometry,
                "batch_size": self.batch_size, "prefix": self.prefix, "verbose": self.verbose}
