"""The Euclidean baseline head, "softmax": a linear classifier and softmax cross-entropy.

    scores = W·x + b,   loss = −log softmax(scores)_y

The layer computes in float32 under any dtype policy (like every other head): float16/bfloat16 logits
would round the loss and the argmax of close scores.

Example:
    >>> spec = zoo.heads.get("softmax", num_classes=10, embedding_dim=64)
"""

import keras

from zoo._checks import check_positive
from zoo.heads.head_spec import HeadSpec
from zoo.heads.registry import accuracy, register

__all__ = []


@register("softmax")
def _softmax(num_classes, embedding_dim, use_bias=True, kernel_stddev=None):
    """Plain linear classifier + softmax cross-entropy: the baseline every geometry is compared with.

    Options: `use_bias` (default True); `kernel_stddev`: None for Keras' Glorot-uniform kernel, or the standard
    deviation of a normal initialiser (the re-ID strong baseline's classifier: `use_bias=False,
    kernel_stddev=0.001`).
    """
    if not isinstance(use_bias, bool):
        raise TypeError(f"head 'softmax': `use_bias` must be True or False; got {use_bias!r}.")
    init = "glorot_uniform"
    if kernel_stddev is not None:
        init = keras.initializers.RandomNormal(stddev=check_positive(kernel_stddev, "kernel_stddev",
                                                                     owner="head 'softmax'"))
    return HeadSpec(
        layer=keras.layers.Dense(num_classes, use_bias=use_bias, kernel_initializer=init, dtype="float32",
                                 name="softmax_head"),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[accuracy()],
        description="linear layer + softmax cross-entropy (baseline)" + ("" if use_bias else ", no bias"),
    )
