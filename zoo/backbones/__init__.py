"""Image encoders: `zoo.backbones.get(name, input_shape, embedding_dim, **kwargs)`.

Every backbone is a functional `keras.Model` (named after the backbone) mapping images
`[B, H, W, C]` (float32, channels last) to embeddings `[B, embedding_dim]`. The embedding is
linear (no activation, no normalisation): the geometry heads in `zoo.layers` decide how to
normalise or project it.

| name        | what it is                                                               | file             |
|-------------|--------------------------------------------------------------------------|------------------|
| `lenet`     | hyperbolic-image-embeddings MNIST LeNet (conv20-conv50-fc500-fc dim)      | `lenet.py`       |
| `conv4`     | 4 x [conv3x3-BN-ReLU-maxpool2] few-shot encoder (hyptorch / ProtoNet)     | `conv4.py`       |
| `resnet12`  | few-shot ResNet-12, 64-128-256-512, DropBlock, global max-pool            | `resnet12.py`    |
| `resnet20`  | CIFAR ResNet, 3 x 3 BasicBlocks, 16/32/64 channels                       | `cifar_resnet.py`|
| `resnet32`  | CIFAR ResNet, 3 x 5 BasicBlocks                                          | `cifar_resnet.py`|
| `resnet56`  | CIFAR ResNet, 3 x 9 BasicBlocks                                          | `cifar_resnet.py`|
| `hub_resnet`| adapter over `keras_hub.models.ResNetBackbone` (random init or preset)   | `hub.py`         |
| `hub_vit`   | adapter over `keras_hub.models.ViTBackbone` (random init or preset)      | `hub.py`         |

Example:
    >>> import zoo.backbones
    >>> model = zoo.backbones.get("lenet", input_shape=(28, 28, 1), embedding_dim=64)
    >>> model(np.zeros((2, 28, 28, 1), "float32")).shape
    (2, 64)
    >>> zoo.backbones.available()
    ['conv4', 'hub_resnet', 'hub_vit', 'lenet', 'resnet12', 'resnet20', 'resnet32', 'resnet56']

Keyword arguments are forwarded to the family's builder (for example `variant="flatten"` for
`conv4`, `shortcut="pad"` / `width=2` for the CIFAR ResNets, `preset=...` for the keras-hub
adapters); an argument the builder does not accept raises a `ValueError` naming it. Every
builder also accepts `name=` to rename the model (two encoders in one model need distinct names).

The `hub_*` adapters need the optional `keras-hub` package (`pip install keras-hub`, extra `hub`);
it is imported only when one of them is built.

Adding a backbone: a module with its builder `f(input_shape, embedding_dim, *, ..., name=...)` (argument
checks from `zoo._checks`) and one entry in `zoo/backbones/registry.py`.
"""

from zoo.backbones import cifar_resnet, conv4, hub, lenet, registry, resnet12
from zoo.backbones.registry import available, get

__all__ = ["get", "available", "lenet", "conv4", "resnet12", "cifar_resnet", "hub", "registry"]
