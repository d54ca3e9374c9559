"""CenterHead: a classifier plus class centres updated with rate α (center loss, Wen et al. 2016)."""

import keras
import numpy as np
from keras import ops

from zoo._checks import check_int, check_range
from zoo.geometry import euclidean
from zoo.geometry import numerics as nx
from zoo.layers._centers import center_update

__all__ = ["CenterHead"]


def _label_check(labels, num_classes):
    try:
        values = np.asarray(ops.convert_to_numpy(labels))
    except Exception:  # symbolic / traced: not checkable here
        return
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        raise ValueError(
            f"CenterHead: labels must be integers in [0, num_classes) = [0, {num_classes}); "
            f"got values in [{int(values.min())}, {int(values.max())}]."
        )


@keras.saving.register_keras_serializable(package="zoo")
class CenterHead(keras.layers.Layer):
    """Any classifier head plus non-trainable class centres c_j, updated from the labels in training.

    Output layout (width W + 1, where W is the classifier's output width):

        [ scores (W) | e ],   e = min(scores) - 1 - ‖x - c_y‖²

    The extra column is always below every score, so argmax of the full row (and a stock
    sparse-categorical accuracy) is the classifier's prediction, while the stateless
    `zoo.losses.CenterLoss` recovers d = ‖x - c_y‖² = min(scores) - 1 - e (exact gradients: the
    min(scores) terms cancel) and adds λ/2·d to its base loss on `scores`. The classifier can be
    `keras.layers.Dense` (softmax + center loss, the paper's setting), `zoo.layers.CosineHead`
    (ArcFace/CosFace/SphereFace + center loss) or any head whose argmax is its prediction.

    Centre update (Wen et al., Eq. 4; inside `call(training=True)` with labels, one-hot matmuls):

        Δc_j = Σ_i [y_i = j](c_j - x_i) / (1 + Σ_i [y_i = j]),    c_j <- c_j - α·Δc_j

    computed from the batch before the update and with the gradient stopped. Without labels
    (inference) d is the squared distance to the nearest centre (a closed-form [B, K] matmul).

    Args:
        num_classes: K >= 1.
        alpha: centre learning rate α in (0, 1]. Default 0.5 (Wen et al.).
        classifier: the scoring layer; None for `keras.layers.Dense(num_classes)` (float32).
        centers_initializer: initializer of the [K, d] centres. Default "zeros" (as facenet's and
            Wen et al.'s released code).
        **kwargs: `keras.layers.Layer` arguments.

    Call args:
        inputs: embeddings [B, d].
        labels: int labels [B] (needed to pull to / update the own centre).
        training: update the centres when True and labels are given.

    Example:
        >>> head = zoo.layers.CenterHead(10, alpha=0.5)                  # softmax + center
        >>> out = head(embedding, labels=labels, training=True)         # [B, 11]
        >>> loss = zoo.losses.CenterLoss(lam=0.003)(labels, out)

    Reference:
        Wen, Zhang, Li, Qiao, "A Discriminative Feature Learning Approach for Deep Face Recognition",
        ECCV 2016 (α = 0.5, λ = 0.003 for faces).

    Departures from the reference code:
        The pull term travels in the head's output (so the loss stays stateless) instead of being a
        separate layer loss; labels outside [0, K) raise when they can be inspected (eager) and are
        ignored by the one-hot update otherwise.
    """

    def __init__(self, num_classes, alpha=0.5, classifier=None, centers_initializer="zeros", **kwargs):
        kwargs["dtype"] = kwargs.get("dtype") or "float32"
        super().__init__(**kwargs)
        self.num_classes = check_int(num_classes, "num_classes", minimum=1, owner="CenterHead")
        self.alpha = check_range(alpha, "alpha", "CenterHead", 0.0, 1.0, "0", "1", lo_open=True)
        if classifier is None:
            classifier = keras.layers.Dense(self.num_classes, dtype="float32", name="classifier")
        elif isinstance(classifier, dict):
            classifier = keras.saving.deserialize_keras_object(classifier)
        if not isinstance(classifier, keras.layers.Layer):
            raise ValueError(f"CenterHead: `classifier` must be a Keras layer or None; got {classifier!r}.")
        self.classifier = classifier
        self.centers_initializer = keras.initializers.get(centers_initializer)

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError("CenterHead: the embedding dimension (last input axis) must be known.")
        self.centers = self.add_weight(name="centers", shape=(self.num_classes, int(dim)),
                                       initializer=self.centers_initializer, trainable=False,
                                       aggregation="mean")
        if not self.classifier.built:
            self.classifier.build(tuple(input_shape))

    def call(self, inputs, labels=None, training=None):
        x = ops.cast(inputs, "float32")
        scores = ops.cast(self.classifier(x), "float32")
        centers = ops.stop_gradient(ops.copy(self.centers))  # a copy: torch.compile refuses a read that shares the
        # storage of the variable assigned below ("non-differentiable view input mutations")
        if labels is None:
            dist = ops.min(euclidean.pairwise_sq_dist(x, centers), axis=-1)
        else:
            labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
            _label_check(labels, self.num_classes)
            onehot = ops.one_hot(labels, self.num_classes, dtype="float32")  # [B, K]
            own = ops.matmul(onehot, centers)  # c_{y_i}, [B, d]
            dist = nx.sq_norm(x - own, keepdims=False)
            if training:
                self.centers.assign(center_update(centers, x, onehot, self.alpha))
        extra = ops.min(scores, axis=-1) - 1.0 - dist
        return ops.concatenate([scores, ops.expand_dims(extra, -1)], axis=-1)

    def compute_output_shape(self, input_shape):
        inner = self.classifier.compute_output_shape(input_shape)
        return tuple(inner[:-1]) + (inner[-1] + 1,)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "alpha": self.alpha,
            "classifier": keras.saving.serialize_keras_object(self.classifier),
            "centers_initializer": keras.initializers.serialize(self.centers_initializer),
        }
