"""`RetrievalEvaluation`: retrieval metrics and nearest-centroid accuracy of the embeddings, every epoch."""

import keras
import numpy as np

from zoo._checks import check_bool, check_int

__all__ = ["RetrievalEvaluation"]


def _as_xy(data, name):
    try:
        x, y = data
    except (TypeError, ValueError):
        raise ValueError(f"RetrievalEvaluation: `{name}` must be an (images, labels) pair; got {type(data)}.") from None
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"RetrievalEvaluation: `{name}` labels must be integers of shape [{len(x)}]; "
                         f"got {y.dtype} shape {y.shape}.")
    return x, y


@keras.saving.register_keras_serializable(package="zoo")
class RetrievalEvaluation(keras.callbacks.Callback):
    """Embed an evaluation split (and optionally a gallery / training split) at the end of every
    `every_n_epochs`-th epoch and add to the epoch logs (so History and TensorBoard record them):

    - ``{prefix}recall_at_k``, ``{prefix}precision_at_k`` (each k), ``{prefix}map_at_r``: retrieval of
      the split against the gallery (leave-one-out inside the split when no gallery is given);
    - ``{prefix}centroid_acc``: nearest-centroid accuracy with centroids from the gallery (clean);
    - ``{prefix}centroid_acc_transductive``: centroids from the split's own embeddings and labels (the
      exponential-triplet reference's test protocol, reported for comparability).

    All metrics come from `zoo.metrics.retrieval` (host numpy, chunked). Put this callback *before*
    `keras.callbacks.TensorBoard` in the list so its values reach the logs TensorBoard writes.

    Args:
        data: (images, int labels) of the evaluated split.
        gallery: optional (images, int labels) used as retrieval gallery and for train centroids.
        ks: recall/precision cut-offs.
        geometry: "euclidean", "cosine", "sphere", "poincare" or a `zoo.geometry` geometry / config.
        output: which model output is the embedding when the model has several (int index or name);
            None = the only output.
        map_at_r: also report MAP@R.
        normalize_centroids: renormalise the class centroids to unit length (embeddings on the unit
            sphere compared with Euclidean distances: the exponential-triplet `l2` space, as the
            reference); see `zoo.metrics.class_centroids`.
        every_n_epochs: evaluation period (>= 1).
        batch_size: prediction batch size.
        prefix: prefix of the log keys (default "val_").
        verbose: 1 prints one line per evaluation.

    Example:
        >>> cb = zoo.callbacks.RetrievalEvaluation((x_test, y_test), gallery=(x_train, y_train),
        ...                                        ks=(1, 5), output="embedding")
        >>> model.fit(train_ds, epochs=10, callbacks=[cb, keras.callbacks.TensorBoard("logs")])

    Reference:
        Urtans et al., "Exponential Triplet Loss", ICCDA 2020 (per-epoch centroid accuracy);
        Musgrave et al., "A Metric Learning Reality Check", ECCV 2020 (MAP@R).

    Departures from the reference code:
        The reference reports only transductive (test-centroid) accuracy and selects the best epoch
        on it; here the clean train-centroid accuracy is reported next to it and nothing is selected.
    """

    def __init__(self, data, gallery=None, ks=(1,), geometry="euclidean", output=None, map_at_r=True,
                 every_n_epochs=1, batch_size=512, prefix="val_", verbose=0, normalize_centroids=False):
        super().__init__()
        self.data = _as_xy(data, "data")
        self.gallery = None if gallery is None else _as_xy(gallery, "gallery")
        self.ks = tuple(int(k) for k in np.atleast_1d(ks))
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f"RetrievalEvaluation: `ks` must be integers >= 1; got {ks!r}.")
        every_n_epochs = check_int(every_n_epochs, "every_n_epochs", minimum=1, owner="RetrievalEvaluation")
        self.normalize_centroids = check_bool(normalize_centroids, "normalize_centroids", owner="RetrievalEvaluation")
        self.geometry, self.output, self.map_at_r = geometry, output, bool(map_at_r)
        self.every_n_epochs, self.batch_size, self.prefix, self.verbose = int(every_n_epochs), int(batch_size), \
            str(prefix), int(verbose)
        self.history = []

    def embed(self, x):
        """Embeddings of images `x` from the model's embedding output (numpy float32)."""
        out = self.model.predict(x, batch_size=self.batch_size, verbose=0)
        if isinstance(out, dict):
            out = out[self.output if self.output is not None else next(iter(out))]
        elif isinstance(out, (list, tuple)):
            if self.output is None:
                if len(out) != 1:
                    raise ValueError("RetrievalEvaluation: the model has several outputs; pass `output`.")
                out = out[0]
            elif isinstance(self.output, str):
                out = out[list(self.model.output_names).index(self.output)]
            else:
                out = out[int(self.output)]
        return np.asarray(keras.ops.convert_to_numpy(out), np.float32)

    def evaluate(self):
        """Compute the metrics now; returns the dict of log entries."""
        from zoo.metrics import retrieval

        x, y = self.data
        emb = self.embed(x)
        logs = {}
        if self.gallery is not None:
            gx, gy = self.gallery
            gemb = self.embed(gx)
            res = retrieval.retrieval_metrics(emb, y, gemb, gy, ks=self.ks, geometry=self.geometry,
                                              map_at_r=self.map_at_r)
            logs["centroid_acc"] = retrieval.nearest_centroid_accuracy(
                emb, y, gemb, gy, self.geometry, normalize_centroids=self.normalize_centroids)
        else:
            res = retrieval.retrieval_metrics(emb, y, ks=self.ks, geometry=self.geometry, map_at_r=self.map_at_r)
        logs["centroid_acc_transductive"] = retrieval.nearest_centroid_accuracy(
            emb, y, geometry=self.geometry, normalize_centroids=self.normalize_centroids)
        for k in self.ks:
            logs[f"recall_at_{k}"] = res[f"recall@{k}"]
            logs[f"precision_at_{k}"] = res[f"precision@{k}"]
        if self.map_at_r:
            logs["map_at_r"] = res["map@r"]
        return {self.prefix + key: float(v) for key, v in logs.items()}

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        values = self.evaluate()
        if logs is not None:
            logs.update(values)
        self.history.append((epoch, values))
        if self.verbose:
            print(f"[RetrievalEvaluation] epoch {epoch + 1}: " + ", ".join(f"{k}={v:.4f}" for k, v in values.items()))

    def get_config(self):
        return {"ks": list(self.ks), "geometry": self.geometry, "output": self.output, "map_at_r": self.map_at_r,
                "every_n_epochs": self.every_n_epochs, "batch_size": self.batch_size, "prefix": self.prefix,
                "verbose": self.verbose, "normalize_centroids": self.normalize_centroids}
