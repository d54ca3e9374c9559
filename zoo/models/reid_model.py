"""`ReIDModel`: person re-identification as one model (backbone, BNNeck, an identity head, ID + triplet losses)."""

import keras
import numpy as np
from keras import ops

from zoo._checks import check_choice, check_int, check_range
from zoo.models import _inputs
from zoo.models.task import Task

__all__ = ["ReIDModel"]

#: Necks between the backbone feature f and the head: the strong baseline's BNNeck, or none (the seed paper).
NECKS = ("bnneck", "none")
#: Which feature `embed` returns: after the neck (the strong baseline's test feature) or the backbone's.
FEATURES = ("neck", "backbone")
#: Distances `distance=` accepts besides "auto".
DISTANCES = ("euclidean", "cosine")
#: ImageNet per-channel mean / std in [0, 1] units (for keras-hub presets with ImageNet weights).
IMAGENET_MEAN_STD = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
#: Label smoothing ε when `label_smoothing="auto"` (for heads trained with plain softmax cross-entropy).
DEFAULT_LABEL_SMOOTHING = 0.1


@keras.saving.register_keras_serializable(package="zoo")
class ReIDModel(Task):
    """Raw person crops -> preprocessing -> backbone f -> neck g -> identity head; ID loss + triplet (+ centre).

        f = backbone((resize(x) / 255 − mean) / std)            global feature (GAP; or FC(dim), the seed paper)
        g = BN_{β=0}(f)  ("bnneck")  or  g = f  ("none")
        L = ID(head(g), y) + w_t · triplet_bh(f, y; margin) + w_c · mean_i ‖f_i − c_{y_i}‖² + (l2/2)·Σ θ²
        ID = cross-entropy with label smoothing ε (heads trained with softmax CE: "softmax", "poincare"),
             or the head's own loss (margin heads: "arcface", "cosface", ...)

    The strong baseline of Luo et al. (BoT) is the default: a keras-hub ResNet-50 (pass
    `backbone="resnet_50_imagenet"` or a local preset directory, with `backbone_options=
    {"stackwise_num_strides": [1, 2, 2, 1]}` for the last stride 1) with `embedding_dim=None` (the 2048-d
    pooled feature), BNNeck (BatchNormalization without shift), a bias-free softmax classifier initialised
    N(0, 0.001), ε = 0.1, batch-hard triplet with margin 0.3 on f (Euclidean), optional centre loss. The seed
    paper's arms (Khrulkov et al., re-ID) are `embedding_dim=32|64|128, neck="none", triplet_weight=0,
    label_smoothing=0` with `head="softmax"` (Euclidean) or `head="poincare"` (ToPoincare + hyperbolic MLR,
    curvature `c`). Any `zoo.heads` name works (`head_options` as `ImageClassifier`).

    Training: `fit` on an identity-batch dataset (`zoo.data.reid_dataset(..., training=True)`: P identities x K
    images of raw pixels and train pids in [0, num_classes)) or on arrays; the labels reach the triplet and centre
    terms inside the model (`add_loss`), so `compile()` keeps the head's single loss.

    Inference: `predict(images)` = `embed(images)` = the re-ID feature: g (after the BNNeck, default) or f
    (`feature="backbone"`), mapped into the head's geometry (ball points for "poincare", unit vectors for cosine
    heads). `model.geometry` is the distance it is ranked with: the head's geometry, with "auto" for Euclidean
    heads = "cosine" (the strong baseline L2-normalises its test feature; Euclidean ranking of unit vectors =
    cosine ranking). `evaluate_reid(query, gallery)` embeds both (optionally with flip test-time augmentation,
    α-query expansion, k-reciprocal re-ranking) and runs `zoo.metrics.evaluate_rank`.

    Args:
        backbone: a `zoo.backbones` name ("hub_resnet", "resnet20", ...), a keras-hub ResNet/ViT preset (name,
            handle or local preset directory) or a Keras model.
        num_classes: number of training identities (int >= 2).
        head: a `zoo.heads` name (default "softmax").
        input_shape: `(height, width[, channels])` of the raw crops (default (256, 128, 3)).
        embedding_dim: None (default: the backbone's pooled feature, e.g. 2048 for ResNet-50; a zoo backbone name
            other than "hub_resnet" then uses 64) or the FC size (the seed paper: 32, 64, 128).
        neck: "bnneck" (default) or "none".
        label_smoothing: ε in [0, 1) for softmax-CE heads; "auto" (default): 0.1 for them, 0 for other heads (an
            explicit ε > 0 with a head whose loss is not plain cross-entropy is refused).
        triplet_weight: w_t >= 0 (default 1; 0 turns the triplet term off).
        triplet_margin: the triplet margin (default 0.3).
        triplet_distance: "euclidean" (default, BoT's) or "cosine"; "poincare" uses the head's ball (the ball
            points of f, for `neck="none"` Poincaré arms).
        center_weight: w_c >= 0 (default 0; BoT's "+center" row: 5e-4).
        center_alpha: α of the centre update (default 0.5).
        l2: coupled L2 penalty coefficient (PyTorch-style Adam `weight_decay`: adds l2·θ to every gradient;
            BoT: 5e-4). Default 0. Keras' `Adam(weight_decay=...)` is the decoupled form (AdamW).
        feature: "neck" (default) or "backbone": which feature `embed` returns.
        distance: "auto" (default), "euclidean" or "cosine" for Euclidean heads (the head's geometry otherwise).
        normalize, image_size, backbone_options, head_options, preprocessor, name: as `ImageClassifier`.

    Example:
        >>> splits = zoo.data.reid("market1501", "/data/Market-1501-v15.09.15")
        >>> train = zoo.data.reid_dataset(*splits.train[:2], training=True, p=16, k=4)
        >>> model = zoo.models.ReIDModel("resnet_50_imagenet", num_classes=splits.num_train_ids,
        ...                              backbone_options={"stackwise_num_strides": [1, 2, 2, 1]},
        ...                              normalize=zoo.models.reid_model.IMAGENET_MEAN_STD)
        >>> model.compile(optimizer=keras.optimizers.Adam(3.5e-4))
        >>> model.fit(train, epochs=120)
        >>> model.evaluate_reid(splits.query, splits.gallery)["mAP"]

    Reference:
        Luo et al., "Bag of Tricks and a Strong Baseline for Deep Person Re-identification", CVPRW 2019 (BNNeck,
        ε = 0.1, triplet 0.3, centre loss, last stride 1); Hermans, Beyer, Leibe, "In Defense of the Triplet Loss
        for Person Re-Identification", 2017; Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (the
        hyperbolic re-ID arm); Wen et al., ECCV 2016 (centre loss).

    Departures:
        - Centre loss: the centres follow Wen et al.'s update (α, normalised by 1 + n_j, as `zoo.layers.CenterHead`)
          instead of BoT's separate SGD at lr 0.5 on the centre loss; the term is the mean squared distance as BoT.
        - The triplet and centre terms are computed wherever labels are fed (training and `evaluate`), so
          `evaluate`'s loss is the training objective.
        - BoT's random erasing fills with CIFAR means after normalisation; see `zoo.data.random_erasing`.
    """

    def __init__(self, backbone, num_classes=None, head="softmax", input_shape=(256, 128, 3), embedding_dim=None,
                 neck="bnneck", label_smoothing="auto", triplet_weight=1.0, triplet_margin=0.3,
                 triplet_distance="euclidean", center_weight=0.0, center_alpha=0.5, l2=0.0, feature="neck",
                 distance="auto", normalize="adapt", image_size=None, backbone_options=None, head_options=None,
                 preprocessor=None, name="reid_model", **options):
        import zoo.heads
        import zoo.layers

        owner = "ReIDModel"
        if num_classes is None:
            raise ValueError("ReIDModel: `num_classes` (the number of training identities) is required.")
        num_classes = check_int(num_classes, "num_classes", minimum=2, owner=owner)
        if not isinstance(head, str) or head not in zoo.heads.available():
            raise ValueError(f"ReIDModel: `head` must be one of {zoo.heads.available()}; got {head!r}.")
        neck = check_choice(neck, "neck", NECKS, owner=owner)
        feature = check_choice(feature, "feature", FEATURES, owner=owner)
        if feature == "neck" and neck == "none":
            feature = "backbone"
        if distance != "auto":
            distance = check_choice(distance, "distance", DISTANCES, owner=owner)
        triplet_distance = check_choice(triplet_distance, "triplet_distance", ("euclidean", "cosine", "poincare"),
                                        owner=owner)
        inf = float("inf")
        triplet_weight = check_range(triplet_weight, "triplet_weight", owner, 0.0, inf, hi_text="∞")
        triplet_margin = check_range(triplet_margin, "triplet_margin", owner, 0.0, inf, hi_text="∞")
        center_weight = check_range(center_weight, "center_weight", owner, 0.0, inf, hi_text="∞")
        center_alpha = check_range(center_alpha, "center_alpha", owner, 0.0, 1.0, lo_open=True)
        l2 = check_range(l2, "l2", owner, 0.0, inf, hi_text="∞")
        super().__init__(backbone=backbone, input_shape=input_shape, embedding_dim=embedding_dim,
                         normalize=normalize, image_size=image_size, preprocessor=preprocessor,
                         backbone_options=backbone_options, name=name)
        head_options = {**dict(head_options or {}), **options}
        if head == "softmax" and neck == "bnneck":
            head_options = {"use_bias": False, "kernel_stddev": 0.001, **head_options}  # BoT's classifier
        self.spec = zoo.heads.get(head, num_classes, self.embedding_dim, **head_options)
        plain_ce = isinstance(self.spec.loss, keras.losses.SparseCategoricalCrossentropy)
        if label_smoothing == "auto":
            epsilon = DEFAULT_LABEL_SMOOTHING if plain_ce else 0.0
        else:
            epsilon = check_range(label_smoothing, "label_smoothing", owner, 0.0, 1.0, hi_open=True)
            if epsilon > 0 and not plain_ce:
                raise ValueError(f"ReIDModel: `label_smoothing` applies to heads trained with softmax cross-entropy "
                                 f"(softmax, poincare); head {head!r} has its own loss. Use label_smoothing=0.")
        if triplet_distance == "poincare" and self.spec.geometry != "poincare":
            raise ValueError("ReIDModel: triplet_distance='poincare' needs head='poincare'.")
        self.head_name, self.num_classes, self.head_options = head, num_classes, head_options
        self.neck_name, self.feature, self.distance = neck, feature, distance
        self.label_smoothing = label_smoothing if label_smoothing == "auto" else epsilon
        self.epsilon = epsilon
        self.triplet_weight, self.triplet_margin, self.triplet_distance = triplet_weight, triplet_margin, \
            triplet_distance
        self.center_weight, self.center_alpha, self.l2 = center_weight, center_alpha, l2
        self.head = self.spec.layer
        self.needs_labels = bool(self.spec.needs_labels or triplet_weight > 0 or center_weight > 0)
        self.label_classes = num_classes
        dim = self.embedding_dim
        # PyTorch's BatchNorm1d defaults (BoT's BNNeck): running-average momentum 0.1 (Keras: 0.9), eps 1e-5
        self.neck = (keras.layers.BatchNormalization(center=False, momentum=0.9, epsilon=1e-5, name="bnneck")
                     if neck == "bnneck" else None)
        if self.neck is not None:
            self.neck.build((None, dim))
        if not self.head.built:
            self.head.build((None, dim))
        self.centers = None
        if center_weight > 0:
            self.centers = self.add_weight(name="centers", shape=(num_classes, dim), initializer="zeros",
                                           trainable=False, aggregation="mean")
        self.built = True

    # -- the model ---------------------------------------------------------------------------------------------
    def _neck(self, f, training=None):
        return f if self.neck is None else self.neck(f, training=training)

    def call(self, inputs, training=None):
        from zoo.layers._centers import center_update
        from zoo.losses.triplet import triplet_loss

        images, labels = _inputs.split_inputs(inputs)
        f = self.features(images, training=training)
        g = self._neck(f, training=training)
        if self.spec.needs_labels:
            out = self.head(g, labels=labels, training=training)
        else:
            out = self.head(g, training=training)
        if labels is None:
            return out
        y = ops.cast(ops.reshape(labels, (-1,)), "int32")
        f32 = ops.cast(f, "float32")
        if self.triplet_weight > 0:
            if self.triplet_distance == "poincare":
                points, distance = self.spec.embed(self.head, f32), self.geometry.get_config()
            else:
                points, distance = f32, self.triplet_distance
            self.add_loss(self.triplet_weight * triplet_loss(y, points, margin=self.triplet_margin,
                                                             mining="batch_hard", distance=distance))
        if self.center_weight > 0:
            onehot = ops.one_hot(y, self.num_classes, dtype="float32")
            centers = ops.stop_gradient(ops.copy(self.centers))
            own = ops.matmul(onehot, centers)
            self.add_loss(self.center_weight * ops.mean(ops.sum(ops.square(f32 - own), axis=-1)))
            if training:
                self.centers.assign(center_update(centers, f32, onehot, self.center_alpha))
        if self.l2 > 0 and training:
            penalty = sum(ops.sum(ops.square(ops.cast(w, "float32"))) for w in self.trainable_weights)
            self.add_loss(0.5 * self.l2 * penalty)
        return out

    def default_loss(self):
        import zoo.losses

        if self.epsilon > 0:
            return zoo.losses.LabelSmoothingCrossEntropy(epsilon=self.epsilon)
        return self.spec.loss

    def default_metrics(self):
        return list(self.spec.metrics)

    def head_callbacks(self):
        return list(self.spec.callbacks)

    def embed_tensor(self, images):
        f = self.features(images)
        g = f if self.feature == "backbone" else self._neck(f)
        return g if self.spec.embed is None else self.spec.embed(self.head, g)

    @property
    def geometry(self):
        """The geometry `embed`'s features are ranked in (a `zoo.geometry` object; see the class docstring)."""
        import zoo.geometry

        if self.spec.geometry == "poincare":
            return zoo.geometry.get("poincare", c=float(keras.ops.convert_to_numpy(self.head.curvature)))
        if self.spec.geometry == "euclidean":
            return zoo.geometry.get("cosine" if self.distance == "auto" else self.distance)
        return zoo.geometry.get(self.spec.geometry)

    # -- inference ---------------------------------------------------------------------------------------------
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The re-ID features of raw images (= `embed`), numpy [N, d]."""
        return self.embed(x, batch_size=batch_size, verbose=0 if verbose == "auto" else verbose)

    def predict_on_batch(self, x):
        return self.embed(x)

    def scores(self, images, batch_size=None, verbose=0):
        """Identity scores [N, num_classes] of the training identities (the head's class scores)."""
        data = _inputs.predict_feed(images, f"{type(self).__name__}.scores")
        out = Task.predict(self, data, batch_size=batch_size, verbose=verbose)
        return out if self.spec.scores is None else self.spec.scores(out)

    def embed(self, images, batch_size=None, verbose=0, flip=False):
        """Re-ID features [N, d] of raw images (array, image paths or a dataset of images); `flip=True` averages
        each feature with the feature of the horizontally flipped image: the arithmetic mean for Euclidean heads
        (torchreid / fast-reid), the head geometry's mean otherwise (the normalised mean on the sphere, the Einstein
        midpoint in the ball)."""
        images = self._images(images)
        feats = Task.embed(self, images, batch_size=batch_size, verbose=verbose)
        if not flip:
            return feats
        flipped = Task.embed(self, _flipped(images), batch_size=batch_size, verbose=verbose)
        if self.spec.geometry == "euclidean":  # raw features averaged (torchreid / fast-reid), ranked as they are
            return ((feats + flipped) / 2).astype("float32")
        pair = ops.convert_to_tensor(np.stack([feats, flipped], axis=1).astype("float32"))
        return np.asarray(ops.convert_to_numpy(self.geometry.mean(pair, axis=-2)), dtype="float32")

    def evaluate_reid(self, query, gallery, *, flip=False, query_expansion=False, re_ranking=False,
                      ap="non_interpolated", max_rank=50, batch_size=128, verbose=0):
        """Re-ID metrics of `query` against `gallery`, each `(images or paths or dataset, pids, cams)`.

        Embeds both (`embed`, optionally with flip test-time augmentation), optionally applies α-query expansion
        (`zoo.metrics.query_expansion`, Euclidean/cosine features only) and k-reciprocal re-ranking
        (`zoo.metrics.re_ranking` on the model's distance), and runs `zoo.metrics.evaluate_rank` (same pid and
        camera removed, queries without a valid match skipped).

        Args:
            query, gallery: `(images, pids, cams)`; images as raw arrays, an array of image paths (read and resized
                to the model's input size) or a `tf.data` dataset of image batches in file order.
            flip: flip test-time augmentation.
            query_expansion: False, True (fast-reid's defaults k = 5, α = 3) or a dict of its options.
            re_ranking: False, True (k1 = 20, k2 = 6, λ = 0.3) or a dict of `zoo.metrics.re_ranking` options.
            ap: "non_interpolated" (torchreid / fast-reid) or "market" (the official Market-1501 code).
            max_rank: CMC length.
            batch_size: embedding batch size.

        Returns:
            `zoo.metrics.evaluate_rank`'s dict (cmc, rank1, rank5, rank10, mAP, mINP, num_valid_queries, ...) plus
            the protocol: "distance", "feature", "flip", "query_expansion", "re_ranking".
        """
        import zoo.metrics
        from zoo.metrics._blocks import distance_name

        qx, qp, qc = _triple(query, "query")
        gx, gp, gc = _triple(gallery, "gallery")
        qf = self.embed(qx, batch_size=batch_size, verbose=verbose, flip=flip)
        gf = self.embed(gx, batch_size=batch_size, verbose=verbose, flip=flip)
        geometry = self.geometry
        qe = _options(query_expansion, "query_expansion")
        if qe is not None:
            if self.spec.geometry == "poincare":
                raise ValueError("ReIDModel.evaluate_reid: query expansion averages Euclidean features; it is not "
                                 "defined for Poincaré ball points.")
            qf, gf = zoo.metrics.query_expansion(qf, gf, **qe)
        rr = _options(re_ranking, "re_ranking")
        if rr is not None:
            distances = zoo.metrics.re_ranking(None, None, None, query_features=qf, gallery_features=gf,
                                               geometry=geometry, **rr)
            result = zoo.metrics.evaluate_rank(distances, qp, gp, qc, gc, max_rank=max_rank, ap=ap)
        else:
            result = zoo.metrics.evaluate_rank(None, qp, gp, qc, gc, max_rank=max_rank, ap=ap, query_features=qf,
                                               gallery_features=gf, geometry=geometry)
        result.update({"distance": distance_name(geometry), "feature": self.feature, "flip": bool(flip),
                       "query_expansion": qe if qe is not None else False,
                       "re_ranking": rr if rr is not None else False})
        return result

    def _images(self, images):
        """Raw images: arrays and datasets as they are; an array/list of file paths read with
        `zoo.data.reid_dataset` at the model's input size."""
        if _is_paths(images):
            import zoo.data

            size = self.raw_input_shape[:2] if self.raw_input_shape is not None else (256, 128)
            return zoo.data.reid_dataset(np.asarray(images), np.zeros(len(images), "int64"), training=False,
                                         image_size=tuple(size))
        return images

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "head": self.head_name,
                "embedding_dim": self.embedding_dim, "neck": self.neck_name, "label_smoothing": self.label_smoothing,
                "triplet_weight": self.triplet_weight, "triplet_margin": self.triplet_margin,
                "triplet_distance": self.triplet_distance, "center_weight": self.center_weight,
                "center_alpha": self.center_alpha, "l2": self.l2, "feature": self.feature, "distance": self.distance,
                "backbone_options": self.backbone_options, "head_options": self.head_options}


def _is_paths(x):
    if isinstance(x, (list, tuple)):
        return len(x) > 0 and isinstance(x[0], str)
    return isinstance(x, np.ndarray) and x.dtype.kind in ("U", "S", "O") and x.ndim == 1


def _flipped(images):
    """Horizontally flipped raw images (an array [N, H, W(, C)] or a dataset of image batches)."""
    if _inputs.is_dataset(images):
        import tensorflow as tf

        def flip(batch):
            x = batch[0] if isinstance(batch, tuple) else batch
            axis = 2 if len(x.shape) == 4 else -1
            return tf.reverse(x, axis=[axis])

        return images.map(flip)
    x = np.asarray(images)
    return x[:, :, ::-1] if x.ndim >= 3 else x


def _triple(split, name):
    try:
        images, pids, cams = split
    except (TypeError, ValueError):
        raise ValueError(f"ReIDModel.evaluate_reid: `{name}` must be (images, pids, cams) (e.g. a split of "
                         f"zoo.data.reid(...)); got {type(split).__name__}.") from None
    return images, np.asarray(pids), np.asarray(cams)


def _options(value, name):
    """None (off), {} (defaults) or the given dict."""
    if value is False or value is None:
        return None
    if value is True:
        return {}
    if isinstance(value, dict):
        return dict(value)
    raise ValueError(f"ReIDModel.evaluate_reid: `{name}` must be True, False or a dict of options; got {value!r}.")
