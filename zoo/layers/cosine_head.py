"""CosineHead: cosine similarity between the embedding and every (normalised) class weight."""

import keras
from keras import ops

from zoo._checks import check_int
from zoo.geometry import sphere

__all__ = ["CosineHead"]


@keras.saving.register_keras_serializable(package="zoo")
class CosineHead(keras.layers.Layer):
    """Normalised class weights → cos θ for every class.

        cos θ_{ij} = (x_i / ‖x_i‖) · (w_j / ‖w_j‖),    output [B, num_classes] in [-1, 1]

    One matmul (`zoo.geometry.sphere.pairwise_cosine`); a zero embedding gives cos θ = 0. The layer
    computes in float32 even under a mixed-precision policy (its own dtype policy defaults to
    "float32"; float16 inputs are cast up), so margin losses on its output see float32 cosines.
    Feed its output to `zoo.losses.ArcFaceLoss`, `CosFaceLoss`, `SphereFaceLoss` or `SphereFace2Loss`;
    argmax of the output is the prediction.

    Args:
        num_classes: number of classes K >= 1.
        kernel_initializer: initializer of the [d, K] class weights. Default "glorot_normal"
            (Xavier-normal, as OpenSphere's heads).
        kernel_regularizer: optional regularizer of the weights.
        **kwargs: `keras.layers.Layer` arguments (name, dtype, ...).

    Example:
        >>> head = zoo.layers.CosineHead(10)
        >>> cos = head(keras.ops.ones((4, 64)))        # [4, 10] cosines
        >>> loss = zoo.losses.ArcFaceLoss()(keras.ops.zeros((4,), "int32"), cos)

    Reference:
        Wang et al., "NormFace: L2 Hypersphere Embedding for Face Verification", ACM MM 2017;
        Deng et al., "ArcFace", CVPR 2019 (normalised weights and features).

    Departures from the reference code:
        The references renormalise the weight tensor in place under `no_grad` before each step; here
        the weights are normalised inside the forward pass, so the gradient includes the projection
        onto the tangent space of each ŵ_j (the standard differentiable weight normalisation).
    """

    def __init__(self, num_classes, kernel_initializer="glorot_normal", kernel_regularizer=None, **kwargs):
        kwargs["dtype"] = kwargs.get("dtype") or "float32"
        super().__init__(**kwargs)
        self.num_classes = check_int(num_classes, "num_classes", minimum=1, owner="CosineHead")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError("CosineHead: the embedding dimension (last input axis) must be known.")
        self.kernel = self.add_weight(
            name="kernel", shape=(int(dim), self.num_classes), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, trainable=True,
        )

    def directions(self):
        """The unit class directions ŵ_j as a [K, d] tensor."""
        return sphere.normalize(ops.transpose(self.kernel))

    def call(self, inputs):
        return sphere.pairwise_cosine(inputs, ops.transpose(self.kernel))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_classes,)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
