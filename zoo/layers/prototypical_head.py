"""`PrototypicalHead`: episode prototypes and logits of Prototypical Networks in any geometry."""

import math

import keras
from keras import ops

from zoo import geometry as G
from zoo._checks import check_int, check_positive
from zoo.geometry import euclidean as E
from zoo.geometry import poincare as P
from zoo.geometry import sphere as S
from zoo.geometry.curvature import c_tensor, check_c, is_scalar_number
from zoo.layers._ball import BallLayer

__all__ = ["PrototypicalHead", "prototypical_logits"]

#: Temperature used when `temperature=None`, per geometry.
#: - euclidean 1.0: the classic ProtoNet logits -||q - p||^2 (Snell et al. 2017).
#: - poincare 1.0: the hyperbolic ProtoNet's -d_c(q, p) (Khrulkov et al. 2020, T = 1 in every config).
#: - sphere 0.1: cosine logits live in [-1, 1]; with T = 1 the best possible 5-way softmax puts only
#:   e/(e + 4/e) = 0.65 on the true class (0.2 for 30-way), so cross-entropy cannot train the encoder
#:   to confident predictions. 1/T = 10 is the usual scale of cosine few-shot classifiers (Gidaris &
#:   Komodakis, CVPR 2018, learnable scale initialised at 10; Chen et al., ICLR 2019, Baseline++ scale 10
#:   for large class counts).
DEFAULT_TEMPERATURE = {"euclidean": 1.0, "sphere": 0.1, "poincare": 1.0}


def _check_count(value, name):
    return check_int(value, name, minimum=1, owner="PrototypicalHead")


def _check_temperature(temperature, geometry):
    """T as a float (None: the geometry's `DEFAULT_TEMPERATURE`)."""
    if temperature is None:
        return DEFAULT_TEMPERATURE[geometry.name]
    if isinstance(temperature, str):  # check_positive would parse "0.1"
        raise ValueError(f"PrototypicalHead: `temperature` must be a finite number > 0; got {temperature!r}.")
    return check_positive(temperature, "temperature", owner="PrototypicalHead")


def resolve_geometry(geometry="euclidean", c=1.0):
    """The `zoo.geometry` object of a ProtoNet head.

    A name builds the ProtoNet form of the geometry: "euclidean" -> squared distances (classic ProtoNet),
    "sphere" -> cosine, "poincare" -> curvature `c`. A `zoo.geometry.Geometry` or its config dict is used
    as it is (a Poincaré one carries its own c; an explicit `c` other than the default 1.0 that differs
    from it is an error).
    """
    if not is_scalar_number(c):
        raise ValueError(f"PrototypicalHead: `c` must be a finite number > 0 (curvature -c, ball radius "
                         f"1/sqrt(c)); got {c!r}.")
    c = check_c(c)
    if isinstance(geometry, (G.Geometry, dict)):
        geo = G.get(geometry)
        if geo.name == "poincare" and c != 1.0 and not math.isclose(c, geo.c, rel_tol=1e-12):
            raise ValueError(f"PrototypicalHead: `c`={c} conflicts with the geometry's c={geo.c}; give one.")
        return geo
    if not isinstance(geometry, str):
        raise ValueError(f"PrototypicalHead: `geometry` must be 'euclidean', 'sphere', 'poincare', a "
                         f"zoo.geometry.Geometry or its config; got {geometry!r}.")
    name = G.get(geometry).name  # validates the name (aliases allowed), ValueError listing the choices
    if name == "euclidean":
        return G.get("euclidean", squared=True)
    if name == "poincare":
        return G.get("poincare", c=c)
    return G.get("sphere")


def split_episode(embeddings, shot, query):
    """Support [shot, way, d] and queries [query * way, d] of a shot-major episode batch.

    Row r of the [(shot + query) * way, d] batch belongs to class r % way; the first shot * way rows are
    the support. way is inferred: the batch is reshaped to [shot + query, -1, d].
    """
    x = ops.convert_to_tensor(embeddings)
    if "float" not in str(x.dtype):
        x = ops.cast(x, "float32")
    if len(x.shape) != 2:
        raise ValueError(f"PrototypicalHead: embeddings must be [(shot + query) * way, d]; got shape {x.shape}.")
    d = x.shape[-1]
    if d is None:
        raise ValueError("PrototypicalHead: the embedding dimension (last axis) must be known.")
    group = shot + query
    n = x.shape[0]
    if n is not None and (n < group or n % group):
        raise ValueError(
            f"PrototypicalHead: the batch size {n} must be a positive multiple of shot + query = {shot} + "
            f"{query} = {group} (an episode is (shot + query) * way images in shot-major order)."
        )
    x = ops.reshape(x, (group, -1, d))
    return x[:shot], ops.reshape(x[shot:], (-1, d))


def episode_prototypes(support, geometry):
    """Prototypes [way, d] from the support [shot, way, d]: the geometry's mean over the shots.

    Euclidean: arithmetic mean; sphere: normalised mean of the normalised embeddings; Poincaré: Einstein
    midpoint (`zoo.geometry.poincare.midpoint`). With one shot the prototype is the support embedding
    itself (normalised on the sphere), which every one of these means returns in exact arithmetic; taking
    it directly skips the float32 Poincaré -> Klein -> Poincaré round trip, which near the boundary
    (1 - sqrt(c)||x|| = 1e-3, where ToPoincare projects large embeddings) moves the point by ~1e-4 of the
    radius.
    """
    if support.shape[0] == 1:
        proto = support[0]
        return S.normalize(proto) if geometry.name == "sphere" else proto
    return geometry.mean(support, axis=0)


def prototypical_logits(embeddings, shot, query, geometry="euclidean", temperature=None, c=1.0):
    """Prototypical Network logits of one episode, [query * way, way].

    With q_i the query embeddings and p_k the prototype of class k (the mean of its `shot` support
    embeddings in the geometry):

        euclidean:  logits[i, k] = -||q_i - p_k||^2 / T,    p_k = arithmetic mean          (Snell et al.)
        sphere:     logits[i, k] = cos(q_i, p_k) / T,       p_k = normalize(mean(normalize(s)))
        poincare:   logits[i, k] = -d_c(q_i, p_k) / T,      p_k = Einstein midpoint        (Khrulkov et al.)

    (a Euclidean geometry with `squared=False` gives -||q - p|| / T; a sphere with `distance="angle"`
    gives -angle / T.) All pairwise terms are closed forms over one [query * way, way] matmul; no
    [queries, way, d] tensor is built.

    Args:
        embeddings: [(shot + query) * way, d] in the shot-major episode order (row r is class r % way;
            the first shot * way rows are the support). Poincaré embeddings must already be points of the
            ball (put `zoo.layers.ToPoincare` before the head).
        shot: support examples per class (>= 1).
        query: query examples per class (>= 1).
        geometry: "euclidean", "sphere", "poincare", a `zoo.geometry.Geometry` or its config.
        temperature: T > 0, or None for `DEFAULT_TEMPERATURE[geometry]` (1, 0.1, 1).
        c: curvature of "poincare" given by name.

    Returns:
        logits [query * way, way]; the labels of the queries are y[i] = i % way.

    Example:
        >>> emb = keras.random.normal((6 * 5, 64))             # 5-way 1-shot 5-query
        >>> zoo.layers.prototypical_logits(emb, shot=1, query=5).shape
        (25, 5)
    """
    shot, query = _check_count(shot, "shot"), _check_count(query, "query")
    geo = resolve_geometry(geometry, c)
    t = _check_temperature(temperature, geo)
    return episode_logits(embeddings, shot, query, geo, t)


def episode_logits(embeddings, shot, query, geometry, temperature, c=None):
    """`prototypical_logits` on checked arguments: a `zoo.geometry.Geometry` and a float T.

    `c` (a scalar tensor, e.g. a trainable curvature shared with a ToPoincare) replaces the curvature of
    a Poincaré geometry; None uses the geometry's own c.
    """
    support, queries = split_episode(embeddings, shot, query)
    if c is not None and geometry.name == "poincare":
        protos = support[0] if support.shape[0] == 1 else P.midpoint(support, c, axis=0)
        scores = -P.pairwise_dist(queries, protos, c)
    else:
        protos = episode_prototypes(support, geometry)
        if geometry.name == "sphere" and geometry.distance_kind == "cosine":
            scores = S.pairwise_cosine(queries, protos)
        elif geometry.name == "euclidean" and geometry.squared:
            scores = -E.pairwise_sq_dist(queries, protos)
        else:
            scores = -geometry.pairwise_distance(queries, protos)
    return scores / ops.convert_to_tensor(temperature, dtype=scores.dtype)


@keras.saving.register_keras_serializable(package="zoo")
class PrototypicalHead(BallLayer):
    """Prototypical Network head: embeddings of one episode -> logits of its queries over its classes.

    The batch is one episode in the reference's shot-major layout, [(shot + query) * way, d] (row r
    belongs to class r % way, the first shot * way rows are the support); the output is the
    [query * way, way] logits of `prototypical_logits` (Euclidean: -||q - p||^2 / T with mean prototypes,
    the classic ProtoNet at T = 1; sphere: cos / T with normalised-mean prototypes; Poincaré: -d_c / T
    with Einstein-midpoint prototypes, the hyperbolic ProtoNet at T = 1). `way` is not an argument: it
    is inferred from the batch, so one model trains 30-way and evaluates 5-way. Query labels are
    y[i] = i % way (train with `zoo.losses.PrototypicalLoss` and "sparse_categorical_accuracy").

    The layer has no weights. It computes in float32 (float64 if asked; mixed policies become float32).

    Args:
        shot: support examples per class (>= 1), fixed per model.
        query: query examples per class (>= 1), fixed per model.
        geometry: "euclidean" (default), "sphere", "poincare", or a `zoo.geometry.Geometry` / its config.
        c: curvature magnitude > 0 of "poincare" (radius 1/sqrt(c)); the reference's few-shot configs use
            0.005-0.05. The inputs must already lie in that ball: put `zoo.layers.ToPoincare(c)` (same c)
            before the head, or pass that ToPoincare layer itself as `c` to share its (trainable) c.
        temperature: T > 0, or None (default) for the geometry's `DEFAULT_TEMPERATURE`: 1 for euclidean
            and poincare (the references), 0.1 for sphere (cosine logits in [-1, 1] need a scale).
        share_ball: set by `c=<layer>` and stored in the config (see `zoo.layers.HyperbolicMLR`).
        **kwargs: Layer arguments.

    Raises:
        ValueError: shot/query < 1, unknown geometry, c <= 0, T <= 0; at call time, a batch whose size is
            not a positive multiple of shot + query (checked whenever the batch size is static: always on
            JAX and torch, and on TensorFlow when the input shape is known); with "poincare", inputs made
            by a ToPoincare / HyperbolicLinear of another curvature (two balls in one model).

    Example:
        >>> backbone = zoo.backbones.get("conv4", input_shape=(84, 84, 3), embedding_dim=1600)
        >>> z = zoo.layers.ToPoincare(c=0.01)(backbone.output)
        >>> logits = zoo.layers.PrototypicalHead(shot=1, query=15, geometry="poincare", c=0.01)(z)
        >>> model = keras.Model(backbone.input, logits)
        >>> model.compile("adam", loss=zoo.losses.PrototypicalLoss(), metrics=["sparse_categorical_accuracy"])
        >>> model.fit(zoo.data.episodes(split, way=30, shot=1, query=15), epochs=...)

    Reference:
        Snell, Swersky, Zemel, "Prototypical Networks for Few-shot Learning", NeurIPS 2017;
        Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (hyptorch examples/fewshot `ProtoNet`).

    Departures from the reference code:
        - Squared Euclidean and Poincaré distances come from the closed forms ||q||^2 + ||p||^2 - 2<q, p>
          (one matmul, O(query * way^2) memory) instead of broadcasting a [queries, way, d] tensor; equal
          up to float rounding.
        - Poincaré distances use the asinh form of `zoo.geometry.poincare` (equal to hyptorch's
          2/sqrt(c) artanh(sqrt(c)||-q (+) p||), accurate next to the boundary); the Einstein midpoint is
          the same formula (Lorentz factors in the Klein model); one-shot prototypes are the support point
          itself (see `episode_prototypes`).
        - The spherical geometry is not in the reference (added for comparison).
    """

    writes_ball = False  # logits

    def __init__(self, shot, query, geometry="euclidean", c=1.0, temperature=None, **kwargs):
        owner = c if isinstance(c, BallLayer) else None
        geometry = resolve_geometry(geometry, c if owner is None else owner.ball_owner().c)
        if owner is not None and geometry.name != "poincare":
            raise ValueError(f"PrototypicalHead: `c` may be a ball layer only with geometry 'poincare'; got "
                             f"geometry {geometry.name!r}.")
        if owner is None and geometry.name == "poincare":
            c = geometry.c
        super().__init__(c=c, **kwargs)
        self.shot = _check_count(shot, "shot")
        self.query = _check_count(query, "query")
        self.geometry = geometry
        self.temperature = _check_temperature(temperature, self.geometry)

    def _reads_ball(self):
        return self.geometry.name == "poincare"

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"PrototypicalHead expects embeddings [(shot + query) * way, d] with a known d; "
                             f"got shape {tuple(input_shape)}.")
        n, group = input_shape[0], self.shot + self.query
        if n is not None and (n < group or n % group):
            raise ValueError(f"PrototypicalHead: the batch size {n} must be a positive multiple of shot + query "
                             f"= {group}.")

    def call(self, inputs):
        c = self.curvature
        if self.geometry.name == "poincare" and not is_scalar_number(c):  # a shared trainable c
            return episode_logits(inputs, self.shot, self.query, self.geometry, self.temperature,
                                  c=c_tensor(c, self.compute_dtype))
        return episode_logits(inputs, self.shot, self.query, self.geometry, self.temperature)

    def compute_output_shape(self, input_shape):
        n = input_shape[0]
        if n is None:
            return (None, None)
        way = n // (self.shot + self.query)
        return (self.query * way, way)

    def get_config(self):
        config = super().get_config()
        config.update(shot=self.shot, query=self.query, geometry=self.geometry.get_config(),
                      temperature=self.temperature)
        return config
