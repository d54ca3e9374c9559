"""zoo.models: task models, the unit a user builds in one line, fits, saves and loads.

Each is a `keras.Model` = `zoo.layers.ImagePreprocessor` (raw 0..255 images in, statistics saved with the
model) + a backbone (`zoo.backbones` name, keras-hub preset or Keras model) + a head:

    ImageClassifier   any `zoo.heads` head; `predict` -> [N, num_classes] class scores, `embed`
    ProtoNet          episodic Prototypical Network (euclidean/sphere/poincare); predict_episode from any support
                      set, evaluate_episodes
    Task              their common base (compile defaults, input checks, label routing, embed)

Example:
    >>> model = zoo.models.ImageClassifier("lenet", num_classes=10, input_shape=(28, 28))
    >>> model.compile()
    >>> model.fit(x_train, y_train)
"""

from zoo.models.image_classifier import ImageClassifier
from zoo.models.protonet import ProtoNet
from zoo.models.task import Task

__all__ = ["ImageClassifier", "ProtoNet", "Task"]
