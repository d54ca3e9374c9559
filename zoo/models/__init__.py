"""zoo.models: task models, the unit a user builds in one line, fits, saves and loads.

Each is a `keras.Model` = `zoo.layers.ImagePreprocessor` (raw 0..255 images in, statistics saved with the
model) + a backbone (`zoo.backbones` name, keras-hub preset or Keras model) + a head:

    EmbeddingModel    metric learning: an embedding space (l2, unit ball, sphere, Poincaré ball), pair/triplet losses
                      on PK batches; retrieve / evaluate_retrieval in its own geometry
    ImageClassifier   any `zoo.heads` head; `predict` -> [N, num_classes] class scores, `embed`
    ReIDModel         person re-ID: backbone, BNNeck, an identity head (any `zoo.heads` name), label-smoothed ID loss
                      + batch-hard triplet (+ centre); predict = re-ID features, evaluate_reid (CMC, mAP, mINP)
    ProtoNet          episodic Prototypical Network (euclidean/sphere/poincare); predict_episode from any support
                      set, evaluate_episodes
    Task              their common base (compile defaults, input checks, label routing, embed)

Example:
    >>> model = zoo.models.ImageClassifier("lenet", num_classes=10, input_shape=(28, 28))
    >>> model.compile()
    >>> model.fit(x_train, y_train)
"""

from zoo.models.embedding_model import EmbeddingModel
from zoo.models.image_classifier import ImageClassifier
from zoo.models.protonet import ProtoNet
from zoo.models.reid_model import ReIDModel
from zoo.models.task import Task

__all__ = ["EmbeddingModel", "ImageClassifier", "ProtoNet", "ReIDModel", "Task"]
