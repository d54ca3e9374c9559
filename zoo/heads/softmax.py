"""The Euclidean baseline head, "softmax": a linear classifier and softmax cross-entropy.

    scores = W·x + b,   loss = −log softmax(scores)_y

The layer computes in float32 under any dtype policy (like every other head): float16/bfloat16 logits
would round the loss and the argmax of close scores.

Example:
    >>> spec = zoo.heads.get("softmax", num_classes=10, embedding_dim=64)
"""

import keras

from zoo.heads.head_spec import HeadSpec
from zoo.heads.registry import accuracy, register

__all__ = []


@register("softmax")
def _softmax(num_classes, embedding_dim, **options):
    """Plain linear classifier + softmax cross-entropy: the baseline every geometry is compared with."""
    if options:
        raise TypeError(f"head 'softmax' takes no options; got {sorted(options)}")
    return HeadSpec(
        layer=keras.layers.Dense(num_classes, dtype="float32", name="softmax_head"),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[accuracy()],
        description="linear layer + softmax cross-entropy (baseline)",
    )
