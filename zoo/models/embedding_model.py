"""`EmbeddingModel`: metric learning and retrieval as one model (backbone + embedding space, PK-batch training)."""

import keras
import numpy as np
from keras import ops

from zoo._checks import check_bool, check_choice, check_int, check_positive, check_range
from zoo.models import _inputs
from zoo.models.task import Task

__all__ = ["EmbeddingModel"]

#: Embedding spaces: the exponential-triplet maps of `zoo.layers.EmbeddingSpace`, the unit sphere, the Poincaré ball.
SPACES = ("l2", "unit_ball", "unit_bounce", "none", "sphere", "poincare")
#: Loss names `loss=` accepts (or a `keras.losses.Loss` instance).
LOSSES = ("auto", "exp", "triplet", "contrastive")
#: Distances the loss and retrieval may use in each space (the first is the default).
DISTANCES = {"l2": ("euclidean", "cosine"), "unit_ball": ("euclidean", "cosine"),
             "unit_bounce": ("euclidean", "cosine"), "none": ("euclidean", "cosine"),
             "sphere": ("cosine", "euclidean"), "poincare": ("poincare",)}
#: Curvature of the "poincare" space when `c` is not given.
DEFAULT_C = 1.0
#: Classes per PK batch when `fit(..., p=None)`: this many, or every class with K samples if fewer.
DEFAULT_P = 10
#: Query rows × gallery size of one distance block in `retrieve` (float32: 32 MB).
MAX_ELEMENTS = 2 ** 23


@keras.saving.register_keras_serializable(package="zoo")
class EmbeddingModel(Task):
    """Raw images -> preprocessing -> backbone -> (activation) -> embedding space; metric loss on PK batches.

        e = space(act(backbone((resize(x) / 255 − mean) / std)))
        with maxout_pool = k > 0:  e = space(act(MaxoutDense_{d,k}(BatchNorm(backbone(...)))))
        space:  "l2" c_s·x/‖x‖, "unit_ball", "unit_bounce", "none"   (`zoo.layers.EmbeddingSpace`, ‖x‖ under
                stop-gradient, the exponential-triplet reference's maps);
                "sphere"  x/‖x‖ (`keras.layers.UnitNormalization`, gradient through the norm);
                "poincare"  project(expmap0_c(x))  (`zoo.layers.ToPoincare`, one curvature c, trainable with
                train_c=True)
        L = metric_loss(labels, e) [+ C_class/K · CE(Dense_K(BatchNorm(e)), labels)]

    The metric loss is a `zoo.losses` pair/triplet loss whose distance is the space's own
    (`model.geometry`): the exponential triplet loss ("exp", the default, Euclidean distance with
    D = 2·scale, or 1 − cos with D = 2), the batch-hard / batch-all / semi-hard triplet loss ("triplet",
    the default in the unbounded Poincaré ball, where "exp" needs `loss_options={"max_distance": ...}`)
    or the contrastive loss. `fit(x, y)` on raw image arrays and integer ids builds the PK batches
    itself (P classes × K images of raw pixels, `zoo.data.pk_plan`); `tf.data` datasets (already PK
    batched) and generators are used as they are. Labels are arbitrary non-negative ids: no class count
    is needed, except by the class term and by "exp" (c_n = overlap/K, K taken from `num_classes` or from
    the labels of the first `fit` on arrays).

    `embed(images)` returns the embeddings (unit vectors for "l2" with scale 1 and "sphere", ball points
    for "poincare"), `retrieve(queries, gallery, k)` the k nearest gallery items in the model's geometry
    (chunked over queries: no N × M × d tensor), `evaluate_retrieval(...)` recall@k / precision@k / MAP@R /
    mAP through `zoo.metrics.retrieval_metrics` in the same geometry. `predict(images)` = `embed(images)`.

    The optional class term (`class_coef > 0`, the exponential-triplet paper's L_class): BatchNorm ->
    Dense(num_classes) on the embedding, sparse cross-entropy weighted by class_coef / num_classes (the
    reference averages CE over B × K). It lives inside the model as an `add_loss` term fed by the labels
    (the task routes them in, as for label-fed heads), so the model keeps a single output, `compile()`
    keeps a single loss and `predict`, `embed` and the retrieval methods never see the logits; a
    two-output model (the recipe's former functional form) would need dict labels in every `fit` call.

    Args:
        backbone: a `zoo.backbones` name, a keras-hub ResNet/ViT preset (name, handle or local directory)
            or a Keras model (see `zoo.models.ImageClassifier`).
        space: "l2" (default), "unit_ball", "unit_bounce", "none", "sphere" or "poincare".
        input_shape: `(height, width)` or `(height, width, channels)` of the raw images (needed for zoo
            backbone names).
        embedding_dim: embedding size (default 64; None keeps a preset's or model's own feature size).
        c: curvature of the "poincare" space (> 0, default 1; ball radius 1/√c); only with "poincare".
        train_c: learn c (softplus-parametrised by `ToPoincare`); `model.geometry` reads its current value.
        loss: "auto" (default: "exp", or "triplet" for "poincare"), "exp" (`zoo.losses.ExponentialTripletLoss`),
            "triplet" (`zoo.losses.TripletLoss`), "contrastive" (`zoo.losses.ContrastiveLoss`), or a
            `keras.losses.Loss` instance (used as it is; its distance is the caller's business).
        loss_options: keyword arguments of the loss class (e.g. `{"margin": 0.3, "mining": "semi_hard"}`,
            `{"overlap_coef": 1.2, "center_weight": 1.0, "anchor_stride": 3}`); the model fills in `distance`
            (and, for "exp", `num_classes` and `embedding_scale`).
        distance: the distance of the loss and of retrieval: None (the space's own: "euclidean" for the
            EmbeddingSpace maps, "cosine" (1 − cos) for "sphere", the ball's for "poincare"), or "cosine" /
            "euclidean" where the space allows it.
        scale: c_s, the radius of the "l2" / "unit_ball" / "unit_bounce" spaces (default 1).
        bounce: "limit", "periodic" or "squared" ("unit_bounce" only; see `zoo.layers.EmbeddingSpace`).
        activation: a Keras activation applied to the backbone features before the space (the reference
            uses "tanh"); None (default) for none.
        num_classes: K, the number of training classes: required by the class term (labels then lie in
            [0, K)); sets the "exp" margin c_n = overlap/K.
        class_coef: C_class >= 0 (default 0: no class term).
        maxout_pool: k > 0 adds the exponential-triplet reference's embedding head between the backbone and the
            activation: BatchNorm -> `zoo.layers.MaxoutDense(embedding_dim, k)` (Xavier-uniform; the reference
            uses k = 16 with tanh); 0 (default) = none. The backbone's own output (embedding_dim wide: zoo
            backbones end in a projection) is the Maxout layer's input, where the reference feeds DenseNet's
            pooled features (C_enc = 2208) directly.
        normalize, image_size, backbone_options, preprocessor: as `zoo.models.ImageClassifier`.
        name: model name.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = zoo.data.fashion_mnist()
        >>> model = zoo.models.EmbeddingModel("lenet", space="l2", input_shape=(28, 28), embedding_dim=64)
        >>> model.fit(x_train, y_train, epochs=5, p=10, k=3)          # PK batches of raw images, compile() "auto"
        >>> idx, dist = model.retrieve(x_test[:5], x_train, k=3)      # [5, 3] gallery indices and distances
        >>> model.evaluate_retrieval(x_test, y_test, x_train, y_train, ks=(1, 5))["recall@1"]
        >>> ball = zoo.models.EmbeddingModel("lenet", space="poincare", c=0.1, input_shape=(28, 28))

    Reference:
        Urtans, Nikitenko, Vecins, "Exponential Triplet Loss", ICCDA 2020 (spaces, L_exp, the class and
        centre terms); Hermans, Beyer, Leibe, "In Defense of the Triplet Loss for Person Re-Identification",
        2017 (PK batches, batch-hard mining); Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (the
        Poincaré space).

    Departures:
        - With `train_c=True` the loss is computed with the initial curvature c0 on the ball points rescaled
          by √(c/c0) (points of the c0 ball): the distance it sees is √(c/c0)·d_c, the model's own distance
          up to one positive factor (exact at the start; ranking, retrieval and `model.geometry` use d_c with
          the current c). A stateless Keras loss cannot read the trainable c.
        - The recipe's former model applied tanh and `EmbeddingSpace` in a functional graph of its own and
          normalised pixels in the tf.data pipeline; here both are in the model, so the saved model takes
          raw images.
    """

    def __init__(self, backbone, space="l2", input_shape=None, embedding_dim=64, c=None, train_c=False,
                 loss="auto", loss_options=None, distance=None, scale=1.0, bounce="limit", activation=None,
                 num_classes=None, class_coef=0.0, normalize="adapt", image_size=None, backbone_options=None,
                 preprocessor=None, maxout_pool=0, name="embedding_model"):
        import zoo.layers
        from zoo.geometry.curvature import check_c
        from zoo.layers.maxout_dense import MaxoutDense

        owner = "EmbeddingModel"
        space = check_choice(space, "space", SPACES, owner=owner)
        if c is not None and space != "poincare":
            raise ValueError(f"EmbeddingModel: `c` (curvature) only applies to space='poincare'; got c={c!r} with "
                             f"space={space!r}.")
        if space == "poincare":
            try:
                c = float(check_c(DEFAULT_C if c is None else c))
            except ValueError as err:
                raise ValueError(f"EmbeddingModel: {err}") from None
        train_c = check_bool(train_c, "train_c", owner=owner)
        if train_c and space != "poincare":
            raise ValueError(f"EmbeddingModel: `train_c` only applies to space='poincare'; got space={space!r}.")
        if isinstance(loss, dict):
            loss = keras.saving.deserialize_keras_object(loss)
        if not isinstance(loss, keras.losses.Loss):
            loss = check_choice(loss, "loss", LOSSES, owner=owner)
        distance = DISTANCES[space][0] if distance is None else distance
        if distance not in DISTANCES[space]:
            raise ValueError(f"EmbeddingModel: `distance` in space {space!r} must be one of {DISTANCES[space]}; "
                             f"got {distance!r}.")
        scale = check_positive(scale, "scale", owner=owner)
        if num_classes is not None:
            num_classes = check_int(num_classes, "num_classes", minimum=2, owner=owner)
        class_coef = check_range(class_coef, "class_coef", owner, 0.0, float("inf"), hi_text="∞")
        if class_coef > 0 and num_classes is None:
            raise ValueError("EmbeddingModel: the class term (class_coef > 0) needs `num_classes` (an int >= 2).")
        maxout_pool = check_int(maxout_pool, "maxout_pool", minimum=0, owner=owner)
        if loss_options is not None and not isinstance(loss_options, dict):
            raise TypeError(f"EmbeddingModel: `loss_options` must be a dict; got {type(loss_options).__name__}.")
        super().__init__(backbone=backbone, input_shape=input_shape, embedding_dim=embedding_dim,
                         normalize=normalize, image_size=image_size, preprocessor=preprocessor,
                         backbone_options=backbone_options, name=name)
        self.space, self.c, self.train_c, self.distance = space, c, train_c, distance
        self.scale, self.bounce, self.activation = scale, bounce, activation
        self.loss_name = loss
        self.loss_options = dict(loss_options or {})
        self.num_classes, self.class_coef = num_classes, class_coef
        self.maxout_pool = maxout_pool
        self.needs_labels = class_coef > 0
        self.label_classes = num_classes if class_coef > 0 else None
        self._label_count = None  # distinct training ids seen by the first fit on arrays ("exp" without num_classes)

        dim = self.embedding_dim
        self.maxout_bn = self.maxout = None
        if maxout_pool:
            self.maxout_bn = keras.layers.BatchNormalization(name="maxout_bn")
            self.maxout = MaxoutDense(dim, pool_size=maxout_pool, name="maxout")
            self.maxout_bn.build((None, dim))
            self.maxout.build((None, dim))
        self.activation_layer = None if activation is None else keras.layers.Activation(activation, name="activation")
        if space == "poincare":
            self.head = zoo.layers.ToPoincare(c=c, train_c=train_c, name="to_poincare")
        elif space == "sphere":
            self.head = keras.layers.UnitNormalization(axis=-1, name="sphere")
        else:
            self.head = zoo.layers.EmbeddingSpace(space, scale=scale, bounce=bounce, name="embedding_space")
        self.head.build((None, dim))
        if class_coef > 0:
            self.class_bn = keras.layers.BatchNormalization(name="class_bn")
            self.class_logits = keras.layers.Dense(num_classes, name="class_logits")
            self.class_bn.build((None, dim))
            self.class_logits.build((None, dim))
        self.built = True

    # -- the model ---------------------------------------------------------------------------------------------
    def _embed(self, features, training=None):
        if self.maxout is not None:
            features = self.maxout(self.maxout_bn(features, training=training))
        if self.activation_layer is not None:
            features = self.activation_layer(features)
        return self.head(features)

    def call(self, inputs, training=None):
        images, labels = _inputs.split_inputs(inputs)
        embeddings = self._embed(self.features(images, training=training), training=training)
        if self.class_coef > 0 and labels is not None:
            logits = self.class_logits(self.class_bn(embeddings, training=training))
            ce = keras.losses.sparse_categorical_crossentropy(ops.cast(ops.reshape(labels, (-1,)), "int32"),
                                                              ops.cast(logits, "float32"), from_logits=True)
            self.add_loss(ops.mean(ce) * (self.class_coef / self.num_classes))
        return embeddings

    def embed_tensor(self, images):
        return self._embed(self.features(images))

    @property
    def curvature(self):
        """The current curvature c of the "poincare" space (a float; None in the other spaces)."""
        if self.space != "poincare":
            return None
        return float(np.asarray(ops.convert_to_numpy(self.head.curvature)))

    @property
    def geometry(self):
        """The `zoo.geometry` object of the embeddings: the loss's and retrieval's distance (current c)."""
        import zoo.geometry

        if self.space == "poincare":
            return zoo.geometry.get("poincare", c=self.curvature)
        return zoo.geometry.get(self.distance)

    # -- training ----------------------------------------------------------------------------------------------
    def default_loss(self):
        import zoo.geometry
        import zoo.losses

        if isinstance(self.loss_name, keras.losses.Loss):
            return self.loss_name
        name = self.loss_name
        if name == "auto":
            name = "triplet" if self.space == "poincare" else "exp"
        distance = (zoo.geometry.get("poincare", c=self.c).get_config() if self.space == "poincare"
                    else self.distance)
        options = {"distance": distance, **self.loss_options}
        if name == "exp":
            count = self.num_classes or self._label_count
            if count is None:
                raise ValueError("EmbeddingModel: the exponential triplet loss needs the number of training classes "
                                 "(c_n = overlap/K): pass `num_classes`, or fit on arrays first (K is then the number "
                                 "of distinct labels).")
            options.setdefault("embedding_scale", self.scale if self.space not in ("sphere", "poincare") else 1.0)
            return zoo.losses.ExponentialTripletLoss(count, **options)
        if name == "triplet":
            return zoo.losses.TripletLoss(**options)
        return zoo.losses.ContrastiveLoss(**options)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if self.train_c and y_pred is not None:
            # Points of the current ball, rescaled into the ball of the initial c the loss measures in.
            y_pred = y_pred * ops.sqrt(ops.cast(self.head.curvature, y_pred.dtype) / self.c)
        return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, head_callbacks=True, *, p=None, k=3, seed=None, **kwargs):
        """`Task.fit`; raw image arrays `x` and integer ids `y` are fed as PK batches of P·K raw images.

        Args:
            x, y: raw images and non-negative integer ids (arrays: PK-batched here), or a `tf.data` dataset /
                generator of `(images, labels)` batches (used as it is: batch it P × K yourself).
            p: classes per batch (arrays only; default min(10, classes with >= k images)).
            k: images per class in a batch (arrays only; >= 2, default 3).
            seed: seed of the PK plans (default: a draw from numpy's global generator).
            batch_size: must be None with arrays (the batch is P·K).
            Other arguments: as `zoo.models.Task.fit` / `keras.Model.fit`.
        """
        where = "EmbeddingModel.fit"
        if x is not None and not (_inputs.is_dataset(x) or _is_stream(x)):
            if batch_size is not None:
                raise ValueError(f"{where}: `batch_size` must be None with arrays: a PK batch holds p·k images "
                                 "(pass `p` and `k`).")
            if validation_split:
                raise ValueError(f"{where}: `validation_split` is not supported with PK batches; pass "
                                 "`validation_data=(x_val, y_val)`.")
            if y is None:
                raise ValueError(f"{where}: metric learning needs the labels; pass `y`.")
            images = _inputs.check_images(x, where)
            labels = _inputs.check_labels(y, self.label_classes, where, count=len(images))
            if labels.ndim != 1:
                raise ValueError(f"{where}: `y` must be integer ids of shape [N]; got shape {labels.shape}.")
            if self._label_count is None:
                self._label_count = max(2, len(np.unique(labels)))
            self._maybe_adapt(images, where)
            x, y = _raw_pk_batches(images, labels, p, k, seed, where), None
            kwargs.setdefault("shuffle", False)  # the PK plans shuffle
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                           validation_split=validation_split, validation_data=validation_data,
                           head_callbacks=head_callbacks, **kwargs)

    # -- retrieval ---------------------------------------------------------------------------------------------
    def _embeddings(self, data, name, where, batch_size=None):
        """Embeddings `[N, d]` of raw images (rank 3/4 arrays, datasets) or precomputed embeddings (rank 2)."""
        if _inputs.is_dataset(data) or _is_stream(data):
            return np.asarray(self.embed(data, batch_size=batch_size), dtype="float32")
        array = np.asarray(ops.convert_to_numpy(data) if not isinstance(data, np.ndarray) else data)
        if array.ndim == 2:
            if array.shape[1] != self.embedding_dim:
                raise ValueError(f"{where}: `{name}` of rank 2 is taken as embeddings and must be [N, "
                                 f"{self.embedding_dim}]; got shape {array.shape}.")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{where}: `{name}` holds NaN or inf embeddings.")
            return array.astype("float32")
        return np.asarray(self.embed(_inputs.check_images(array, where, name=name), batch_size=batch_size),
                          dtype="float32")

    def retrieve(self, queries, gallery, k=5, gallery_labels=None, batch_size=None, max_elements=MAX_ELEMENTS):
        """The k nearest gallery items of every query in the model's geometry, nearest first.

            d_ij = model.geometry.pairwise_distance(e(q_i), e(g_j)),   top-k of −d_i over j

        Computed in blocks of queries (at most `max_elements` query × gallery distances at once, never a
        query × gallery × d tensor), with the geometry's closed-form pairwise distance and `ops.top_k`.

        Args:
            queries, gallery: raw images (`[N, H, W(, C)]` arrays, 0..255, or datasets / generators of image
                batches; embedded with `embed`) or precomputed embeddings `[N, embedding_dim]` from `embed`
                (rank 2 arrays); embed a gallery once and pass its embeddings to reuse it.
            k: neighbours per query (1 <= k <= gallery size).
            gallery_labels: optional ids `[N_gallery]`; then the neighbours' labels are returned too.
            batch_size: batch size of `embed`.
            max_elements: the largest query × gallery distance block.

        Returns:
            `(indices, distances)`: int `[N_queries, k]` gallery indices and float32 `[N_queries, k]`
            distances; with `gallery_labels`, `(indices, distances, labels)`, labels `[N_queries, k]`.

        Example:
            >>> idx, dist = model.retrieve(x_test[:10], model.embed(x_train), k=5)
        """
        where = "EmbeddingModel.retrieve"
        q = self._embeddings(queries, "queries", where, batch_size)
        g = self._embeddings(gallery, "gallery", where, batch_size)
        k = check_int(k, "k", minimum=1, maximum=len(g), owner=where)
        if gallery_labels is not None:
            gallery_labels = _inputs.check_labels(gallery_labels, None, where, name="gallery_labels", count=len(g))
        geometry = self.geometry
        g_t = ops.convert_to_tensor(g)
        rows = max(1, int(max_elements) // len(g))
        indices, distances = [], []
        for start in range(0, len(q), rows):
            d = geometry.pairwise_distance(ops.convert_to_tensor(q[start:start + rows]), g_t)
            neg, idx = ops.top_k(-ops.cast(d, "float32"), k, sorted=True)
            indices.append(np.asarray(ops.convert_to_numpy(idx)).astype("int64"))
            distances.append(-np.asarray(ops.convert_to_numpy(neg), dtype="float32"))
        indices, distances = np.concatenate(indices), np.concatenate(distances)
        if gallery_labels is None:
            return indices, distances
        return indices, distances, gallery_labels[indices]

    def evaluate_retrieval(self, queries, query_labels, gallery=None, gallery_labels=None, ks=(1, 5), map_at_r=True,
                           mean_ap=True, batch_size=None):
        """recall@k, precision@k, MAP@R and mAP of queries against a gallery, in the model's geometry.

        The embeddings go to `zoo.metrics.retrieval_metrics` with `geometry=model.geometry` (chunked there).

        Args:
            queries, gallery: raw images or precomputed embeddings, as `retrieve`; gallery None = leave-one-out
                retrieval inside the queries.
            query_labels, gallery_labels: non-negative integer ids (arrays; any ids, the two sets may differ).
            ks: the k of recall@k / precision@k.
            map_at_r, mean_ap: also compute MAP@R / mAP.
            batch_size: batch size of `embed`.

        Returns:
            dict: "recall@k", "precision@k" for each k, "map@r", "map" (as asked) and "num_queries".

        Example:
            >>> model.evaluate_retrieval(x_test, y_test, x_train, y_train, ks=(1, 5))
        """
        import zoo.metrics

        where = "EmbeddingModel.evaluate_retrieval"
        q = self._embeddings(queries, "queries", where, batch_size)
        query_labels = _inputs.check_labels(query_labels, None, where, name="query_labels", count=len(q))
        g = None
        if gallery is not None:
            if gallery_labels is None:
                raise ValueError(f"{where}: `gallery_labels` is required with `gallery`.")
            g = self._embeddings(gallery, "gallery", where, batch_size)
            gallery_labels = _inputs.check_labels(gallery_labels, None, where, name="gallery_labels", count=len(g))
        return zoo.metrics.retrieval_metrics(q, query_labels, g, gallery_labels, ks=ks, geometry=self.geometry,
                                             map_at_r=map_at_r, mean_ap=mean_ap)

    # -- saving ------------------------------------------------------------------------------------------------
    def get_config(self):
        loss = self.loss_name
        if isinstance(loss, keras.losses.Loss):
            loss = keras.saving.serialize_keras_object(loss)
        return {**super().get_config(), "space": self.space, "embedding_dim": self.embedding_dim, "c": self.c,
                "train_c": self.train_c, "loss": loss, "loss_options": self.loss_options, "distance": self.distance,
                "scale": self.scale, "bounce": self.bounce, "activation": self.activation,
                "num_classes": self.num_classes, "class_coef": self.class_coef,
                "backbone_options": self.backbone_options, "maxout_pool": self.maxout_pool}


def _is_stream(x):
    """A Python generator or a `keras.utils.PyDataset` (they carry their own batches)."""
    import types

    return isinstance(x, (types.GeneratorType, keras.utils.PyDataset))


def _raw_pk_batches(images, labels, p, k, seed, where):
    """A `tf.data.Dataset` of PK batches `(raw images, int32 ids)`: the images keep their dtype and 0..255 values.

    As `zoo.data.pk_batches` (per-pass plans of `zoo.data.pk_plan` seeded [seed, pass], a fixed number of batches
    per epoch,
    Σ_c ⌊n_c / K⌋ // P), without its conversion to normalised floats: the model preprocesses itself.
    """
    import tensorflow as tf

    import zoo.data

    k = check_int(k, "k", minimum=2, owner=where)
    classes, counts = np.unique(labels, return_counts=True)
    usable = int((counts >= k).sum())
    p = min(DEFAULT_P, usable) if p is None else check_int(p, "p", minimum=1, owner=where)
    if usable < max(p, 2):
        raise ValueError(f"{where}: a PK batch needs p = {p} classes (and at least 2) with k = {k} images each; only "
                         f"{usable} classes of the {len(classes)} have {k} images.")
    steps = int(sum(int(c) // k for c in counts)) // p
    passes = [0]

    def plans():
        # Pass e over the dataset draws from its own generator seeded [seed, e] (as `zoo.data.pk_batches`): how far
        # an earlier iterator ran (Keras' build-time peek, prefetching) cannot shift the plans of the next passes.
        rng = np.random.default_rng([seed, passes[0]])
        passes[0] += 1
        stream = []
        for _ in range(steps):
            while not stream:
                stream.extend(zoo.data.pk_plan(labels, p, k, rng))
            yield stream.pop(0)

    image_table = tf.constant(images)
    label_table = tf.constant(labels.astype("int32"))
    ds = tf.data.Dataset.from_generator(plans, output_signature=tf.TensorSpec([p * k], tf.int32))
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps))
    ds = ds.map(lambda idx: (tf.gather(image_table, idx), tf.gather(label_table, idx)),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
