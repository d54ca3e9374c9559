"""LeNet of the hyperbolic-image-embeddings MNIST example (`zoo.backbones.get("lenet", ...)`)."""

import keras
from keras import layers

from zoo._checks import check_embedding_dim, check_input_shape

# Smallest height/width: two valid 5x5 convs, each followed by a 2x2 max-pool, must leave >= 1 pixel
# (16 -> 12 -> 6 -> 2 -> 1).
MIN_SIZE = 16


def lenet(input_shape=(28, 28, 1), embedding_dim=64, *, name="lenet"):
    """LeNet-style encoder of the hyperbolic MNIST example.

    Architecture (all "valid" convolutions, as in the reference):

        conv 5x5, 20 -> ReLU -> maxpool 2
        conv 5x5, 50 -> ReLU -> maxpool 2
        flatten -> Dense(500) -> ReLU -> Dense(embedding_dim)      (no activation)

    On 28x28 inputs the flattened feature is 4*4*50 = 800 (the reference's `FC 800 -> 500`); on
    32x32 it is 5*5*50 = 1250. Keras default initialisers (Glorot uniform, zero bias).

    Args:
        input_shape: `(height, width, channels)`; height and width >= 16 and known (the net
            flattens). Default `(28, 28, 1)`.
        embedding_dim: int >= 1, output size (the reference uses 2 for its plots).
        name: model name.

    Returns:
        A functional `keras.Model` `[B, H, W, C] -> [B, embedding_dim]`.

    Example:
        >>> model = zoo.backbones.get("lenet", input_shape=(28, 28, 1), embedding_dim=64)
        >>> model.count_params()    # 458,134 for 28x28x1 and embedding_dim=64
        458134

    Reference:
        Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (`hyptorch`, examples/mnist.py);
        LeCun et al., "Gradient-based learning applied to document recognition", 1998.

    Departures from the reference code:
        Keras flattens in (H, W, C) order while PyTorch flattens (C, H, W): the architecture is the
        same, but porting the first Dense weights from a PyTorch checkpoint needs a permutation.
    """
    embedding_dim = check_embedding_dim(embedding_dim)
    input_shape = check_input_shape(input_shape, backbone="lenet", min_size=MIN_SIZE)
    inputs = keras.Input(shape=input_shape, name="images")
    x = layers.Conv2D(20, 5, padding="valid", name="conv1")(inputs)
    x = layers.Activation("relu", name="relu1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(50, 5, padding="valid", name="conv2")(x)
    x = layers.Activation("relu", name="relu2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(500, activation="relu", name="fc1")(x)
    outputs = layers.Dense(embedding_dim, name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)
