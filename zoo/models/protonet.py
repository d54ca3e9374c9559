"""`ProtoNet`: the Prototypical Network task model, trained on episodes, used with any support set."""

import keras
import numpy as np
from keras import ops

from zoo._checks import check_int
from zoo.geometry import euclidean as E
from zoo.geometry import poincare as P
from zoo.geometry import sphere as S
from zoo.models import _inputs
from zoo.models.task import Task

__all__ = ["ProtoNet"]

#: Curvature of the "poincare" ProtoNet when `c=None`: the few-shot recipe's default (the reference's configs
#: use 0.005-0.05; Khrulkov et al. 2020, examples/fewshot).
DEFAULT_C = 0.01
#: Embedding size when `embedding_dim=None`, per zoo backbone name (conv4: the channels of its last block, as
#: the reference; resnet12: fixed by its channels); other backbones: the task models' default (64) or the
#: Keras model's own size.
DEFAULT_EMBEDDING_DIM = {"conv4": 1600, "resnet12": 512}
#: Classes per training episode when `fit` builds the episodes from arrays and no `way` is given.
DEFAULT_WAY = 5
#: Images embedded per step by `predict_episode` (support and queries together, when they fit in one step).
EPISODE_BATCH = 256


@keras.saving.register_keras_serializable(package="zoo")
class ProtoNet(Task):
    """Prototypical Network: raw images -> preprocessing -> backbone (-> `ToPoincare`) -> episode prototypes.

    With f the embedding (backbone, then expmap0 onto the ball of curvature -c for "poincare"), S_k the
    support images of class k and q a query image:

        p_k = mean_{x in S_k} f(x)   (euclidean: arithmetic mean; sphere: normalised mean of unit vectors;
                                      poincare: Einstein midpoint; one shot: f(x) itself)
        score(q, k) = -||f(q) - p_k||^2 / T   (euclidean)
                    =  cos(f(q), p_k) / T      (sphere)
                    = -d_c(f(q), p_k) / T      (poincare)

    Training is episodic, as `zoo.layers.PrototypicalHead`: each batch is one N-way K-shot Q-query episode in
    the shot-major layout (`self.shot` and `self.query` are fixed; the way comes from the batch), the loss is
    `zoo.losses.PrototypicalLoss` over the queries. `model.episodes(split, way=...)` builds such episodes of
    raw pixels (what the model takes: its preprocessing normalises them, and is saved in `.keras`);
    `fit(x, y, way=5)` builds them from arrays itself. `model(episode)` returns the query logits
    `[query * way, way]`.

    Inference needs no episode layout: `predict_episode(support_images, support_labels, query_images)` scores
    the queries against the classes of an explicit support set of any way and shot (columns in the sorted
    order of the distinct support labels, which may be any integers), so a model trained 1-shot evaluates
    5-shot without rebuilding; `evaluate_episodes(split, way, shot)` reports the mean query accuracy ± 95% CI
    over test episodes (`zoo.metrics.confidence_interval`). `embed(images)` returns the points the prototypes
    are computed from (ball points for "poincare", unit vectors for "sphere").

    One curvature: for "poincare" the `ToPoincare` layer owns c (trainable with `train_c=True`) and the head
    shares it (`PrototypicalHead(c=<the ToPoincare layer>)`), in training and in `predict_episode`.

    Args:
        backbone: a `zoo.backbones` name ("conv4", "resnet12", "lenet", ...), a keras-hub ResNet/ViT preset or a
            Keras model (see `zoo.models.ImageClassifier`).
        geometry: "euclidean" (default; Snell et al.), "sphere" or "poincare" (Khrulkov et al.).
        c: curvature magnitude > 0 of "poincare" (None: `DEFAULT_C` = 0.01); must be None for other geometries.
        input_shape: `(height, width)` or `(height, width, channels)` of the raw images (needed for zoo
            backbone names).
        embedding_dim: embedding size; None: 1600 for conv4, 512 for resnet12, else 64 (a Keras model: its own).
        shot: support images per class of a training episode (>= 1; default 1).
        query: query images per class of a training episode (>= 1; default 15, as the references).
        temperature: T > 0 of the logits, or None for the head's default per geometry (1, 0.1, 1).
        riemannian: "poincare": ToPoincare's Riemannian gradient rescale (default True, as the reference).
        train_c: "poincare": learn c (a weight of the ToPoincare layer, shared by the head).
        normalize: "adapt" (default: statistics of the first `fit`'s images), a `(mean, std)` pair in [0, 1]
            units or None (1/255 only); see `zoo.models.Task`.
        image_size: `(height, width)` (or an int) to build a zoo backbone for; images are resized to it.
        backbone_options: keyword arguments of the backbone builder.
        preprocessor: an `ImagePreprocessor` to use instead of building one (used when loading).
        name: model name.

    Example:
        >>> splits = zoo.data.fewshot_splits("fashion_mnist")
        >>> model = zoo.models.ProtoNet("conv4", geometry="poincare", c=0.05, input_shape=(28, 28),
        ...                             embedding_dim=64, shot=1, query=15)
        >>> model.compile()
        >>> model.fit(model.episodes(splits["train"], way=5, episodes=100), epochs=10)
        >>> scores = model.predict_episode(support_x, [7, 3, 7, 3], query_x)   # [len(query_x), 2]: classes 3, 7
        >>> r = model.evaluate_episodes(splits["test"], way=5, shot=5, episodes=600)
        >>> print(f"{100 * r['mean']:.2f} ± {100 * r['ci95']:.2f} %")

    Reference:
        Snell, Swersky, Zemel, "Prototypical Networks for Few-shot Learning", NeurIPS 2017; Khrulkov et al.,
        "Hyperbolic Image Embeddings", CVPR 2020 (examples/fewshot); the explicit support set of
        `predict_episode` follows easyfsl's `FewShotClassifier.process_support_set`.

    Departures:
        - Episodes hold raw pixels (0..255) and the model normalises them, so a saved model takes raw images;
          the references normalise in the data pipeline.
        - `predict_episode` accepts classes with different numbers of support images (each prototype is the
          mean of its own class); the reference's episodes are balanced.
        - `predict` and `evaluate` take datasets of episode batches (shot-major, `self.shot` and `self.query`)
          and refuse arrays (a TypeError pointing to `predict_episode`, `embed` and `evaluate_episodes`).
    """

    def __init__(self, backbone, geometry="euclidean", c=None, input_shape=None, embedding_dim=None, shot=1,
                 query=15, temperature=None, riemannian=True, train_c=False, normalize="adapt", image_size=None,
                 backbone_options=None, preprocessor=None, name="protonet", **kwargs):
        import zoo.geometry
        import zoo.layers

        if not isinstance(geometry, str):
            raise ValueError(f"ProtoNet: `geometry` must be 'euclidean', 'sphere' or 'poincare'; got {geometry!r}.")
        geometry = zoo.geometry.get(geometry).name  # canonical name; ValueError listing the choices
        if geometry not in ("euclidean", "sphere", "poincare"):
            raise ValueError(f"ProtoNet: `geometry` must be 'euclidean', 'sphere' or 'poincare'; got {geometry!r}.")
        if c is not None and geometry != "poincare":
            raise ValueError(f"ProtoNet: `c` is the curvature of geometry 'poincare'; got c={c!r} with geometry "
                             f"{geometry!r}.")
        if geometry != "poincare" and train_c:
            raise ValueError(f"ProtoNet: `train_c=True` needs geometry 'poincare'; got {geometry!r}.")
        shot = check_int(shot, "shot", minimum=1, owner="ProtoNet")
        query = check_int(query, "query", minimum=1, owner="ProtoNet")
        if embedding_dim is None and isinstance(backbone, str):
            embedding_dim = DEFAULT_EMBEDDING_DIM.get(backbone.strip().lower().replace("-", "_"))
        super().__init__(backbone=backbone, input_shape=input_shape, embedding_dim=embedding_dim,
                         normalize=normalize, image_size=image_size, preprocessor=preprocessor,
                         backbone_options=backbone_options, name=name, **kwargs)
        self.geometry_name = geometry
        self.shot, self.query = shot, query
        self.riemannian = bool(riemannian)
        self.train_c = bool(train_c)
        if geometry == "poincare":
            self.to_poincare = zoo.layers.ToPoincare(c=DEFAULT_C if c is None else c, train_c=self.train_c,
                                                     riemannian=self.riemannian, name="to_poincare")
            self.to_poincare.build((None, self.embedding_dim))
            self.c = self.to_poincare.c
            head_c = self.to_poincare  # one ball: the head shares the ToPoincare layer's (trainable) c
        else:
            self.to_poincare = None
            self.c = None
            head_c = 1.0
        self.head = zoo.layers.PrototypicalHead(shot=shot, query=query, geometry=geometry, c=head_c,
                                                temperature=temperature, name="prototypical_head")
        self.head.build((None, self.embedding_dim))
        self.temperature = self.head.temperature
        self.built = True

    # -- the model ---------------------------------------------------------------------------------------------
    def points(self, images, training=None):
        """The points the prototypes are computed from: backbone embeddings, on the ball for "poincare"."""
        z = self.features(images, training=training)
        return z if self.to_poincare is None else self.to_poincare(z)

    def call(self, inputs, training=None):
        images, _ = _inputs.split_inputs(inputs)
        return self.head(self.points(images, training=training))

    def embed_tensor(self, images):
        z = self.points(images)
        return S.normalize(z) if self.geometry_name == "sphere" else z

    def default_loss(self):
        import zoo.losses

        return zoo.losses.PrototypicalLoss()

    def default_metrics(self):
        return ["sparse_categorical_accuracy"]

    @property
    def curvature(self):
        """The curvature c of "poincare" (a float; the current value when trainable); None otherwise."""
        if self.to_poincare is None:
            return None
        return float(ops.convert_to_numpy(self.to_poincare.curvature))

    @property
    def geometry(self):
        """The `zoo.geometry` object of `embed`'s points (the current c for "poincare")."""
        import zoo.geometry

        if self.geometry_name == "poincare":
            return zoo.geometry.get("poincare", c=self.curvature)
        return zoo.geometry.get(self.geometry_name)

    # -- episodes ----------------------------------------------------------------------------------------------
    def episodes(self, source, way, episodes=100, seed=0, shot=None, query=None, resample=True, augment=None,
                 image_size=None):
        """N-way episodes of RAW pixels (0..255) for `fit`, `evaluate` and `FewShotEvaluation`.

        `zoo.data.episodes` (shot-major batches `(x [(shot + query) * way, H, W, C], y [query * way])`, new
        episodes every pass unless `resample=False`) with pixel values the model takes: its preprocessing
        scales and normalises them, as it does at inference.

        Args:
            source: a `zoo.data.FewShotSplit`, an `(images, labels)` pair of arrays (raw 0..255), an image folder
                (one sub-folder per class) or a finite `tf.data.Dataset` of `(image, label)` (uint8).
            way: classes per episode. episodes: episodes per pass. seed: seed of the episode plans.
            shot, query: per class (default: the model's `shot` and `query`).
            resample, augment, image_size: as `zoo.data.episodes`.

        Returns:
            `tf.data.Dataset` of `episodes` (x, y) batches, x float32 in 0..255.
        """
        import tensorflow as tf

        import zoo.data

        split, integer = _as_split(source, image_size, f"{type(self).__name__}.episodes")
        shot = self.shot if shot is None else shot
        query = self.query if query is None else query
        ds = zoo.data.episodes(split, way=way, shot=shot, query=query, episodes=episodes, seed=seed, normalize=None,
                               image_size=image_size, augment=augment, resample=resample)

        def raw(x, y):  # episodes scale to [0, 1] without normalize; back to the 0..255 the model takes
            x = x * 255.0
            return tf.clip_by_value(tf.round(x) if integer else x, 0.0, 255.0), y

        return ds.map(raw, num_parallel_calls=tf.data.AUTOTUNE)

    def fit(self, x=None, y=None, *, way=None, episodes_per_epoch=100, seed=0, **kwargs):
        """`keras.Model.fit` on episodes: a dataset of episode batches (e.g. `model.episodes(...)`), or arrays.

        With arrays `x` (raw images) and `y` (integer labels), `way`-way episodes (`DEFAULT_WAY` = 5 when None)
        of the model's shot and query are drawn from them, `episodes_per_epoch` per epoch (new ones every
        epoch, plans seeded by `seed`). Other arguments as `zoo.models.Task.fit`.
        """
        where = f"{type(self).__name__}.fit"
        arrays = x is not None and not (_inputs.is_dataset(x) or _is_stream(x))
        if arrays and y is None:
            raise ValueError(f"{where}: with images `x` as an array, pass their labels `y` (episodes are drawn from "
                             "them), or pass a dataset of episodes (`model.episodes(...)`).")
        if arrays:
            self._maybe_adapt(x, where)
            x = self.episodes((x, y), way=DEFAULT_WAY if way is None else way, episodes=episodes_per_epoch,
                              seed=seed)
            y = None
        elif way is not None:
            raise ValueError(f"{where}: `way` applies when `fit` builds episodes from arrays (x, y); the dataset "
                             "already holds its episodes.")
        kwargs.setdefault("shuffle", False)  # one batch is one episode: nothing to shuffle
        return super().fit(x, y, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate` on a dataset of episode batches; arrays: see `evaluate_episodes`."""
        if x is not None and not (_inputs.is_dataset(x) or _is_stream(x)):
            raise TypeError(f"{type(self).__name__}.evaluate: takes episode batches (e.g. `model.episodes(split, "
                            "way=5, resample=False)`), not arrays; for images and labels use "
                            "`model.evaluate_episodes((images, labels), way=5, shot=...)`.")
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """The model's logits on a dataset of episode batches; arrays: see `predict_episode` and `embed`."""
        if not (_inputs.is_dataset(x) or _is_stream(x)):
            raise TypeError(f"{type(self).__name__}.predict: takes episode batches (a dataset, e.g. "
                            "`model.episodes(...)`), not arrays; use `model.predict_episode(support_images, "
                            "support_labels, query_images)` for a support and a query set, `model.embed(images)` for "
                            "embeddings.")
        return super().predict(x, *args, **kwargs)

    # -- inference from an explicit support set -----------------------------------------------------------------
    def predict_episode(self, support_images, support_labels, query_images, batch_size=None):
        """Scores `[num_queries, way]` (numpy) of query images against the classes of a support set.

        Column k is class `np.unique(support_labels)[k]` (sorted label order; labels may be any integers, e.g.
        [7, 3]); each class's prototype is the mean of its support embeddings in the model's geometry, and
        the scores are the model's logits (see the class docstring). Any way >= 2 and any shot (classes may
        have different numbers of support images), independent of the shot and query the model trained with.

        Args:
            support_images: raw images `[S, H, W(, C)]` (0..255).
            support_labels: integer labels `[S]`.
            query_images: raw images `[Q, H, W(, C)]`.
            batch_size: images per embedding step (default: all of them up to `EPISODE_BATCH`).

        Raises:
            TypeError: a `tf.data` dataset (or PyDataset) instead of arrays; non-integer labels.
            ValueError: fewer than 2 classes in the support set, no query images, labels of another length than
                the support images, images outside 0..255.
        """
        where = f"{type(self).__name__}.predict_episode"
        support, classes, inverse = _check_support(support_images, support_labels, where)
        queries = _inputs.check_images(_inputs.require_array(query_images, "query_images", where), where,
                                       name="query_images")
        if support.shape[1:] == queries.shape[1:] and support.dtype == queries.dtype:
            images = np.concatenate([support, queries])
            z = self.embed(images, batch_size=batch_size or min(len(images), EPISODE_BATCH))
            z_support, z_query = z[:len(support)], z[len(support):]
        else:
            z_support = self.embed(support, batch_size=batch_size or min(len(support), EPISODE_BATCH))
            z_query = self.embed(queries, batch_size=batch_size or min(len(queries), EPISODE_BATCH))
        return self.episode_scores(z_support, inverse, len(classes), z_query)

    def episode_scores(self, support_points, support_index, way, query_points):
        """Logits `[Q, way]` (numpy) from embedded support points, their class index 0..way-1 and embedded queries.

        The points are `embed`'s (or `points`'); prototypes and scores as `zoo.layers.PrototypicalHead`.
        """
        head = self.head
        support_points = np.asarray(support_points)
        support_index = np.asarray(support_index)
        c = head.curvature if self.geometry_name == "poincare" else None
        protos = []
        for k in range(way):
            s = ops.convert_to_tensor(support_points[support_index == k])
            if len(s) == 1:  # one shot: the point itself (as the head: no midpoint round trip)
                p = s[0] if self.geometry_name != "sphere" else S.normalize(s[0])
            elif self.geometry_name == "poincare":
                p = P.midpoint(s, c, axis=0)
            else:
                p = head.geometry.mean(s, axis=0)
            protos.append(ops.expand_dims(p, 0))
        protos = ops.concatenate(protos, axis=0)
        q = ops.convert_to_tensor(query_points)
        if self.geometry_name == "poincare":
            scores = -P.pairwise_dist(q, protos, c)
        elif self.geometry_name == "sphere":
            scores = S.pairwise_cosine(q, protos)
        else:
            scores = -E.pairwise_sq_dist(q, protos)
        scores = scores / ops.convert_to_tensor(self.temperature, dtype=scores.dtype)
        return np.asarray(ops.convert_to_numpy(scores))

    def evaluate_episodes(self, source, way=5, shot=None, query=None, episodes=600, seed=0, verbose=0):
        """Mean query accuracy ± 95% CI over `episodes` test episodes of any way and shot.

        Each episode is scored by `predict_episode`'s computation (its support set gives the prototypes), so the
        shot and query need not be those the model trained with. Uses `zoo.metrics.evaluate_episodes`.

        Args:
            source: what `episodes` takes (a split, `(images, labels)`, a folder, a dataset of `(image, label)`),
                or a dataset of ready episode batches of raw pixels (shot-major, e.g. `model.episodes(...)`;
                then `shot` and `query` say their layout and `way`, `episodes`, `seed` are not used).
            way: classes per episode (>= 2). shot, query: per class (default: the model's).
            episodes: number of episodes. seed: seed of the episode plans.
            verbose: 1 shows a progress bar.

        Returns:
            dict(mean, ci95, n, accuracies) as `zoo.metrics.evaluate_episodes`.
        """
        import zoo.metrics

        where = f"{type(self).__name__}.evaluate_episodes"
        shot = check_int(self.shot if shot is None else shot, "shot", minimum=1, owner=where)
        query = check_int(self.query if query is None else query, "query", minimum=1, owner=where)
        if _is_episode_dataset(source):
            data = source
        else:
            way = check_int(way, "way", minimum=2, owner=where)
            data = self.episodes(source, way=way, episodes=episodes, seed=seed, shot=shot, query=query,
                                 resample=False)
        return zoo.metrics.evaluate_episodes(_EpisodeScorer(self, shot, query), data, verbose=verbose)

    def get_config(self):
        return {**super().get_config(), "geometry": self.geometry_name, "c": self.c,
                "embedding_dim": self.embedding_dim, "shot": self.shot, "query": self.query,
                "temperature": self.temperature, "riemannian": self.riemannian, "train_c": self.train_c,
                "backbone_options": self.backbone_options}


class _EpisodeScorer:
    """`predict_on_batch(episode)` for `zoo.metrics.evaluate_episodes`: splits a shot-major episode of raw
    pixels into support and queries and scores it as `ProtoNet.predict_episode`."""

    def __init__(self, model, shot, query):
        self.model, self.shot, self.query = model, shot, query

    def predict_on_batch(self, x):
        where = f"{type(self.model).__name__}.evaluate_episodes"
        x = _inputs.check_images(x, where, name="episode images")
        group = self.shot + self.query
        if len(x) % group or len(x) < 2 * group:
            raise ValueError(f"{where}: an episode of {len(x)} images is not (shot + query) * way = ({self.shot} + "
                             f"{self.query}) * way with way >= 2; pass the `shot` and `query` the episodes hold.")
        way = len(x) // group
        points = self.model._embedding_model().predict_on_batch(x)
        points = np.asarray(ops.convert_to_numpy(points))
        index = np.tile(np.arange(way), self.shot)
        return self.model.episode_scores(points[:self.shot * way], index, way, points[self.shot * way:])


def _check_support(images, labels, where):
    """(support images, sorted classes, class index of each image) with clear errors."""
    images = _inputs.check_images(_inputs.require_array(images, "support_images", where), where,
                                  name="support_images")
    labels = _inputs.require_array(labels, "support_labels", where)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"{where}: `support_labels` must be integer labels of shape [S]; got shape {labels.shape}.")
    if len(labels) != len(images):
        raise ValueError(f"{where}: `support_images` has {len(images)} images but `support_labels` has "
                         f"{len(labels)} labels.")
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.number):
        raise TypeError(f"{where}: `support_labels` must be integer labels; got dtype {labels.dtype}.")
    if np.issubdtype(labels.dtype, np.floating):
        if not np.all(np.isfinite(labels) & (labels == np.round(labels))):
            raise ValueError(f"{where}: `support_labels` must be whole numbers (class labels); got "
                             f"{np.unique(labels[~(np.isfinite(labels) & (labels == np.round(labels)))])[:5]}.")
        labels = labels.astype(np.int64)
    classes, inverse = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"{where}: the support set must hold at least 2 classes (way >= 2); `support_labels` has "
                         f"{len(classes)} distinct value(s): {classes.tolist()}.")
    return images, classes, inverse.reshape(-1)


def _as_split(source, image_size, where):
    """(`zoo.data.FewShotSplit`, whether its pixels are integers) from what `ProtoNet.episodes` takes."""
    import os

    import zoo.data

    if isinstance(source, zoo.data.FewShotSplit):
        split = source
    elif isinstance(source, tuple) and len(source) == 2 and not _inputs.is_dataset(source[0]):
        x = _inputs.check_images(_inputs.require_array(source[0], "images", where), where, name="images")
        y = _inputs.require_array(source[1], "labels", where)
        whole = np.issubdtype(x.dtype, np.integer) or np.all(x == np.round(x))
        x = x.astype(np.uint8) if whole else (x / 255.0).astype(np.float32)
        split = zoo.data.FewShotSplit.from_arrays(x, y)
    elif isinstance(source, (str, os.PathLike)):
        split = zoo.data.FewShotSplit.from_folder(source, image_size=image_size)
    elif _inputs.is_dataset(source):
        split = zoo.data.FewShotSplit.from_dataset(source, image_size=image_size)
    else:
        raise TypeError(f"{where}: `source` must be a zoo.data.FewShotSplit, an (images, labels) pair of arrays, an "
                        f"image folder or a tf.data dataset of (image, label); got {type(source).__name__}.")
    return split, bool(split.lazy or split.images.dtype == np.uint8)


def _is_episode_dataset(source):
    """A tf.data dataset whose elements are episode batches (images of rank 4), not single (image, label)."""
    if not _inputs.is_dataset(source):
        return False
    spec = source.element_spec
    image_spec = spec[0] if isinstance(spec, tuple) else spec
    return getattr(image_spec, "shape", None) is not None and len(image_spec.shape) == 4


def _is_stream(x):
    """A generator or keras PyDataset (they yield their own batches)."""
    import types

    return isinstance(x, (types.GeneratorType, keras.utils.PyDataset))
