"""ExponentialTripletLoss against a float64 numpy reference (mean inside the log and per-triplet, center
term, c_n >= 1), zero-distance / single-class gradients, a digits training smoke, bad input, serialization."""

import numpy as np
import pytest

from tests.harness import check_loss
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from tests.losses.test_triplet import brute_hardest, ref_dist
from zoo.losses import ExponentialTripletLoss
from zoo.losses.exponential_triplet import exponential_triplet_loss


def ref_exp(x, y, k, overlap, kind="euclidean", scale=1.0, center=0.0, inside=True, stride=1):
    d = ref_dist(x, kind) / (2.0 if kind == "cosine" else 2.0 * scale)
    pairs = brute_hardest(d, y, stride)
    p = np.array([d[a, i] for a, (i, _) in enumerate(pairs) if i is not None])
    q = np.array([d[a, j] for a, (_, j) in enumerate(pairs) if j is not None])
    cn = overlap / k

    def term(excess, bound):
        if bound <= 0 or len(excess) == 0:
            return 0.0
        if inside:
            return -np.log(max(1 - excess.mean() / bound, 1e-7))
        return np.mean(-np.log(np.maximum(1 - excess / bound, 1e-7)))

    out = term(np.maximum(p - cn, 0), 1 - cn) + term(np.maximum(0.5 - q, 0), 0.5)
    return out + center * term(np.maximum(p - cn / 2, 0), 1 - cn / 2)


def batch(b=12, dim=5, k=4, seed=0, radius=0.45):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(b, dim))
    x = radius * x / np.linalg.norm(x, axis=1, keepdims=True) * rng.uniform(0.2, 1.0, size=(b, 1))
    return x.astype(np.float32), rng.integers(0, k, size=b)


@pytest.mark.parametrize("kind,inside,center,overlap", [
    ("euclidean", True, 0.0, 1.2), ("euclidean", False, 1.0, 2.0), ("cosine", True, 1.0, 0.0),
    ("cosine", False, 0.5, 1.2), ("euclidean", True, 1.0, 40.0)])
def test_matches_numpy_reference(kind, inside, center, overlap):
    for seed in (0, 1):
        x, y = batch(seed=seed)
        loss = ExponentialTripletLoss(10, overlap, kind, embedding_scale=0.5, center_weight=center,
                                      mean_inside_log=inside, anchor_stride=1 + seed)
        ref = ref_exp(x, y, 10, overlap, kind, 0.5, center, inside, 1 + seed)
        assert float(to_numpy(loss(y, x))) == pytest.approx(ref, rel=2e-5, abs=2e-6)


def test_log_argument_is_clamped_at_log_eps():
    # All points far apart (p >> c_n): the reference's ε = 1e-20 would give log(0) = -inf.
    x = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], np.float32)
    y = np.array([0, 0, 1, 1])
    v, (g,) = value_and_grad(lambda e: exponential_triplet_loss(y, e, 10, overlap_coef=0.0), x)
    assert_all_finite(v, g)
    assert float(v) == pytest.approx(-np.log(1e-7), rel=1e-5)


def test_finite_gradients_identical_embeddings_and_single_class():
    x = np.full((6, 3), 0.3, np.float32)
    y = np.array([0, 0, 1, 1, 2, 2])
    for kind in ("euclidean", "cosine"):
        v, (g,) = value_and_grad(
            lambda e, kind=kind: exponential_triplet_loss(y, e, 3, distance=kind, center_weight=1.0), x)
        assert_all_finite(v, g)
        assert float(v) == pytest.approx(-np.log(1e-7), rel=1e-5)   # q = 0: the negative term saturates
    v, (g,) = value_and_grad(lambda e: exponential_triplet_loss(np.zeros(6, int), e, 3, center_weight=1.0),
                             batch(6)[0])
    assert_all_finite(v, g)
    assert float(v) >= 0.0


def test_no_positive_pair_is_a_documented_zero_of_the_positive_terms():
    x, _ = batch(b=4)
    y = np.arange(4)
    got = float(to_numpy(exponential_triplet_loss(y, x, 10, center_weight=1.0)))
    assert got == pytest.approx(ref_exp(x, y, 10, 1.2, center=1.0), rel=1e-5)


def test_training_smoke_on_digits_loss_falls():
    import keras

    import zoo.data
    import zoo.layers

    (xtr, ytr), _ = zoo.data.digits()
    x = (xtr[:480].reshape(480, -1) / 255.0).astype(np.float32)
    order = np.argsort(ytr[:480], kind="stable")
    # PK-like layout: 8 classes x 4 samples per batch of 32
    x, y = x[order], ytr[:480][order]
    idx = np.concatenate([np.where(y == c)[0][:40] for c in range(8)]).reshape(8, 10, 4)
    idx = idx.transpose(1, 0, 2).reshape(-1)
    x, y = x[idx], y[idx]
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16), zoo.layers.EmbeddingSpace("l2")])
    loss = ExponentialTripletLoss(10, center_weight=1.0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=loss)
    before = float(model.evaluate(x, y, batch_size=32, verbose=0))
    model.fit(x, y, batch_size=32, epochs=6, shuffle=False, verbose=0)
    after = float(model.evaluate(x, y, batch_size=32, verbose=0))
    assert np.isfinite(after) and after < 0.8 * before, (before, after)


def test_bad_input():
    x, y = batch()
    loss = ExponentialTripletLoss(10)
    with pytest.raises(ValueError, match="y_true"):
        loss(np.stack([y, y], 1), x)
    with pytest.raises(ValueError, match="num_classes"):
        ExponentialTripletLoss(1)
    with pytest.raises(ValueError, match="overlap_coef"):
        ExponentialTripletLoss(10, overlap_coef=-1)
    with pytest.raises(ValueError, match="max_distance"):
        ExponentialTripletLoss(10, distance="poincare")


def test_keras_object_checks():
    x, y = batch()
    loss = ExponentialTripletLoss(7, overlap_coef=2.0, distance="poincare", max_distance=8.0, pos_weight=0.5,
                                  neg_weight=2.0, center_weight=1.0, mean_inside_log=False, anchor_stride=3)
    check_loss(loss, y, x)
    copy = ExponentialTripletLoss.from_config(loss.get_config())
    assert copy.get_config() == loss.get_config()
    assert copy.c_n == pytest.approx(2.0 / 7)


def ref_filtered(x, y, k, overlap, sample_filter, margin=None, kind="euclidean", stride=1, center=0.0):
    """The reference's triplet_sampler_4 filters as its plain loops (raw distances, one anchor per stride), then
    exp13 with the mean inside the log over the anchors that kept a pair."""
    raw = ref_dist(x, kind)
    big_d = 2.0
    d = raw / big_d
    cn = overlap / k
    m = cn * big_d if margin is None else margin        # raw-distance margin (auto: overlap·D/K)
    ps, qs, pcs = [], [], []
    for a in range(0, len(y), stride):
        pos = [j for j in range(len(y)) if j != a and y[j] == y[a]]
        if pos:
            pcs.append(max(d[a, j] for j in pos))
        if sample_filter == "abs_margin":
            pos = [j for j in pos if not d[a, j] < cn]
        dp = max((raw[a, j] for j in pos), default=None)
        neg = []
        for j in range(len(y)):
            if y[j] == y[a]:
                continue
            if sample_filter == "abs_margin" and raw[a, j] / big_d > 0.5:
                continue
            if sample_filter in ("hard", "semi_hard") and (dp is None or dp + m <= raw[a, j]):
                continue
            if sample_filter == "semi_hard" and raw[a, j] <= dp:
                continue
            neg.append(j)
        if dp is not None:
            ps.append(dp / big_d)
        if neg:
            qs.append(min(d[a, j] for j in neg))

    def term(vals, target, bound):
        if bound <= 0 or not vals:
            return 0.0
        excess = np.maximum(np.array(vals) - target, 0) if target is not None else np.maximum(0.5 - np.array(vals), 0)
        return -np.log(max(1 - excess.mean() / bound, 1e-7))

    return term(ps, cn, 1 - cn) + term(qs, None, 0.5) + center * term(pcs, cn / 2, 1 - cn / 2)


def crafted():
    """Three classes on a line (Euclidean, D = 2): anchors with easy, hard and semi-hard negatives."""
    x = np.array([[0.0, 0], [0.1, 0], [0.45, 0], [0.5, 0], [0.2, 0], [0.9, 0], [1.3, 0], [-0.4, 0], [-0.35, 0]],
                 np.float32)
    y = np.array([0, 0, 1, 1, 0, 1, 2, 2, 2])
    return x, y


@pytest.mark.parametrize("sample_filter,margin", [("hard", None), ("hard", 0.1), ("semi_hard", None),
                                                  ("semi_hard", 0.4), ("abs_margin", None)])
def test_sample_filters_match_the_reference_loops(sample_filter, margin):
    x, y = crafted()
    for overlap, stride, center in ((0.3, 1, 0.0), (1.2, 3, 1.0)):
        want = ref_filtered(x, y, 3, overlap, sample_filter, margin, stride=stride, center=center)
        got = exponential_triplet_loss(y, x, 3, overlap_coef=overlap, anchor_stride=stride, center_weight=center,
                                       sample_filter=sample_filter, filter_margin=margin)
        assert float(to_numpy(got)) == pytest.approx(want, rel=1e-5, abs=1e-6), (overlap, stride)
    for seed in (0, 1):
        xb, yb = batch(seed=seed)
        want = ref_filtered(xb, yb, 4, 0.8, sample_filter, margin)
        got = exponential_triplet_loss(yb, xb, 4, overlap_coef=0.8, sample_filter=sample_filter, filter_margin=margin)
        assert float(to_numpy(got)) == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_sample_filters_change_the_loss_as_they_should_and_none_is_unchanged():
    x, y = crafted()
    base = float(to_numpy(exponential_triplet_loss(y, x, 3, overlap_coef=0.3)))
    for off in (None, "none"):
        assert float(to_numpy(exponential_triplet_loss(y, x, 3, overlap_coef=0.3, sample_filter=off))) == base
    assert base == pytest.approx(ref_exp(x, y, 3, 0.3, scale=1.0), rel=1e-5)
    # abs_margin averages only over the pairs outside their targets: both terms can only grow.
    absm = float(to_numpy(exponential_triplet_loss(y, x, 3, overlap_coef=0.3, sample_filter="abs_margin")))
    assert absm > base
    # hard with a zero margin keeps only negatives closer than the hardest positive (anchors without one leave
    # the negative mean); a huge margin keeps every negative (= no filter).
    hard0 = float(to_numpy(exponential_triplet_loss(y, x, 3, overlap_coef=0.3, sample_filter="hard",
                                                    filter_margin=0.0)))
    wide = float(to_numpy(exponential_triplet_loss(y, x, 3, overlap_coef=0.3, sample_filter="hard",
                                                   filter_margin=100.0)))
    assert wide == pytest.approx(base, rel=1e-6) and hard0 != base
    # semi_hard drops the negatives closer than the hardest positive: the kept hardest negatives are farther.
    semi = float(to_numpy(exponential_triplet_loss(y, x, 3, overlap_coef=0.3, sample_filter="semi_hard",
                                                   filter_margin=100.0)))
    assert semi < base
    v, (g,) = value_and_grad(lambda e: exponential_triplet_loss(y, e, 3, overlap_coef=0.3, sample_filter="semi_hard"),
                             x)
    assert_all_finite(v, g)


def test_sample_filter_config_and_bad_values():
    loss = ExponentialTripletLoss(10, sample_filter="semi_hard", filter_margin=0.2)
    cfg = loss.get_config()
    assert cfg["sample_filter"] == "semi_hard" and cfg["filter_margin"] == 0.2
    assert ExponentialTripletLoss.from_config(cfg).get_config() == cfg
    assert ExponentialTripletLoss(10, sample_filter="none").sample_filter is None
    old = {k: v for k, v in ExponentialTripletLoss(10).get_config().items() if k not in ("sample_filter",
                                                                                            "filter_margin")}
    assert ExponentialTripletLoss.from_config(old).sample_filter is None      # configs saved before the filters
    with pytest.raises(ValueError, match="sample_filter"):
        ExponentialTripletLoss(10, sample_filter="easy")
    with pytest.raises(ValueError, match="filter_margin"):
        ExponentialTripletLoss(10, sample_filter="hard", filter_margin=-0.1)
