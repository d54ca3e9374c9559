"""The geometric embedding zoo for Keras 3.

Hyperbolic, hyperspherical and Euclidean embedding heads, losses, callbacks and recipes that run
unchanged on the TensorFlow, JAX and PyTorch backends.

Subpackages (all reachable after a plain `import zoo`):
    zoo.geometry    pure functions on keras.ops (Poincaré ball, sphere, Euclidean), numerics, `get(name)`
    zoo.layers      geometry-aware Keras layers (heads, projections to the ball)
    zoo.losses      stateless Keras losses (margins, DistArc, prototypes, triplets, center, ProtoNet)
    zoo.prototypes  fixed hyperspherical prototypes and the Hungarian assignment (host side)
    zoo.metrics     retrieval, few-shot, hyperbolicity and uncertainty metrics
    zoo.callbacks   prototype reassignment, retrieval and few-shot evaluation
    zoo.data        offline datasets, samplers and tf.data pipelines (TensorFlow imported lazily)
    zoo.backbones   image encoders mapping images to embeddings
    zoo.heads       registry: head name -> layer, loss, metrics, callbacks
    zoo.models      task models: ImageClassifier, EmbeddingModel, ProtoNet, ReIDModel (preprocessing inside)
    zoo.distribute  data-parallel training: JAX keras.distribution (one host or several), TF MirroredStrategy
    zoo.pretrained  the published zoo: list, download (sha256-verified), cache and load pretrained models
    zoo.viz         plots (matplotlib imported lazily)

Importing `zoo` registers every layer, loss, metric and callback with keras.saving, so `.keras` files
that use them load after a plain `import zoo`.

Example:
    >>> import zoo
    >>> spec = zoo.heads.get("poincare", num_classes=10, embedding_dim=2, c=1.0)
    >>> backbone = zoo.backbones.get("lenet", input_shape=(28, 28, 1), embedding_dim=2)
"""

__version__ = "0.1.0"

# Dependency order: geometry -> layers, losses -> prototypes, metrics, callbacks -> data, backbones
# -> viz -> heads -> distribute -> models -> pretrained (no module imports upward, so no cycles).
from zoo import (
    backbones,
    callbacks,
    data,
    distribute,
    geometry,
    heads,
    layers,
    losses,
    metrics,
    models,
    pretrained,
    prototypes,
    viz,
)

__all__ = [
    "__version__",
    "backbones", "callbacks", "data", "distribute", "geometry", "heads", "layers", "losses", "metrics", "models",
    "pretrained", "prototypes", "viz",
]
