"""DropBlock: identity at inference, block geometry, drop rate (exact float64 expectation), rescaling,
gradients, warm-up schedule, serialisation and argument checks."""

import keras
import numpy as np
import pytest

import zoo.layers
from tests.harness import check_layer
from tests.helpers import roundtrip, to_numpy, value_and_grad
from zoo.layers.drop_block import block_mask_from_seeds, drop_block, drop_block_gamma


def _expected_drop_probability(height, width, rate, block_size):
    """float64 per-position drop probability [H, W]: 1 - (1 - gamma)^(number of blocks covering it).

    Seeds live on the (H-k+1) x (W-k+1) top-left corners of fully-inside blocks; position (r, c) is covered
    by the blocks whose corner is in rows max(0, r-k+1)..min(r, H-k) (same for columns)."""
    k = min(block_size, height, width)
    gamma = rate / k**2 * height * width / ((height - k + 1) * (width - k + 1))
    rows = np.array([min(r, height - k) - max(0, r - k + 1) + 1 for r in range(height)], np.float64)
    cols = np.array([min(c, width - k) - max(0, c - k + 1) + 1 for c in range(width)], np.float64)
    covering = rows[:, None] * cols[None, :]
    return 1.0 - (1.0 - gamma) ** covering


def _reference_block_mask(seeds, block_size):
    """numpy port of the MetaOptNet / FEAT `_compute_block_mask` (channels last): pad the seeds, then set
    the k x k offsets of every non-zero seed to 1 (an index scatter)."""
    k = block_size
    left, right = (k - 1) // 2, k // 2
    padded = np.pad(seeds, [(0, 0), (left, right), (left, right), (0, 0)])
    for b, i, j, ch in zip(*np.nonzero(seeds)):
        padded[b, i:i + k, j:j + k, ch] = 1.0
    return padded


def test_inference_and_rate_zero_are_identity():
    x = np.random.rand(4, 10, 10, 8).astype("float32")
    layer = zoo.layers.DropBlock(0.3, 3, seed=1)
    np.testing.assert_array_equal(to_numpy(layer(x)), x)
    np.testing.assert_array_equal(to_numpy(layer(x, training=False)), x)
    np.testing.assert_array_equal(to_numpy(zoo.layers.DropBlock(0.0, 3)(x, training=True)), x)
    assert not np.array_equal(to_numpy(layer(x, training=True)), x)


@pytest.mark.parametrize("block_size", [1, 3, 5])
def test_block_mask_matches_reference_scatter(block_size):
    rng = np.random.default_rng(0)
    h = w = 9
    seeds = (rng.random((3, h - block_size + 1, w - block_size + 1, 4)) < 0.08).astype("float32")
    ours = to_numpy(block_mask_from_seeds(keras.ops.convert_to_tensor(seeds), block_size))
    ref = _reference_block_mask(seeds, block_size)
    assert ours.shape == ref.shape == (3, h, w, 4)
    np.testing.assert_array_equal(ours, ref)
    single = np.zeros((1, h - block_size + 1, w - block_size + 1, 1), "float32")
    single[0, 2, 1, 0] = 1.0                                  # one seed -> one k x k square at (2, 1)
    square = np.zeros((1, h, w, 1), "float32")
    square[0, 2:2 + block_size, 1:1 + block_size, 0] = 1.0
    np.testing.assert_array_equal(to_numpy(block_mask_from_seeds(single, block_size)), square)


def test_dropped_units_are_contiguous_inside_squares():
    k, h, w = 3, 12, 12
    y = to_numpy(zoo.layers.DropBlock(0.3, k, seed=3)(np.ones((16, h, w, 4), "float32"), training=True))
    dropped = y == 0
    assert dropped.any() and not dropped.all()
    # every k x k window fully inside the map that is entirely dropped
    full = np.zeros((16, h - k + 1, w - k + 1, 4), bool)
    for i in range(h - k + 1):
        for j in range(w - k + 1):
            full[:, i, j] = dropped[:, i:i + k, j:j + k].all(axis=(1, 2))
    # ... and their union must be exactly the dropped set (no isolated units, no clipped blocks)
    covered = _reference_block_mask(full.astype("float32"), k).astype(bool)
    np.testing.assert_array_equal(covered, dropped)
    kept = y[~dropped]
    np.testing.assert_allclose(kept, kept[0], rtol=1e-6)      # one global scale for the batch


@pytest.mark.parametrize(
    "shape, rate, block_size",
    [((1024, 10, 10, 16), 0.1, 5),      # block 3 of ResNet-12 at 84x84
     ((512, 6, 12, 16), 0.2, 4),        # H != W: gamma uses both sizes
     ((2048, 4, 4, 16), 0.1, 5),        # map smaller than the block: k = 4, whole channels
     ((256, 8, 8, 16), 0.1, 1)],        # k = 1: ordinary dropout
)
def test_drop_probability_matches_exact_expectation(shape, rate, block_size):
    x = np.ones(shape, "float32")
    y = to_numpy(zoo.layers.DropBlock(rate, block_size, seed=7)(x, training=True))
    dropped = y == 0
    expected = _expected_drop_probability(shape[1], shape[2], rate, block_size)
    # overall fraction: exactly computable, and close to (a little under, from overlaps) the rate
    assert abs(dropped.mean() - expected.mean()) < 0.05 * expected.mean()
    assert 0.85 * rate < expected.mean() <= rate + 1e-12
    # per position (border units are dropped less often: fewer candidate blocks cover them)
    per_position = dropped.mean(axis=(0, 3))
    n = shape[0] * shape[3]
    tol = 5 * np.sqrt(expected * (1 - expected) / n) + 1e-3
    assert np.all(np.abs(per_position - expected) < tol), np.abs(per_position - expected).max()
    # linearity check of Eq. (1): expected covered units counting overlaps = rate * H * W
    k = min(block_size, shape[1], shape[2])
    gamma = drop_block_gamma(shape[1], shape[2], rate, k)
    assert np.isclose(gamma * (shape[1] - k + 1) * (shape[2] - k + 1) * k * k, rate * shape[1] * shape[2])


def test_small_map_drops_whole_channels():
    # block 5 on a 3x3 map: k = 3, gamma = rate, a block is the whole channel (block 4 at 84x84 is 5x5)
    y = to_numpy(zoo.layers.DropBlock(0.5, 5, seed=2)(np.ones((64, 3, 3, 8), "float32"), training=True))
    dropped = (y == 0).transpose(0, 3, 1, 2).reshape(64 * 8, 9)
    assert np.all(dropped.all(axis=1) | ~dropped.any(axis=1))
    assert 0.35 < dropped.all(axis=1).mean() < 0.65
    # on a 2x3 map k = 2: 2x2 blocks, never the third column without the second
    y = to_numpy(zoo.layers.DropBlock(0.5, 5, seed=2)(np.ones((64, 2, 3, 8), "float32"), training=True))
    dropped = y == 0
    assert np.all(dropped[:, 0] == dropped[:, 1])             # a 2x2 block spans both rows
    assert np.all(~dropped[:, :, 2] | dropped[:, :, 1])


def test_rescaling_keeps_the_expectation():
    # constant input: the global count / count_ones rescale restores the mean exactly
    y = to_numpy(zoo.layers.DropBlock(0.2, 3, seed=5)(np.full((8, 10, 10, 4), 2.5, "float32"), training=True))
    assert (y == 0).any()
    np.testing.assert_allclose(y.mean(), 2.5, rtol=1e-5)
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 2.5 * y.size / kept.size, rtol=1e-5)
    # random input, averaged over many independent masks: E[y] = x (1 - p) / (1 - mean(p)) per unit, with p
    # the unit's drop probability. The global rescale is exact on average over the map, but border units
    # (dropped less often) come out a little above x and central ones a little below, as in the reference.
    x = np.random.default_rng(1).uniform(0.5, 1.5, (1, 8, 8, 2)).astype("float32")
    tiled = np.repeat(x, 4000, axis=0)
    y = to_numpy(zoo.layers.DropBlock(0.1, 3, seed=6)(tiled, training=True))
    p = _expected_drop_probability(8, 8, 0.1, 3)[None, :, :, None]
    np.testing.assert_allclose(y.mean(axis=0), (x * (1 - p) / (1 - p.mean()))[0], rtol=0.03)
    np.testing.assert_allclose(((1 - p) / (1 - p.mean())).mean(), 1.0, rtol=1e-12)
    assert (1 - p[0, 0, 0, 0]) / (1 - p.mean()) > 1.05 > 0.95 > (1 - p[0, 4, 4, 0]) / (1 - p.mean())


def test_gradient_is_the_mask_times_the_scale():
    x = np.random.default_rng(2).uniform(0.5, 1.5, (4, 8, 8, 3)).astype("float32")

    def fn(t):
        return drop_block(t, 0.2, 3, seed=11)

    y = to_numpy(fn(keras.ops.convert_to_tensor(x)))
    _, (g,) = value_and_grad(fn, x)
    assert np.isfinite(g).all()
    assert (g == 0).any() and (g > 1).any()
    np.testing.assert_allclose(g * x, y, rtol=1e-5)           # dy/dx = mask * count / count_ones


def test_warmup_ramps_the_rate_and_counts_training_calls_only():
    x = np.ones((8, 10, 10, 4), "float32")
    layer = zoo.layers.DropBlock(0.1, 5, warmup_steps=10, seed=4)
    for _ in range(3):
        layer(x, training=True)
    layer(x, training=False)
    assert int(to_numpy(layer.step)) == 3
    np.testing.assert_allclose(float(to_numpy(layer.current_rate())), 0.03, rtol=1e-6)
    for _ in range(9):
        layer(x, training=True)
    np.testing.assert_allclose(float(to_numpy(layer.current_rate())), 0.1, rtol=1e-6)   # capped
    tiny = zoo.layers.DropBlock(0.1, 5, warmup_steps=10**7, seed=4)   # first call: rate 1e-8
    np.testing.assert_array_equal(to_numpy(tiny(x, training=True)), x)
    assert zoo.layers.DropBlock(0.1, 5).current_rate() == 0.1


def test_fit_advances_the_schedule_on_every_backend():
    # the step counter is a non-trainable weight updated inside the compiled train step (JAX: stateless)
    inputs = keras.Input((6, 6, 2))
    x = keras.layers.Conv2D(2, 1, name="conv")(inputs)
    x = zoo.layers.DropBlock(0.2, 3, warmup_steps=100, seed=1, name="db")(x)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    model.compile("sgd", "mse")
    history = model.fit(np.random.rand(12, 6, 6, 2).astype("float32"), np.zeros((12, 2), "float32"),
                        batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert int(to_numpy(model.get_layer("db").step)) == 3
    model.predict(np.zeros((4, 6, 6, 2), "float32"), verbose=0)
    assert int(to_numpy(model.get_layer("db").step)) == 3


def test_serialisation_round_trip():
    layer = zoo.layers.DropBlock(rate=0.15, block_size=3, warmup_steps=100, seed=9, name="db")
    check_layer(layer, np.random.default_rng(0).random((2, 6, 6, 2)).astype("float32"), expected_shape=(2, 6, 6, 2),
                mixed_precision="policy")
    assert (layer.rate, layer.block_size, layer.warmup_steps, layer.seed) == (0.15, 3, 100, 9)

    inputs = keras.Input((6, 6, 2))
    model = keras.Model(inputs, zoo.layers.DropBlock(0.15, 3, warmup_steps=100, name="db")(inputs))
    x = np.random.rand(2, 6, 6, 2).astype("float32")
    for _ in range(5):
        model(x, training=True)
    loaded = roundtrip(model)
    assert int(to_numpy(loaded.get_layer("db").step)) == 5            # the schedule is saved
    np.testing.assert_array_equal(to_numpy(loaded(x, training=False)), x)


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(rate=1.0), "rate"), (dict(rate=-0.1), "rate"), (dict(rate="0.1"), "rate"), (dict(rate=True), "rate"),
     (dict(block_size=0), "block_size"), (dict(block_size=2.5), "block_size"),
     (dict(warmup_steps=-1), "warmup_steps"), (dict(seed=-1), "seed"), (dict(seed="a"), "seed")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        zoo.layers.DropBlock(**kwargs)


def test_bad_input_shapes():
    with pytest.raises(ValueError, match="rank 4"):
        zoo.layers.DropBlock(0.1, 3)(keras.Input((10, 10)))
    with pytest.raises(ValueError, match="height and width"):
        zoo.layers.DropBlock(0.1, 3)(keras.Input((None, None, 3)))
