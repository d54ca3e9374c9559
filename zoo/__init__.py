"""The geometric embedding zoo for Keras 3.

Hyperbolic, hyperspherical and Euclidean embedding heads, losses, callbacks and recipes that run
unchanged on the TensorFlow, JAX and PyTorch backends.

Subpackages:
    zoo.geometry   pure functions on keras.ops (Poincaré ball, sphere, Euclidean) and numerics
    zoo.data       offline datasets (Fashion-MNIST, digits), tf.data helpers, tfds adapter
    zoo.backbones  image encoders mapping images to embeddings
    zoo.heads      registry: head name -> layer, loss, metrics, callbacks
"""

__version__ = "0.1.0"

# Importing these registers every layer, loss and callback with keras.saving, so `.keras` files that
# use them load after a plain `import zoo`.
from zoo import geometry, layers, losses  # noqa: E402,F401
