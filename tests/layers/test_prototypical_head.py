"""zoo.layers.PrototypicalHead / prototypical_logits: the classic ProtoNet logits, the sphere, the Poincaré
Einstein-midpoint prototypes against float64 numpy, way inferred from the batch, bad input, extreme-input
gradients, a 30-way 1-shot 15-query dim-1600 episode of real images, and the .keras round trip.

Real episodes come from Fashion-MNIST (Debian's files, offline) in the shot-major layout, built here with
plain numpy. Fashion-MNIST has 10 classes; the 30-way episode uses the 40 classes "class c rotated by
k x 90 degrees" (the rotation-as-new-class construction of Omniglot few-shot benchmarks).
"""

import functools
import math

import keras
import numpy as np
import pytest

import zoo.backbones
import zoo.data
from tests.harness import check_layer
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.layers import PrototypicalHead, ToPoincare, prototypical_logits
from zoo.layers.prototypical_head import DEFAULT_TEMPERATURE
from zoo.losses import PrototypicalLoss

GEOMETRIES = ["euclidean", "sphere", "poincare"]
# float64 checks run on TensorFlow: JAX runs with x64 disabled, and on torch Keras 3.15's
# ops.maximum(float64 tensor, 0.0) returns float32 (used by zoo.geometry's closed-form pairwise distances).
FLOAT64 = keras.backend.backend() == "tensorflow"


# --- float64 numpy references (written from the papers, independently of zoo.geometry) ------------------------

def np_split(e, shot, query):
    """The reference's shot-major split: support [shot, way, d], queries [query * way, d]."""
    e = np.asarray(e, np.float64)
    way = e.shape[0] // (shot + query)
    return e[: shot * way].reshape(shot, way, -1), e[shot * way:]


def np_protonet_logits(e, shot, query):
    """hyptorch examples/fewshot ProtoNet, Euclidean: proto = support.reshape(shot, way, -1).mean(0);
    logits = -((q[:, None] - p[None]) ** 2).sum(2) (euclidean_metric, broadcast)."""
    s, q = np_split(e, shot, query)
    p = s.mean(axis=0)
    return -((q[:, None, :] - p[None, :, :]) ** 2).sum(axis=2)


def np_sphere_logits(e, shot, query, t):
    s, q = np_split(e, shot, query)
    unit = lambda a: a / np.linalg.norm(a, axis=-1, keepdims=True)  # noqa: E731
    p = unit(unit(s).mean(axis=0))
    return unit(q) @ p.T / t


def np_einstein_midpoint(x, c):
    """Einstein midpoint over axis 0 in the Klein model: k = 2x / (1 + c|x|^2), gamma = 1 / sqrt(1 - c|k|^2),
    m = sum(gamma k) / sum(gamma), back to Poincare m / (1 + sqrt(1 - c|m|^2)) (Ungar 2008; hyptorch
    poincare_mean)."""
    x = np.asarray(x, np.float64)
    k = 2 * x / (1 + c * np.sum(x * x, axis=-1, keepdims=True))
    gamma = 1 / np.sqrt(1 - c * np.sum(k * k, axis=-1, keepdims=True))
    m = np.sum(gamma * k, axis=0) / np.sum(gamma, axis=0)
    return m / (1 + np.sqrt(1 - c * np.sum(m * m, axis=-1, keepdims=True)))


def np_poincare_dist(x, y, c):
    """d_c(x, y) = (2/sqrt c) artanh(sqrt(c) |(-x) (+)_c y|) with Mobius addition (hyptorch dist_matrix)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    mx = -x
    xy = np.sum(mx * y, -1, keepdims=True)
    x2, y2 = np.sum(mx * mx, -1, keepdims=True), np.sum(y * y, -1, keepdims=True)
    num = (1 + 2 * c * xy + c * y2) * mx + (1 - c * x2) * y
    add = num / (1 + 2 * c * xy + c * c * x2 * y2)
    return 2 / math.sqrt(c) * np.arctanh(math.sqrt(c) * np.linalg.norm(add, axis=-1))


def np_poincare_logits(e, shot, query, c):
    s, q = np_split(e, shot, query)
    p = np_einstein_midpoint(s, c)
    return -np_poincare_dist(q[:, None, :], p[None, :, :], c)


def ball_points(rng, n, d, c, rmax=0.99):
    """Points of the ball with radii spread up to rmax of 1/sqrt(c)."""
    v = rng.normal(size=(n, d))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    return v * rng.uniform(0.05, rmax, size=(n, 1)) / math.sqrt(c)


# --- real episodes from Fashion-MNIST ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def rotation_classes(per_class=64):
    """40 classes of 28x28x1 float32 images (normalised): Fashion-MNIST class c rotated by k * 90 degrees."""
    (x, y), _ = zoo.data.fashion_mnist(download=False)
    mean, std = zoo.data.FASHION_MNIST_MEAN_STD
    out = []
    for k in range(4):
        for c in range(10):
            imgs = np.rot90(x[y == c][:per_class], k, axes=(1, 2)).astype(np.float32) / 255.0
            out.append(((imgs - mean) / std)[..., None])
    return out


def numpy_episode(way, shot, query, rng, num_classes=40):
    """One shot-major episode (x [(shot + query) * way, 28, 28, 1], y [query * way] = i % way) from random
    classes (re-labelled 0..way-1 in random order) of `rotation_classes()[:num_classes]`."""
    classes = rotation_classes()
    picks = rng.choice(num_classes, size=way, replace=False)
    x = np.empty(((shot + query) * way, 28, 28, 1), np.float32)
    for j, cls in enumerate(picks):
        idx = rng.choice(len(classes[cls]), size=shot + query, replace=False)
        for s in range(shot + query):
            x[s * way + j] = classes[cls][idx[s]]
    return x, (np.arange(query * way) % way).astype(np.int32)


# --- numerics against numpy --------------------------------------------------------------------------------------

@pytest.mark.parametrize("shot,query,way", [(1, 15, 30), (5, 3, 5), (2, 1, 4)])
def test_euclidean_is_the_classic_protonet(shot, query, way):
    rng = np.random.default_rng(shot)
    e = rng.normal(size=((shot + query) * way, 64)) * 3.0 + 1.0
    want = np_protonet_logits(e, shot, query)
    got = to_numpy(PrototypicalHead(shot, query)(e.astype(np.float32)))
    assert got.shape == (query * way, way)
    # float32: the closed form ||q||^2 + ||p||^2 - 2<q, p> rounds at ~1e-7 of the norms' scale.
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * np.abs(want).max())
    np.testing.assert_array_equal(np.argmax(got, 1), np.argmax(want, 1))
    if FLOAT64:  # same formula in float64: agreement to rounding, i.e. exactly the classic logits
        got64 = to_numpy(PrototypicalHead(shot, query, dtype="float64")(e))
        np.testing.assert_allclose(got64, want, rtol=0, atol=1e-12 * np.abs(want).max())
        np.testing.assert_allclose(to_numpy(prototypical_logits(e, shot, query, "euclidean", 1.0)), want,
                                   rtol=0, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("t", [None, 1.0, 0.05])
def test_sphere_matches_numpy(t):
    shot, query, way = 3, 4, 6
    rng = np.random.default_rng(1)
    e = rng.normal(size=((shot + query) * way, 32)) * rng.uniform(0.01, 100.0, size=((shot + query) * way, 1))
    want = np_sphere_logits(e, shot, query, DEFAULT_TEMPERATURE["sphere"] if t is None else t)
    got = to_numpy(PrototypicalHead(shot, query, geometry="sphere", temperature=t)(e.astype(np.float32)))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * np.abs(want).max())
    assert np.abs(got).max() <= 1.0 / (DEFAULT_TEMPERATURE["sphere"] if t is None else t) * (1 + 1e-6)


@pytest.mark.parametrize("c", [0.005, 0.05, 1.0, 10.0])
def test_poincare_prototypes_are_the_float64_einstein_midpoint(c):
    from zoo.layers.prototypical_head import episode_prototypes, resolve_geometry, split_episode

    shot, query, way, d = 5, 3, 7, 16
    rng = np.random.default_rng(2)
    e = ball_points(rng, (shot + query) * way, d, c)
    support, _ = split_episode(e.astype(np.float32), shot, query)
    got = to_numpy(episode_prototypes(support, resolve_geometry("poincare", c)))
    want = np_einstein_midpoint(np_split(e, shot, query)[0], c)
    rel = np.linalg.norm(got - want, axis=-1) / np.linalg.norm(want, axis=-1)
    assert rel.max() < 2e-5, rel.max()
    # logits: -d_c(q, p) with d from the Mobius form, against the layer (float32)
    want_logits = np_poincare_logits(e, shot, query, c)
    got_logits = to_numpy(PrototypicalHead(shot, query, geometry="poincare", c=c)(e.astype(np.float32)))
    np.testing.assert_allclose(got_logits, want_logits, rtol=1e-4, atol=1e-4 / math.sqrt(c))
    if FLOAT64:
        got64 = to_numpy(PrototypicalHead(shot, query, geometry="poincare", c=c, dtype="float64")(e))
        np.testing.assert_allclose(got64, want_logits, rtol=1e-10, atol=1e-12)


def test_two_shot_poincare_prototype_is_the_geodesic_midpoint():
    """An identity independent of the Klein formula: the Einstein midpoint of two points is their geodesic
    midpoint, at distance d(x1, x2)/2 from each."""
    c = 0.5
    rng = np.random.default_rng(3)
    e = ball_points(rng, 3 * 4, 8, c, rmax=0.95)  # shot 2, query 1, way 4
    logits = to_numpy(PrototypicalHead(2, 1, geometry="poincare", c=c, dtype="float64" if FLOAT64 else None)(e))
    s, q = np_split(e, 2, 1)
    from zoo.layers.prototypical_head import episode_prototypes, resolve_geometry

    p = np.asarray(to_numpy(episode_prototypes(s, resolve_geometry("poincare", c))), np.float64)
    d01 = np_poincare_dist(s[0], s[1], c)
    tol = 1e-9 if FLOAT64 else 2e-4
    np.testing.assert_allclose(np_poincare_dist(s[0], p, c), d01 / 2, rtol=tol)
    np.testing.assert_allclose(np_poincare_dist(s[1], p, c), d01 / 2, rtol=tol)
    np.testing.assert_allclose(logits, -np_poincare_dist(q[:, None], p[None], c), rtol=10 * tol)


def test_one_shot_prototype_is_the_support_point_even_at_the_projection_radius():
    """shot = 1: the prototype is the support embedding itself (no Klein round trip), also where
    ToPoincare puts large embeddings (norm (1 - 1e-3)/sqrt(c))."""
    from zoo.layers.prototypical_head import episode_prototypes, resolve_geometry, split_episode

    c = 0.01
    rng = np.random.default_rng(4)
    z = to_numpy(ToPoincare(c=c)(rng.normal(size=(16 * 30, 1600)).astype(np.float32) * 10.0))
    np.testing.assert_allclose(np.linalg.norm(z, axis=-1) * math.sqrt(c), 1 - 1e-3, rtol=1e-6)
    support, _ = split_episode(z, 1, 15)
    protos = to_numpy(episode_prototypes(support, resolve_geometry("poincare", c)))
    np.testing.assert_array_equal(protos, z[:30])


def test_temperature_divides_the_logits():
    rng = np.random.default_rng(5)
    e = rng.normal(size=(4 * 5, 8)).astype(np.float32) * 0.1
    for g in GEOMETRIES:
        one = to_numpy(PrototypicalHead(1, 3, geometry=g, temperature=1.0)(e))
        np.testing.assert_allclose(to_numpy(PrototypicalHead(1, 3, geometry=g, temperature=0.25)(e)), one / 0.25,
                                   rtol=1e-6, atol=1e-6)
    assert PrototypicalHead(1, 1, geometry="sphere").temperature == 0.1
    assert PrototypicalHead(1, 1, geometry="poincare").temperature == 1.0
    assert PrototypicalHead(1, 1).temperature == 1.0


# --- way inferred, shapes, policies ------------------------------------------------------------------------------

@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_way_is_inferred_from_the_batch(geometry):
    """One layer (and one model) on 30-way and 5-way episodes."""
    shot, query, d, c = 1, 15, 12, 0.1
    rng = np.random.default_rng(6)
    head = PrototypicalHead(shot, query, geometry=geometry, c=c)
    inputs = keras.Input((d,))
    model = keras.Model(inputs, head(inputs))
    ref = {"euclidean": lambda e: np_protonet_logits(e, shot, query),
           "sphere": lambda e: np_sphere_logits(e, shot, query, 0.1),
           "poincare": lambda e: np_poincare_logits(e, shot, query, c)}[geometry]
    for way in (30, 5):
        e = ball_points(rng, (shot + query) * way, d, c, rmax=0.9).astype(np.float32)
        for out in (head(e), model.predict_on_batch(e)):
            out = to_numpy(out)
            assert out.shape == (query * way, way)
            np.testing.assert_allclose(out, ref(e), rtol=2e-4, atol=2e-4)
    assert head.compute_output_shape((16 * 30, d)) == (15 * 30, 30)
    assert head.compute_output_shape((None, d)) == (None, None)


# --- bad input -----------------------------------------------------------------------------------------------------

def test_bad_arguments_raise():
    for kw, match in [
        (dict(shot=0, query=1), "shot"), (dict(shot=1, query=0), "query"), (dict(shot=True, query=1), "shot"),
        (dict(shot=1.5, query=1), "shot"), (dict(shot=1, query=1, geometry="lorentz"), "geometry"),
        (dict(shot=1, query=1, geometry=3), "geometry"), (dict(shot=1, query=1, c=0.0), "c"),
        (dict(shot=1, query=1, c=-1.0), "c"), (dict(shot=1, query=1, c=float("nan")), "c"),
        (dict(shot=1, query=1, temperature=0.0), "temperature"),
        (dict(shot=1, query=1, temperature=-2.0), "temperature"),
        (dict(shot=1, query=1, temperature=float("inf")), "temperature"),
        (dict(shot=1, query=1, geometry=zoo.geometry.get("poincare", c=0.1), c=0.5), "conflicts"),
    ]:
        with pytest.raises(ValueError, match=match):
            PrototypicalHead(**kw)
    with pytest.raises(ValueError, match="temperature"):
        prototypical_logits(np.zeros((4, 2), np.float32), 1, 1, "sphere", temperature=0.0)


def test_batch_not_a_multiple_of_shot_plus_query_fails_early():
    head = PrototypicalHead(shot=2, query=3)
    with pytest.raises(ValueError, match=r"multiple of shot \+ query"):
        head(np.zeros((12, 4), np.float32))  # 12 % 5 != 0
    with pytest.raises(ValueError, match=r"multiple of shot \+ query"):
        PrototypicalHead(2, 3)(np.zeros((3, 4), np.float32))  # fewer rows than one class needs
    with pytest.raises(ValueError, match=r"multiple of shot \+ query"):  # at model construction (static batch)
        inputs = keras.Input((4,), batch_size=12)
        PrototypicalHead(2, 3)(inputs)
    with pytest.raises(ValueError, match=r"\[\(shot \+ query\) \* way, d\]"):
        PrototypicalHead(1, 1)(np.zeros((2, 3, 4), np.float32))


# --- gradients at extreme inputs ---------------------------------------------------------------------------------

def _loss_grad(fn, e, way, query):
    y = (np.arange(query * way) % way).astype(np.int32)
    return value_and_grad(lambda t: PrototypicalLoss()(y, fn(t)), e)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_gradients_finite_at_extreme_inputs(geometry):
    shot, query, way, d, c = 2, 3, 5, 64, 0.01
    n = (shot + query) * way
    rng = np.random.default_rng(8)
    head = PrototypicalHead(shot, query, geometry=geometry, c=c)
    direct = rng.normal(size=(n, d))
    direct /= np.linalg.norm(direct, axis=-1, keepdims=True)
    cases = {
        "zeros": np.zeros((n, d)),
        "one zero row": np.concatenate([np.zeros((1, d)), rng.normal(size=(n - 1, d)) * 0.1]),
        "tiny": rng.normal(size=(n, d)) * 1e-30,
        # at the projection radius (1 - 1e-3)/sqrt(c) and closer (1 - 1e-6), same direction in a class
        "boundary": direct * (1 - 1e-3) / math.sqrt(c),
        "closer than the projection": direct * (1 - 1e-6) / math.sqrt(c),
        "collapsed class": np.repeat(direct[:way], shot + query, axis=0) * (1 - 1e-3) / math.sqrt(c),
    }
    if geometry != "poincare":
        cases["huge"] = rng.normal(size=(n, d)) * 1e4
    for name, e in cases.items():
        val, (g,) = _loss_grad(head, e.astype(np.float32), way, query)
        assert_all_finite(val, g, what=f"{geometry} / {name}")
    if geometry == "poincare":  # huge Euclidean features through ToPoincare, as in a model
        to_ball = ToPoincare(c=c)
        for scale in (1e3, 1e6, 1e30):
            e = (rng.normal(size=(n, d)) * scale).astype(np.float32)
            val, (g,) = _loss_grad(lambda t: head(to_ball(t)), e, way, query)
            assert_all_finite(val, g, what=f"ToPoincare + head, scale {scale}")


# --- the reference's configuration: 30-way 1-shot 15-query at dim 1600, on real images ------------------------

@pytest.mark.slow
def test_30way_1shot_15query_dim1600_trains_without_nan_in_every_geometry():
    """The hyptorch Conv-4 (last block 1600 channels, global max-pool) on a real 30-way 1-shot 15-query
    episode of 28x28x1 Fashion-MNIST images (the reference uses 84x84x3; 28x28 keeps the test fast: block 4
    then runs on 3x3 maps). One backbone feeds the three heads (Euclidean, sphere, ToPoincare(c=0.01) +
    Poincaré) so that one compiled step trains all three; each head's loss is reported and must be finite,
    and the weights must stay finite, over two Adam steps at the reference's lr 5e-3."""
    way, shot, query = 30, 1, 15
    x, y = numpy_episode(way, shot, query, np.random.default_rng(9))
    backbone = zoo.backbones.get("conv4", input_shape=(28, 28, 1), embedding_dim=1600)
    z = backbone.output
    assert z.shape[-1] == 1600
    outputs = {
        "euclidean": PrototypicalHead(shot, query, name="euclidean")(z),
        "sphere": PrototypicalHead(shot, query, geometry="sphere", name="sphere")(z),
        "poincare": PrototypicalHead(shot, query, geometry="poincare", c=0.01, name="poincare")(
            ToPoincare(c=0.01)(z)),
    }
    model = keras.Model(backbone.input, outputs)
    model.compile(keras.optimizers.Adam(5e-3), loss={k: PrototypicalLoss() for k in outputs})
    targets = {k: y for k in outputs}
    for _ in range(2):
        logs = model.train_on_batch(x, targets, return_dict=True)
        for k in outputs:
            assert np.isfinite(logs[f"{k}_loss"]), logs
    assert_all_finite(*[to_numpy(w) for w in model.weights], what="weights after two steps")
    logits = model.predict_on_batch(x)
    for k in outputs:
        assert logits[k].shape == (query * way, way)
        assert_all_finite(logits[k], what=k)


# --- serialisation ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_harness(geometry):
    """Config and .keras round trips (the geometry included), float32 under mixed_float16, finite gradients. No
    fit step: the head maps (shot + query) * way rows to query * way rows, which model.fit cannot pair."""
    e = (np.random.default_rng(7).normal(size=(2 * 3 + 3 * 3, 4)) * 0.1).astype(np.float32)  # 3-way, 2+3 shots
    head = PrototypicalHead(2, 3, geometry=geometry, c=0.05, temperature=0.5)
    check_layer(head, e, expected_shape=(9, 3), fit=False)
    kw = {"c": 0.05} if geometry == "poincare" else {"squared": True} if geometry == "euclidean" else {}
    assert head.geometry == zoo.geometry.get(geometry, **kw)
    assert (head.shot, head.query, head.temperature) == (2, 3, 0.5)


def test_poincare_head_shares_a_trainable_c():
    """`c=<ToPoincare>`: the prototypes and distances follow the owner's current (trained) c."""
    to_ball = ToPoincare(c=0.05, train_c=True)
    head = PrototypicalHead(1, 2, geometry="poincare", c=to_ball)
    e = np.random.default_rng(8).normal(size=(12, 4)).astype(np.float32)  # 4-way 1-shot 2-query
    to_ball.build((None, 4))
    to_ball._c_raw.assign(-1.0)
    c = float(to_numpy(to_ball.curvature))
    points = to_numpy(to_ball(e))
    want = prototypical_logits(points, 1, 2, "poincare", c=c)
    np.testing.assert_allclose(to_numpy(head(points)), to_numpy(want), rtol=1e-6, atol=1e-6)
    two_shot = PrototypicalHead(2, 1, geometry="poincare", c=to_ball)  # Einstein-midpoint prototypes
    want = prototypical_logits(points, 2, 1, "poincare", c=c)
    np.testing.assert_allclose(to_numpy(two_shot(points)), to_numpy(want), rtol=1e-5, atol=1e-6)
