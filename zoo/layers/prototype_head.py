"""`PrototypeHead`: fixed hyperspherical prototypes with a label-to-prototype assignment (DL2PA)."""

import os

import keras
import numpy as np
from keras import ops

from zoo._checks import check_int, check_range
from zoo.geometry import sphere
from zoo.layers._dtype import geometry_dtype

__all__ = ["PrototypeHead"]

#: Up to this many classes the class-mean update uses the [C, B] one-hot matmul (O(B C d)); above it, the
#: [B, B] label Gram and a scatter (O(B^2 d), independent of C). Same formula either way.
DENSE_UPDATE_MAX_CLASSES = 256

#: Names accepted by `PrototypeHead(prototypes=...)` besides an array or a .npy path.
PROTOTYPE_KINDS = ("uniform", "etf", "learned")


# Paths of prototype files that `from_config` found missing: the layer is being restored from a saved
# model and takes the prototype values from the saved weights.
_DEFERRED = set()


def _is_deferred(path):
    return path in _DEFERRED


def _loading_saved_model():
    """True while `keras.saving.load_model` rebuilds a model from its config (its weights are read next).

    Keras deserialises a `.keras` file (from_config, build_from_config, compile_from_config) inside an
    `ObjectSharingScope`, and only there (saving serialises inside one too, but builds nothing); the
    variables are loaded right after, through each layer's `load_own_variables`. Keras has no public flag
    for this, so the scope's global state is read (False if a later Keras renames it: the layer then
    computes its prototypes as in a fresh build, the behaviour before this check).
    """
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - Keras internals moved
        return False
    return global_state.get_global_attribute("shared_objects/id_to_obj_map") is not None


def _checked_num_prototypes(num_prototypes, num_classes):
    """`num_prototypes` as an int >= num_classes, or None (read from the data or num_classes)."""
    if num_prototypes is None:
        return None
    num_prototypes = check_int(num_prototypes, "num_prototypes", owner="PrototypeHead")
    if num_prototypes < num_classes:
        raise ValueError(f"`num_prototypes` ({num_prototypes}) must be >= num_classes ({num_classes}): "
                         "every class needs its own prototype.")
    return num_prototypes


def _checked_momentum(momentum):
    """m in [0, 1) as a float."""
    if isinstance(momentum, str):  # check_range would parse "0.9"
        raise ValueError(f"PrototypeHead: `momentum` must be a number in [0, 1); got {momentum!r}.")
    return check_range(momentum, "momentum", "PrototypeHead", 0.0, 1.0, "0", "1", hi_open=True)


def _resolve_prototypes(prototypes, sha256, num_prototypes=None):
    """(kind, array or None, config value) of the `prototypes` argument.

    kind is one of PROTOTYPE_KINDS, "file" (a .npy file, loaded and sha256-checked now), "deferred" (a
    .npy file while a saved model is loaded: the values come from the saved weights; the file is read only
    when it is there and the number of prototypes is not known otherwise) or "array".
    """
    if isinstance(prototypes, str) and prototypes in PROTOTYPE_KINDS:
        return prototypes, None, prototypes
    if isinstance(prototypes, (str, os.PathLike)):
        path = os.fspath(prototypes)
        if not path.endswith(".npy"):
            raise ValueError(f"`prototypes` must be one of {PROTOTYPE_KINDS}, a path to a .npy file or an "
                             f"array [P, d]; got {prototypes!r}.")
        if _is_deferred(path) or (_loading_saved_model()
                                   and (num_prototypes is not None or not os.path.isfile(path))):
            # Loading a saved model whose prototype file is not on this machine: the values come from
            # the saved weights, so build() creates a placeholder (see from_config).
            return "deferred", None, path
        from zoo.prototypes import load

        return "file", load(path, sha256=sha256), path
    arr = np.asarray(prototypes, dtype=np.float64)
    if arr.ndim != 2 or not np.all(np.isfinite(arr)) or np.any(np.linalg.norm(arr, axis=1) == 0):
        raise ValueError(f"`prototypes` given as an array must be a finite [P, d] matrix with non-zero rows; "
                         f"got shape {arr.shape}.")
    return "array", arr, arr.tolist()


def _count_prototypes(kind, array, num_prototypes, num_classes):
    """P: the rows of a given set (a given `num_prototypes` must match), else `num_prototypes` or C."""
    if array is not None:
        if num_prototypes is not None and num_prototypes != array.shape[0]:
            raise ValueError(f"`num_prototypes` is {num_prototypes} but the given set has {array.shape[0]} "
                             "prototypes.")
        num_prototypes = array.shape[0]
        if num_prototypes < num_classes:
            raise ValueError(f"the prototype set has {num_prototypes} prototypes for {num_classes} classes: "
                             "every class needs its own prototype (need num_prototypes >= num_classes).")
    if kind == "deferred" and num_prototypes is None:
        raise ValueError("PrototypeHead.from_config: `num_prototypes` is needed when the prototype file is absent.")
    return num_prototypes or num_classes


def _labels_from(labels):
    """int32 class ids [B] from int labels [B] / [B, 1] or mixup-packed (y_a, y_b, lam) [B, 3] (uses y_a)."""
    labels = ops.convert_to_tensor(labels)
    if len(labels.shape) == 2:
        labels = labels[:, 0]
    if "float" in str(labels.dtype):
        labels = ops.round(labels)
    return ops.cast(labels, "int32")


@keras.saving.register_keras_serializable(package="zoo")
class PrototypeHead(keras.layers.Layer):
    """Cosine scores against fixed prototypes, with a label-to-prototype assignment and class means.

    scores[b, k] = cos( f(x_b), p_{sigma(k)} ),   k = 0 .. C-1 (class order),

    where p_0 .. p_{P-1} are fixed unit prototypes (P >= C; non-trainable, no gradient), sigma the
    assignment (an int32 variable, class k -> prototype sigma(k)), and argmax_k the prediction. In
    training (`training=True` and `labels` given) the class means q_k are updated in the graph with
    the paper's momentum m on the *batch class mean* of the normalised, gradient-stopped features:

        n_k = sum_b [y_b = k],   mean_k = (1 / n_k) sum_{b: y_b = k} f(x_b) / ||f(x_b)||,
        q_k <- normalize( m q_k + (1 - m) mean_k )      for every class present in the batch,

    computed with one-hot matmuls (Y the [B, C] one-hot labels): sums Y^T X^ and counts Y^T 1 for up to
    `DENSE_UPDATE_MAX_CLASSES` classes; above, S = Y Y^T (the [B, B] label-equality matrix) gives each
    sample its class's batch sum S X^ and count S 1, and the present rows are written back with one
    scatter whose repeated indices carry identical values (O(B^2 d), independent of C). No indexed
    accumulation: deterministic on every backend.
    `zoo.callbacks.PrototypeReassignment` re-solves sigma from the scores q_k . p_j by the Hungarian
    method between epochs.

    Args:
        num_classes: C >= 2.
        prototypes: "uniform" (estimated by `zoo.prototypes.uniform`, cached on disk by
            `zoo.prototypes.load_or_estimate`), "etf" (`zoo.prototypes.etf`, needs dim >= P - 1),
            "learned" (initialised like "uniform" but trainable: the prototypes move with the loss; an
            ablation, the pull-only loss has no term that keeps learned prototypes apart), a path to a
            `.npy` file written by `zoo.prototypes.save` (sha256 checked), or an array [P, d] (stored in the
            config as a list). A `.keras` model always carries the prototype values in its weights: loading
            it neither estimates "uniform"/"learned" sets nor reads or writes the cache (the layer is built
            with a placeholder that the saved weights overwrite), and a prototype file is not needed at
            load time. The "uniform" estimate shows a progress bar when it is long (see
            `zoo.prototypes.uniform`'s `verbose="auto"`); a cache that cannot be written (read-only home,
            full disk) gives a warning, not an error.
        num_prototypes: P >= C for "uniform"/"etf"/"learned" (default C); for a file or an array it is
            read from the data (a given value must match).
        momentum: m in [0, 1) of the class-mean update (paper: 0.9).
        seed: seed of the uniform estimate and of the random initial class means.
        steps: steps of the uniform estimate (default 1000, the paper).
        prototypes_sha256: expected sha256 of a `.npy` prototype file (default: its `.sha256` sidecar).
        feature_bn: put a `keras.layers.BatchNormalization` (momentum 0.9, epsilon 1e-5: torch's BatchNorm1d
            defaults) on the embeddings before everything else, x -> BN(x), so scores, class means and loss
            see h = BN(f(x)) / ||BN(f(x))|| (the reference's long-tail `BN_H`; default False, as its balanced
            runs). Its statistics update in training (`training=True`).
        **kwargs: Layer arguments; the dtype policy is float32 (float64 if asked), mixed policies are
            replaced by float32.

    Call args:
        inputs: embeddings f(x) [B, d] (any norm).
        labels: int class ids [B] (or [B, 1], or mixup-packed [B, 3] = (y_a, y_b, lam), of which y_a is
            used, as the reference updates with the first label set). Only needed in training.
        training: the class means are updated only when True and labels are given.

    Weights (all saved in `.keras` files and restored by `keras.callbacks.BackupAndRestore`):
        prototypes [P, d] (non-trainable unless "learned"), assignment int32 [C], class_means [C, d]
        (non-trainable; start as seeded random unit rows, as the reference's randn), polars [d, C] (the
        assigned prototypes in class order, derived from the other two: change the assignment only through
        `set_assignment`, which keeps it in sync).

    Example:
        >>> head = zoo.layers.PrototypeHead(10, prototypes="uniform")
        >>> scores = head(embeddings, labels=labels, training=True)     # [B, 10] cosines
        >>> model.compile(loss=zoo.losses.PrototypeRegressionLoss(), ...)
        >>> model.fit(..., callbacks=[zoo.callbacks.PrototypeReassignment(every_n_epochs=1)])

    Reference:
        Saadabadi et al., "Hyperspherical Classification with Dynamic Label-to-Prototype Assignment",
        CVPR 2024, §3.2-3.3 (code: `backbone/classifiers/fixed.py`).

    Departures from the reference code:
        - Momentum update: the paper's EMA with m = 0.9 of the batch class mean. The reference does
          `q[labels] += 0.9 q[labels] + 0.1 lam x`, i.e. q <- 1.9 q + 0.1 lam x (a bug against the paper;
          after renormalisation an EMA with effective momentum ~0.95), through an indexed in-place add
          that keeps only one (undefined, last-write-wins) sample per class when a label repeats in the
          batch. That nondeterminism cannot be reproduced across backends; `momentum=0.95` approximates
          the reference's effective momentum. The reference also scales x by the mixup lam; the paper's EMA
          has no lam, and neither has this update.
        - Only the rows of classes present in the batch are renormalised (the reference renormalises
          every row, a no-op for rows that are already unit).
        - The initial assignment is the identity; the reference solves a Hungarian step on random class
          means at construction, which is an arbitrary permutation of an arbitrary (random) prototype set.
        - The reference's long-tail `BN_H` is the option `feature_bn=True` (off by default; the balanced
          reference has none).
    """

    def __init__(self, num_classes, prototypes="uniform", num_prototypes=None, momentum=0.9, seed=0, steps=1000,
                 prototypes_sha256=None, feature_bn=False, **kwargs):
        kwargs["dtype"] = geometry_dtype(kwargs.get("dtype"))
        super().__init__(**kwargs)
        self.num_classes = check_int(num_classes, "num_classes", minimum=2, owner="PrototypeHead")
        num_prototypes = _checked_num_prototypes(num_prototypes, self.num_classes)
        self.momentum = _checked_momentum(momentum)
        self.seed = check_int(seed, "seed", minimum=0, owner="PrototypeHead")
        self.steps = check_int(steps, "steps", minimum=0, owner="PrototypeHead")
        self.prototypes_sha256 = prototypes_sha256
        if not isinstance(feature_bn, (bool, np.bool_)):
            raise TypeError(f"PrototypeHead: `feature_bn` must be True or False; got {feature_bn!r}.")
        self.feature_bn = bool(feature_bn)
        # BN_H of the reference (torch BatchNorm1d: momentum 0.1 of the new batch = Keras momentum 0.9, eps 1e-5).
        self.batch_norm = (keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=self.dtype_policy,
                                                           name="feature_bn") if self.feature_bn else None)
        self.kind, self._array, self._prototypes_arg = _resolve_prototypes(prototypes, prototypes_sha256,
                                                                           num_prototypes)
        self._awaiting_weights = False
        self.num_prototypes = _count_prototypes(self.kind, self._array, num_prototypes, self.num_classes)

    # -- weights -------------------------------------------------------------------------------------

    def _prototype_values(self, dim):
        from zoo.prototypes import etf, load_or_estimate

        if self.kind == "deferred":
            return np.zeros((self.num_prototypes, dim))  # overwritten by the saved weights
        if self._array is not None:
            if self._array.shape[1] != dim:
                raise ValueError(f"the prototypes have dimension {self._array.shape[1]} but the embeddings have "
                                 f"dimension {dim}.")
            arr = self._array
        elif self.kind == "etf":
            arr = etf(self.num_prototypes, dim)
        else:
            arr = load_or_estimate("uniform", self.num_prototypes, dim, seed=self.seed, steps=self.steps)
        arr = np.asarray(arr, dtype=np.float64)
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        if not np.all(norms > 0):
            raise ValueError(f"PrototypeHead: prototype row(s) {np.flatnonzero(norms[:, 0] == 0)[:5].tolist()} "
                             "are zero; every prototype needs a direction.")
        return arr / norms

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(f"PrototypeHead needs a known embedding dimension; got input shape {input_shape}.")
        dim = int(dim)
        if self.batch_norm is not None and not self.batch_norm.built:
            self.batch_norm.build((None, dim))
        # Inside keras.saving.load_model the saved weights overwrite the prototypes right after build: do
        # not estimate (or read/write the cache) only to throw the values away (see load_own_variables).
        self._awaiting_weights = self.kind in ("uniform", "learned") and _loading_saved_model()
        if self._awaiting_weights:
            protos = np.zeros((self.num_prototypes, dim))
        else:
            protos = self._prototype_values(dim)
        rng = np.random.default_rng(self.seed)
        means = rng.standard_normal((self.num_classes, dim))
        means /= np.linalg.norm(means, axis=1, keepdims=True)
        self.prototypes = self.add_weight(
            name="prototypes", shape=(self.num_prototypes, dim), trainable=self.kind == "learned",
            initializer=lambda shape, dtype=None: ops.convert_to_tensor(protos, dtype=dtype))
        self.assignment = self.add_weight(
            name="assignment", shape=(self.num_classes,), dtype="int32", trainable=False,
            initializer=lambda shape, dtype=None: ops.arange(self.num_classes, dtype="int32"))
        self.class_means = self.add_weight(
            name="class_means", shape=(self.num_classes, dim), trainable=False, aggregation="mean",
            initializer=lambda shape, dtype=None: ops.convert_to_tensor(means, dtype=dtype))
        # The assigned prototypes in class order, transposed [d, C] (the layout of a Dense kernel), kept in
        # sync with `assignment` by `set_assignment`: the forward pass is then one matmul, with no gather
        # and no normalisation of a [C, d] tensor per step. Not used (gathered per step) for "learned".
        self.polars = self.add_weight(
            name="polars", shape=(dim, self.num_classes), trainable=False,
            initializer=lambda shape, dtype=None: ops.convert_to_tensor(protos[:self.num_classes].T, dtype=dtype))

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self._awaiting_weights = False

    # -- forward -------------------------------------------------------------------------------------

    def assigned_prototypes(self):
        """The prototype of each class in class order, p_{sigma(k)} [C, d] (gradient-stopped unless learned)."""
        if self.kind == "learned":
            return ops.take(self.prototypes, self.assignment, axis=0)
        return ops.stop_gradient(ops.transpose(self.polars))

    def _update_means(self, x, labels):
        """q_k <- normalize(m q_k + (1 - m) mean_k) for the classes in the batch (see the class docstring).

        One-hot matmuls, in one of two equivalent ways (same formula, float rounding aside):
        - C <= DENSE_UPDATE_MAX_CLASSES: sums = Y^T X^ and counts = Y^T 1 with Y the [B, C] one-hot labels,
          every row of [C, d] updated at once (O(B C d); cheapest when C is small);
        - more classes: S = Y Y^T, computed as the [B, B] label-equality matrix, gives each sample its class's
          batch sum S X^ and count S 1; the rows of the classes present are written back with one scatter
          whose repeated indices carry identical values (O(B^2 d), independent of C, no pass over [C, d]
          besides the scatter).
        A label outside [0, C) is ignored (the loss turns it into NaN), the same on every backend.
        """
        c = self.num_classes
        y = _labels_from(labels)
        valid = ops.logical_and(y >= 0, y < c)
        xh = sphere.normalize(ops.stop_gradient(x))
        validf = ops.cast(valid, xh.dtype)
        q = ops.convert_to_tensor(self.class_means)
        m = self.momentum
        if c <= DENSE_UPDATE_MAX_CLASSES:
            onehot = ops.one_hot(ops.where(valid, y, 0), c, axis=0, dtype=xh.dtype) * validf[None, :]  # [C, B]
            counts = ops.sum(onehot, axis=1, keepdims=True)  # [C, 1]
            batch_mean = ops.matmul(onehot, xh) / ops.maximum(counts, 1.0)
            moved = sphere.normalize(m * q + (1.0 - m) * batch_mean)
            self.class_means.assign(ops.where(counts > 0, moved, q))
            return
        same = ops.cast(ops.equal(y[:, None], y[None, :]), xh.dtype) * validf[:, None] * validf[None, :]  # Y Y^T
        batch_mean = ops.matmul(same, xh) / ops.maximum(ops.sum(same, axis=1, keepdims=True), 1.0)  # [B, d]
        moved = sphere.normalize(m * ops.take(q, ops.where(valid, y, 0), axis=0) + (1.0 - m) * batch_mean)
        # A label outside [0, C) writes into a spare row C that is dropped.
        spare = ops.concatenate([q, ops.zeros((1, q.shape[1]), dtype=q.dtype)], axis=0)
        index = ops.where(valid, y, c)[:, None]
        self.class_means.assign(ops.scatter_update(spare, index, moved)[:c])

    def call(self, inputs, labels=None, training=None):
        x = ops.cast(inputs, self.compute_dtype)
        if self.batch_norm is not None:
            x = self.batch_norm(x, training=training)
        if training and labels is not None:
            self._update_means(x, labels)
        if self.kind == "learned":
            return sphere.pairwise_cosine(x, self.assigned_prototypes())
        # Fixed prototypes are stored unit-norm (normalised in build): cos = x^ . p, one matmul.
        return ops.clip(ops.matmul(sphere.normalize(x), ops.stop_gradient(self.polars)), -1.0, 1.0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_classes,)

    # -- host side -----------------------------------------------------------------------------------

    def set_assignment(self, assignment):
        """Set sigma (class k -> prototype assignment[k]) after checking it is a permutation.

        Raises:
            ValueError: wrong length, indices out of [0, P), a prototype used twice.
        """
        from zoo.prototypes import check_assignment

        if not self.built:
            raise ValueError("PrototypeHead.set_assignment: build the layer (call it once) first.")
        a = check_assignment(assignment, self.num_classes, self.num_prototypes)
        self.assignment.assign(a.astype("int32"))
        protos = np.asarray(ops.convert_to_numpy(self.prototypes))
        self.polars.assign(np.ascontiguousarray(protos[a].T))

    def class_prototype_scores(self):
        """Host-side [C, P] numpy matrix q_k . p_j that the Hungarian step maximises."""
        q = np.asarray(ops.convert_to_numpy(self.class_means), dtype=np.float64)
        p = np.asarray(ops.convert_to_numpy(self.prototypes), dtype=np.float64)
        return q @ p.T

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        path = config.get("prototypes")
        if isinstance(path, str) and path.endswith(".npy") and not os.path.isfile(path):
            _DEFERRED.add(path)
            try:
                return cls(**config)
            finally:
                _DEFERRED.discard(path)
        return cls(**config)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes, prototypes=self._prototypes_arg, num_prototypes=self.num_prototypes,
            momentum=self.momentum, seed=self.seed, steps=self.steps, prototypes_sha256=self.prototypes_sha256,
            feature_bn=self.feature_bn,
        )
        return config
