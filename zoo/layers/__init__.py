"""zoo.layers: the geometry-aware Keras layers of the zoo, one public layer per module.

Importing the package registers every layer with `keras.saving` (package "zoo"), so `.keras` files that
hold them load with `keras.saving.load_model`.

Poincaré ball (curvature -c, radius 1/sqrt(c); one ball per model, see `zoo.layers.HyperbolicMLR`):
    ToPoincare, FromPoincare, HyperbolicLinear, HyperbolicMLR, PoincareClassifier, PoincareDistance
Hypersphere and Euclidean heads:
    CosineHead, CenterHead, DistArcHead, PrototypeHead, EmbeddingSpace, MaxoutDense (and its pure function `maxout`)
Few-shot:
    PrototypicalHead (and its pure function `prototypical_logits`), DropBlock
Input:
    ImagePreprocessor (raw 0..255 images -> normalised backbone input, statistics saved with the model)
"""

from zoo.layers.center_head import CenterHead
from zoo.layers.cosine_head import CosineHead
from zoo.layers.distarc_head import DistArcHead
from zoo.layers.drop_block import DropBlock
from zoo.layers.embedding_space import EmbeddingSpace
from zoo.layers.from_poincare import FromPoincare
from zoo.layers.hyperbolic_linear import HyperbolicLinear
from zoo.layers.hyperbolic_mlr import HyperbolicMLR
from zoo.layers.image_preprocessor import ImagePreprocessor
from zoo.layers.maxout_dense import MaxoutDense, maxout
from zoo.layers.poincare_classifier import PoincareClassifier
from zoo.layers.poincare_distance import PoincareDistance
from zoo.layers.prototype_head import PrototypeHead
from zoo.layers.prototypical_head import PrototypicalHead, prototypical_logits
from zoo.layers.to_poincare import ToPoincare

__all__ = [
    "CenterHead",
    "CosineHead",
    "DistArcHead",
    "DropBlock",
    "EmbeddingSpace",
    "FromPoincare",
    "HyperbolicLinear",
    "HyperbolicMLR",
    "ImagePreprocessor",
    "MaxoutDense",
    "PoincareClassifier",
    "PoincareDistance",
    "PrototypeHead",
    "PrototypicalHead",
    "ToPoincare",
    "maxout",
    "prototypical_logits",
]
