"""zoo.losses: stateless Keras losses, one public loss per module, each a thin wrapper over a pure function
in the same module (`zoo.losses.arcface.arcface_loss`, ...).

Importing the package registers every loss with `keras.saving` (package "zoo"), so `.keras` files that
use them load with `keras.saving.load_model`. Keras signature: `loss(y_true=int labels, y_pred=head output)`.

Bases (for new losses; see their docstrings):
    FunctionLoss (a pure function + its keyword arguments: `call` and `get_config` written once),
    MarginLoss (margin softmax on cos θ: one hook, the target logit ψ(cos θ_y))
Margin softmax losses on cos θ (`zoo.layers.CosineHead`):
    ArcFaceLoss, CosFaceLoss, SphereFaceLoss; SphereFace2Loss (one-vs-all binary)
Other classification heads:
    DistArcLoss (`zoo.layers.DistArcHead`), CenterLoss (`zoo.layers.CenterHead`),
    PrototypeRegressionLoss (`zoo.layers.PrototypeHead`), PrototypicalLoss (`zoo.layers.PrototypicalHead`)
Embedding losses with in-batch mining (any geometry of `zoo.geometry.get`):
    TripletLoss, ExponentialTripletLoss, ContrastiveLoss
"""

from zoo.losses.arcface import ArcFaceLoss
from zoo.losses.center_loss import CenterLoss
from zoo.losses.contrastive import ContrastiveLoss
from zoo.losses.cosface import CosFaceLoss
from zoo.losses.distarc_loss import DistArcLoss
from zoo.losses.exponential_triplet import ExponentialTripletLoss
from zoo.losses.function_loss import FunctionLoss
from zoo.losses.label_smoothing import LabelSmoothingCrossEntropy
from zoo.losses.margin_loss import MarginLoss
from zoo.losses.prototype_regression import PrototypeRegressionLoss
from zoo.losses.prototypical import PrototypicalLoss
from zoo.losses.sphereface import SphereFaceLoss
from zoo.losses.sphereface2 import SphereFace2Loss
from zoo.losses.triplet import TripletLoss

__all__ = [
    "ArcFaceLoss",
    "CenterLoss",
    "ContrastiveLoss",
    "CosFaceLoss",
    "DistArcLoss",
    "ExponentialTripletLoss",
    "FunctionLoss",
    "LabelSmoothingCrossEntropy",
    "MarginLoss",
    "PrototypeRegressionLoss",
    "PrototypicalLoss",
    "SphereFace2Loss",
    "SphereFaceLoss",
    "TripletLoss",
]
