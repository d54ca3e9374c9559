"""Head registry: one name -> (layer, loss, metrics, callbacks). Recipes never branch on head names.

A head factory takes `(num_classes, embedding_dim, **options)` and returns a `HeadSpec`. The head layer
maps embeddings to per-class *scores* whose argmax is the prediction (logits, cosines, negative
distances ...), so one accuracy metric serves every head. Heads that update state from the labels during
training (class centres, prototype class means) set `needs_labels=True`; the recipe then feeds the labels
as a second model input and the layer is called as `layer(embedding, labels=labels)`.

| head          | layer, loss                                                  | module          |
|---------------|--------------------------------------------------------------|-----------------|
| `softmax`     | Dense + softmax cross-entropy (the Euclidean baseline)       | `softmax.py`    |
| `arcface`     | CosineHead + ArcFaceLoss                                     | `margins.py`    |
| `cosface`     | CosineHead + CosFaceLoss                                     | `margins.py`    |
| `sphereface`  | CosineHead + SphereFaceLoss                                  | `margins.py`    |
| `sphereface2` | CosineHead + SphereFace2Loss                                 | `margins.py`    |
| `center`      | CenterHead(Dense or CosineHead) + CenterLoss                 | `center.py`     |
| `distarc`     | DistArcHead + DistArcLoss (HyperSpaceX)                      | `distarc.py`    |
| `prototypes`  | PrototypeHead + PrototypeRegressionLoss + reassignment (DL2PA) | `prototypes.py` |
| `poincare`    | PoincareClassifier (ToPoincare + HyperbolicMLR) + softmax CE | `poincare.py`   |

Adding a method is one `@zoo.heads.register("name")` factory in a family module (imported below), not
an edit in every recipe. The registry (`register`, `get`, `available`, `accuracy`) is in `registry.py`,
`HeadSpec` in `head_spec.py`, the 2-D `plot` hooks (drawings in `zoo.viz`) in `_plots.py`.

Example:
    >>> spec = zoo.heads.get("softmax", num_classes=10, embedding_dim=64)
    >>> scores = spec.layer(embeddings)
    >>> model.compile(optimizer="adam", loss=spec.loss, metrics=spec.metrics)
"""

from zoo.heads import center, distarc, margins, poincare, prototypes, registry, softmax
from zoo.heads.head_spec import HeadSpec
from zoo.heads.registry import accuracy, available, get, register

__all__ = [
    "HeadSpec", "accuracy", "available", "get", "register",
    "center", "distarc", "margins", "poincare", "prototypes", "registry", "softmax",
]
