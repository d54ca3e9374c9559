"""zoo.metrics.evaluate_rank: equal to a per-query loop written from the protocol's definition (float64, random
data with repeated pids, several cameras, ties and queries without a valid match) in any chunking; both AP
variants, mINP and the CUHK03 single-shot CMC on hand-computed cases; features + geometry == precomputed
distances; bad input."""

import numpy as np
import pytest

import zoo.geometry
from zoo.metrics.reid import evaluate_rank


def loop_reference(d, qp, gp, qc, gc, max_rank, ap):
    """The protocol, one query at a time, from its definition (no vectorisation to get wrong)."""
    cmcs, aps, inps = [], [], []
    for i in range(len(qp)):
        order = sorted(range(d.shape[1]), key=lambda j: (d[i, j], j))          # stable: ties by gallery index
        kept = [j for j in order if not (gp[j] == qp[i] and gc[j] == qc[i])]
        m = [1 if gp[j] == qp[i] else 0 for j in kept]
        if sum(m) == 0:
            continue
        hits = [r + 1 for r, v in enumerate(m) if v]                           # 1-based kept ranks r_t
        cmcs.append([1.0 if hits[0] <= k else 0.0 for k in range(1, max_rank + 1)])
        total = 0.0
        for t, r in enumerate(hits, start=1):
            if ap == "non_interpolated":
                total += t / r
            else:
                before = 1.0 if r == 1 else (t - 1) / (r - 1)
                total += (before + t / r) / 2
        aps.append(total / len(hits))
        inps.append(len(hits) / hits[-1])
    return np.mean(cmcs, axis=0), float(np.mean(aps)), float(np.mean(inps)), len(aps)


def random_case(nq=23, ng=61, ids=9, cams=3, seed=0, ties=True):
    rng = np.random.default_rng(seed)
    qp = rng.integers(0, ids, nq)
    gp = rng.integers(0, ids + 2, ng)                 # some gallery-only ids (distractors)
    qp[0] = ids + 5                                   # a query whose pid is not in the gallery at all
    qc, gc = rng.integers(0, cams, nq), rng.integers(0, cams, ng)
    gp[gp == qp[1]] = ids + 7                         # query 1: its pid only in its own camera -> no valid match
    gp[:2], gc[:2] = qp[1], qc[1]
    d = rng.random((nq, ng))
    if ties:
        d = np.round(d * 8) / 8                       # many exact ties between hits and misses
    return d, qp, gp, qc, gc


@pytest.mark.parametrize("ap", ["non_interpolated", "market"])
@pytest.mark.parametrize("ties", [False, True])
def test_equals_loop_reference(ap, ties):
    d, qp, gp, qc, gc = random_case(ties=ties, seed=int(ties))
    cmc, mean_ap, minp, valid = loop_reference(d, qp, gp, qc, gc, 20, ap)
    for dist in (d, d.astype(np.float32)):            # float64 (argsort path) and float32 (sort-key path)
        if dist.dtype == np.float32 and not ties:
            cmc, mean_ap, minp, valid = loop_reference(dist.astype(np.float64), qp, gp, qc, gc, 20, ap)
        for max_elements in (2 ** 24, 61 * 4, 1):     # one block, 4-row blocks, one row at a time
            r = evaluate_rank(dist, qp, gp, qc, gc, max_rank=20, ap=ap, max_elements=max_elements)
            assert r["num_valid_queries"] == valid <= len(qp) - 2
            assert r["num_queries"] == len(qp) and r["ap"] == ap and r["distance"] == "given"
            np.testing.assert_allclose(r["cmc"], cmc, rtol=0, atol=1e-12)
            assert abs(r["mAP"] - mean_ap) < 1e-12 and abs(r["mINP"] - minp) < 1e-12
            assert r["rank1"] == r["cmc"][0] and r["rank5"] == r["cmc"][4] and r["rank10"] == r["cmc"][9]


def test_negative_distances_and_signed_zero():
    d, qp, gp, qc, gc = random_case(seed=3)
    d = (d - 0.5).astype(np.float32)                 # negative "distances" (e.g. -similarity) are ranked too
    d[2, :6] = [-0.0, 0.0, -0.0, 0.0, -1.0, -1.0]    # -0.0 == 0.0: a tie, broken by index
    cmc, mean_ap, minp, _ = loop_reference(d.astype(np.float64), qp, gp, qc, gc, 10, "non_interpolated")
    r = evaluate_rank(d, qp, gp, qc, gc, max_rank=10)
    np.testing.assert_allclose(r["cmc"], cmc, atol=1e-12)
    assert abs(r["mAP"] - mean_ap) < 1e-12 and abs(r["mINP"] - minp) < 1e-12


def test_hand_computed_ap_variants_and_minp():
    # One query (pid 1, cam 0). Gallery ranked by distance: [g0 pid1 cam0 (same cam: removed),
    # g1 pid2, g2 pid1 cam1 (hit), g3 pid3, g4 pid1 cam2 (hit), g5 pid4].
    # Kept list: g1 miss, g2 hit (r_1 = 2), g3 miss, g4 hit (r_2 = 4), g5 miss; R = 2.
    #   non-interpolated AP = (1/2)(1/2 + 2/4) = 0.5
    #   market AP = (1/2)[((0/1) + 1/2)/2 + ((1/3) + 2/4)/2] = (1/2)(0.25 + 0.416666...) = 0.3333...
    #   INP = R / r_R = 2/4 = 0.5;  CMC = [0, 1, 1, ...]
    d = np.array([[0.0, 0.1, 0.2, 0.3, 0.4, 0.5]])
    qp, qc = np.array([1]), np.array([0])
    gp, gc = np.array([1, 2, 1, 3, 1, 4]), np.array([0, 1, 1, 1, 2, 1])
    r = evaluate_rank(d, qp, gp, qc, gc, max_rank=5, return_per_query=True)
    assert r["mAP"] == pytest.approx(0.5, abs=1e-15) and r["mINP"] == pytest.approx(0.5, abs=1e-15)
    np.testing.assert_array_equal(r["cmc"], [0, 1, 1, 1, 1])
    assert r["rank1"] == 0.0 and r["rank5"] == 1.0 and r["first_match_rank"].tolist() == [2]
    m = evaluate_rank(d, qp, gp, qc, gc, max_rank=5, ap="market")
    assert m["mAP"] == pytest.approx(0.5 * (0.25 + (1 / 3 + 0.5) / 2), abs=1e-15) and m["ap"] == "market"
    # A hit at rank 1: p⁻ = 1 (market), so AP = (1 + 1)/2 = 1, equal to the non-interpolated 1/1.
    one = evaluate_rank(np.array([[0.0, 1.0]]), [1], [1, 2], [0], [1, 1], max_rank=2, ap="market")
    assert one["mAP"] == 1.0 and one["mINP"] == 1.0


def test_same_camera_exclusion_changes_rank1_and_invalid_query_is_skipped():
    gp, gc = np.array([7, 7, 8]), np.array([0, 1, 0])
    d = np.array([[0.1, 0.5, 0.3], [0.1, 0.2, 0.3]])
    # query 0 from cam 1: the nearest g0 (pid 7, cam 0) is a hit -> rank-1 = 1.
    # query 1 from cam 0: g0 is removed, the kept list is g1 (hit)... with g1 at 0.2 before g2 -> still rank 1;
    # make it later than g2 to see the change:
    d[1] = [0.1, 0.4, 0.3]
    r = evaluate_rank(d, [7, 7], gp, [1, 0], gc, max_rank=3, return_per_query=True)
    assert r["first_match_rank"].tolist() == [1, 2] and r["rank1"] == 0.5
    # the same query without the exclusion (another camera id) would be rank 1
    assert evaluate_rank(d[1:], [7], gp, [5], gc, max_rank=3)["rank1"] == 1.0
    # a query whose only same-pid gallery item is in its own camera has no valid match: skipped
    r = evaluate_rank(np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]), [8, 7], gp, [0, 1], gc, max_rank=3,
                      return_per_query=True)
    assert r["num_valid_queries"] == 1 and r["num_queries"] == 2 and r["valid"].tolist() == [False, True]
    assert np.isnan(r["ap_per_query"][0]) and r["first_match_rank"][0] == 0


def test_cuhk03_single_shot_seeded():
    # Kept list of the query (pid 1, cam 0): ids 2, 2, 1, 3 at ranks 1..4. One image per identity is kept:
    # identity 2 keeps rank 1 or 2 (both before the hit), identity 3 keeps rank 4 -> the hit is always 2nd.
    d = np.array([[0.1, 0.2, 0.3, 0.4]])
    gp, gc = np.array([2, 2, 1, 3]), np.array([1, 1, 1, 1])
    r = evaluate_rank(d, [1], gp, [0], gc, max_rank=3, cuhk03_classic=True)
    np.testing.assert_array_equal(r["cmc"], [0, 1, 1])
    assert r["mAP"] == pytest.approx(1 / 3)                # AP on the full kept list: hit at rank 3
    # Two hits (ranks 1 and 3 of [1, 2, 1]): the draw keeps one of them; identity 2 sits at rank 2, so the hit is
    # first when image 0 is drawn, second otherwise: rank-1 is the fraction of draws picking image 0.
    gp2, gc2 = np.array([1, 2, 1]), np.array([1, 1, 2])
    rng_runs = [evaluate_rank(np.array([[0.1, 0.2, 0.3]]), [1], gp2, [0], gc2, max_rank=2, cuhk03_classic=True,
                              seed=s, num_repeats=200) for s in (0, 0, 1)]
    assert rng_runs[0]["rank1"] == rng_runs[1]["rank1"] != rng_runs[2]["rank1"]   # seeded, and seeds differ
    assert 0.35 < rng_runs[0]["rank1"] < 0.65 and rng_runs[0]["cmc"][1] == 1.0


def test_features_equal_precomputed_distances():
    rng = np.random.default_rng(4)
    q, g = rng.normal(size=(20, 8)).astype(np.float32), rng.normal(size=(50, 8)).astype(np.float32)
    qp, gp = rng.integers(0, 6, 20), rng.integers(0, 6, 50)
    qc, gc = rng.integers(0, 2, 20), rng.integers(0, 2, 50)
    for name in ("euclidean", "cosine", "angle"):
        geo = zoo.geometry.get(name)
        d = np.asarray(zoo.geometry.get(name).pairwise_distance(q.astype(np.float64), g.astype(np.float64)))
        want = evaluate_rank(d, qp, gp, qc, gc, max_rank=10)
        for me in (2 ** 24, 150):
            got = evaluate_rank(None, qp, gp, qc, gc, max_rank=10, query_features=q, gallery_features=g,
                                geometry=geo, max_elements=me)
            np.testing.assert_allclose(got["cmc"], want["cmc"], atol=1e-12)
            assert abs(got["mAP"] - want["mAP"]) < 1e-12 and abs(got["mINP"] - want["mINP"]) < 1e-12
        assert got["distance"] == name
    ball = zoo.geometry.get("poincare", c=1.0)
    qb, gb = 0.3 * np.tanh(q), 0.3 * np.tanh(g)
    d = np.asarray(ball.pairwise_distance(qb.astype(np.float64), gb.astype(np.float64)))
    want = evaluate_rank(d, qp, gp, qc, gc, max_rank=10)
    got = evaluate_rank(None, qp, gp, qc, gc, max_rank=10, query_features=qb, gallery_features=gb,
                        geometry=ball, max_elements=100)
    assert got["distance"] == "poincare(c=1)"
    np.testing.assert_allclose(got["cmc"], want["cmc"], atol=1e-12)
    assert abs(got["mAP"] - want["mAP"]) < 1e-6


def test_junk_pids_and_small_gallery_warning():
    d, qp, gp, qc, gc = random_case(seed=5)
    gp[3:9] = -1
    keep = gp != -1
    want = evaluate_rank(d[:, keep], qp, gp[keep], qc, gc[keep], max_rank=10)
    got = evaluate_rank(d, qp, gp, qc, gc, max_rank=10, junk_pids=(-1,), verbose=True)
    assert got["mAP"] == want["mAP"] and np.array_equal(got["cmc"], want["cmc"])
    with pytest.warns(UserWarning, match="shrunk to length 6"):
        r = evaluate_rank(np.arange(6.0)[None], [1], [1, 2, 3, 4, 5, 6], [0], [1] * 6)
    assert len(r["cmc"]) == 6 and r["max_rank"] == 6 and r["rank10"] == 1.0


def test_bad_input():
    d, qp, gp, qc, gc = random_case()
    with pytest.raises(ValueError, match="`query_pids`"):
        evaluate_rank(d, qp[:-1], gp, qc, gc)
    with pytest.raises(ValueError, match="`gallery_cams`"):
        evaluate_rank(d, qp, gp, qc, gc[:-1])
    with pytest.raises(ValueError, match="`ap` must be one of"):
        evaluate_rank(d, qp, gp, qc, gc, ap="interpolated")
    bad = d.copy()
    bad[5, 2] = np.nan
    with pytest.raises(ValueError, match="query 5"):
        evaluate_rank(bad, qp, gp, qc, gc)
    feats = np.ones((len(qp), 3), np.float32)
    feats[4, 1] = np.inf
    with pytest.raises(ValueError, match="`query_features`.*row 4"):
        evaluate_rank(None, qp, gp, qc, gc, query_features=feats, gallery_features=np.ones((len(gp), 3)))
    with pytest.raises(ValueError, match="not both"):
        evaluate_rank(d, qp, gp, qc, gc, query_features=feats)
    with pytest.raises(ValueError, match="`gallery_features` are both required"):
        evaluate_rank(None, qp, gp, qc, gc, query_features=feats)
    with pytest.raises(ValueError, match="no query has a valid match"):
        evaluate_rank(d, qp + 100, gp, qc, gc)
    with pytest.raises(ValueError, match="outside the Poincaré ball"):
        evaluate_rank(None, qp, gp, qc, gc, query_features=np.full((len(qp), 2), 0.9),
                      gallery_features=np.zeros((len(gp), 2)), geometry="poincare")
    with pytest.raises(ValueError, match="`max_rank`"):
        evaluate_rank(d, qp, gp, qc, gc, max_rank=0)


def test_heavy_ties_use_the_row_sort_and_agree():
    # two identities, distances on a grid of 5 values: > 16 tied same-pid entries per row (stable index sort path)
    rng = np.random.default_rng(7)
    qp, gp, qc, gc = rng.integers(0, 2, 6), rng.integers(0, 2, 80), rng.integers(0, 3, 6), rng.integers(0, 3, 80)
    d = np.round(rng.random((6, 80)) * 4) / 4
    assert np.bincount(np.nonzero(gp[None] == qp[:, None])[0]).min() > 16
    for ap in ("non_interpolated", "market"):
        cmc, mean_ap, minp, valid = loop_reference(d, qp, gp, qc, gc, 10, ap)
        r = evaluate_rank(d.astype(np.float32), qp, gp, qc, gc, max_rank=10, ap=ap)
        np.testing.assert_allclose(r["cmc"], cmc, atol=1e-12)
        assert abs(r["mAP"] - mean_ap) < 1e-12 and abs(r["mINP"] - minp) < 1e-12 and r["num_valid_queries"] == valid
