"""The loop simulation's parts: the split and the simulated reviewer, on a real store."""

import numpy as np
import pytest

from saltviewer import SaltviewerError, open_dataset
from saltviewer.explore import coverage_classes as coverage_class
from saltviewer.loop import loop_split, simulate_review
from saltviewer.store import CurationStore, Proposal


def _masks(n, seed=0):
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, 101, 101), bool)
    for k in range(n):
        if rng.random() < 0.6:
            masks[k, :int(rng.integers(1, 101))] = True
    return masks


def test_split_parts_never_overlap_and_keep_the_coverage_mix():
    masks = _masks(400)
    ids = [f"{k:010x}" for k in range(400)]
    parts = loop_split(ids, masks, n_labelled=60, n_eval=100, seed=3)
    sets = {name: set(v) for name, v in parts.items()}
    assert not sets["labelled"] & sets["pool"] and not sets["labelled"] & sets["eval"]
    assert not sets["pool"] & sets["eval"]
    assert sets["labelled"] | sets["pool"] | sets["eval"] == set(ids)
    assert abs(len(parts["labelled"]) - 60) <= 6 and abs(len(parts["eval"]) - 100) <= 6
    index = {i: k for k, i in enumerate(ids)}
    empty_all = np.mean(coverage_class(masks) == 0)
    for name in parts:
        share = np.mean(coverage_class(masks[[index[i] for i in parts[name]]]) == 0)
        assert abs(share - empty_all) < 0.06, name
    # seeded: the same split again, another with another seed
    assert loop_split(ids, masks, 60, 100, seed=3) == parts
    assert loop_split(ids, masks, 60, 100, seed=4) != parts
    capped = loop_split(ids, masks, 60, 100, seed=3, n_pool=50)
    assert abs(len(capped["pool"]) - 50) <= 6 and set(capped["pool"]) <= sets["pool"]


def test_split_rejects_sizes_that_do_not_fit():
    with pytest.raises(SaltviewerError, match="n_labelled"):
        loop_split(["a", "b"], np.zeros((2, 4, 4), bool), n_labelled=3, n_eval=0)
    with pytest.raises(SaltviewerError, match="more than"):
        loop_split(["a", "b"], np.zeros((2, 4, 4), bool), n_labelled=2, n_eval=1)


def test_simulated_reviewer_accepts_good_proposals_and_corrects_the_rest(sample_dir, tmp_path):
    dataset = open_dataset(sample_dir)
    tiles = [dataset.ids[i] for i in dataset.indices("test")[:3]]
    truth = {t: np.zeros((101, 101), bool) for t in tiles}
    truth[tiles[0]][20:60, 20:60] = True          # proposal exact: accepted
    truth[tiles[1]][20:60, 20:60] = True          # proposal far off: corrected to the truth
    proposals = [Proposal(tile=tiles[0], mask=truth[tiles[0]].copy(), criterion="confident-salt", reason="r"),
                 Proposal(tile=tiles[1], mask=np.roll(truth[tiles[1]], 30, axis=1), criterion="confident-salt",
                          reason="r")]
    with CurationStore(tmp_path / "store.sqlite") as store:
        store.propose(dataset, proposals)
        tally = simulate_review(store, dataset, tiles, truth, accept_at=0.8)
        assert tally == {"reviewed": 2, "accepted": 1, "picked": 0, "corrected": 1, "drawn": 0, "skipped": 1,
                         "seconds": 2.0 + 25.0}
        labels = store.pseudo_labels(dataset)
        assert store.item(dataset, tiles[0], "pseudo").state == "accepted"
        assert store.item(dataset, tiles[1], "pseudo").state == "corrected"
    assert set(labels) == set(tiles[:2])
    np.testing.assert_array_equal(labels[tiles[1]], truth[tiles[1]])
    np.testing.assert_array_equal(labels[tiles[0]], truth[tiles[0]])
    with pytest.raises(SaltviewerError, match="accept_at"):
        simulate_review(None, dataset, [], truth, accept_at=2)


# ---------------------------------------------------------------------------------- the loop's figures
def _paired_ci_by_hand(a, b, seed, n):
    """The bootstrap written out: n resamples of image pairs, one image at a time, and the
    percentiles by linear interpolation between the sorted means."""
    diffs = [y - x for x, y in zip(a, b)]
    m = len(diffs)
    rng = np.random.default_rng(seed)
    means = []
    for _ in range(n):
        total = 0.0
        for _ in range(m):
            total += diffs[int(rng.integers(0, m))]
        means.append(total / m)
    means.sort()

    def percentile(q):
        position = q / 100 * (n - 1)
        below = int(position)
        above = min(below + 1, n - 1)
        return means[below] + (means[above] - means[below]) * (position - below)

    return sum(diffs) / m, percentile(2.5), percentile(97.5)


@pytest.mark.parametrize("m, seed", [(1, 0), (7, 3), (60, 11)])
def test_paired_ci_matches_the_bootstrap_written_out(m, seed):
    from saltviewer.loop import paired_ci

    rng = np.random.default_rng(seed)
    a = rng.choice(np.arange(11) / 10, m)                    # per-image precisions
    b = np.clip(a + rng.choice([-0.2, 0.0, 0.1, 0.3], m), 0, 1)
    fast = paired_ci(a, b, seed=seed, n=400)
    slow = _paired_ci_by_hand(list(a), list(b), seed, 400)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    assert fast[1] <= fast[0] <= fast[2]
    assert paired_ci(a, b, seed=seed, n=400) == fast            # seeded


def test_paired_ci_resamples_images_in_pairs():
    """Two models whose scores move together image by image: the paired interval is narrow and
    excludes 0, where a small, steady gain would be lost among the images' own spread."""
    from saltviewer.loop import paired_ci

    rng = np.random.default_rng(0)
    a = rng.uniform(0, 0.9, 300)
    b = a + 0.02 + rng.normal(0, 0.01, 300)
    mean, low, high = paired_ci(a, b)
    assert mean == pytest.approx(np.mean(b - a)) and 0 < low < mean < high < 0.03
    # the spread of the mean of 300 differences: about 1.96 standard errors each side
    half = 1.96 * np.std(b - a) / np.sqrt(300)
    assert (high - low) / 2 == pytest.approx(half, rel=0.15)
    assert paired_ci(a, a) == (0.0, 0.0, 0.0)
    with pytest.raises(SaltviewerError, match="equally long"):
        paired_ci(a, b[:-1])
    with pytest.raises(SaltviewerError, match="non-empty"):
        paired_ci([], [])


def _precision_by_hand(truth, mask):
    """The competition's per-image precision, one image and one IoU threshold at a time."""
    from fractions import Fraction

    if not truth.any():
        return 1.0 if not mask.any() else 0.0
    iou = Fraction(int((truth & mask).sum()), int((truth | mask).sum()))
    return sum(iou > Fraction(k, 20) for k in range(10, 20)) / 10


@pytest.fixture(scope="module")
def figures_ensemble(sample_dataset, tmp_path_factory):
    """Three hand-made members over the sample's labelled tiles: right on some tiles, shifted on
    others, a false blob on some empty ones; no network."""
    from saltviewer import Ensemble, Workspace

    dataset = sample_dataset
    workspace = Workspace(tmp_path_factory.mktemp("figures") / "ws")
    rng = np.random.default_rng(5)
    labelled = dataset.indices("train")
    shift = rng.choice([0, 0, 0, 2, 6, 15], len(dataset))      # per tile: how far the members are off
    versions = []
    for v in range(3):
        probs = np.full((len(dataset), 101, 101), 0.04, np.float32)
        for i in labelled:
            truth = dataset.mask(i)
            if truth.any():
                probs[i][np.roll(truth, shift[i] * (v + 1) // 2, axis=1)] = 0.93
            elif shift[i] == 15 and v < 2:                       # salt where there is none
                probs[i][30:50, 30:50] = 0.9
        probs += rng.uniform(0, 0.03, probs.shape).astype(np.float32)
        version = workspace.add_version({"encoder": "hand-made", "threshold": 0.5})
        workspace.write_predictions(version, dataset, np.clip(probs, 0, 1))
        versions.append(version)
    return Ensemble(workspace, dataset, versions), labelled


@pytest.mark.parametrize("empty_share", [None, 0.3])
def test_precision_curve_matches_the_precision_of_each_selected_tile_by_hand(figures_ensemble, sample_dataset,
                                                                            empty_share):
    from saltviewer.loop import precision_curve
    from saltviewer.pseudo import select_candidates

    ensemble, labelled = figures_ensemble
    truth = sample_dataset.masks(labelled)
    shares, ranks = (0.1, 0.3, 0.6, 1.0), ("expected-iou", "agreement")
    curves, threshold, overall = precision_curve(ensemble, labelled, truth, shares, ranks, empty_share)

    consensus = {int(i): next(ensemble.consensus([i]))[2][0] for i in labelled}      # one tile at a time
    by_hand = {int(i): _precision_by_hand(t, consensus[int(i)]) for i, t in zip(labelled, truth)}
    assert overall == {"all_tiles_precision": round(sum(by_hand.values()) / len(labelled), 4),
                       "tiles": len(labelled)}
    assert 0 < overall["all_tiles_precision"] < 1                 # some tiles right, some wrong

    scores = ensemble.scores(labelled, truth=False, images=True)

    def expected(selection):
        tiles = [int(labelled[p]) for p in selection.positions]
        salt = [i for i in tiles if consensus[i].any()]
        empty = [i for i in tiles if not consensus[i].any()]

        def mean(group):
            return round(sum(by_hand[i] for i in group) / len(group), 4) if group else None

        return {"candidates": len(tiles), "salt": len(salt), "empty": len(empty), "precision": mean(tiles),
                "salt_precision": mean(salt), "empty_precision": mean(empty)}

    assert list(curves) == list(ranks)
    for rank in ranks:
        assert [point["share"] for point in curves[rank]] == list(shares)
        for point in curves[rank]:
            selection = select_candidates(scores, share=point["share"], rank=rank, empty_share=empty_share)
            assert {k: v for k, v in point.items() if k != "share"} == expected(selection), (rank, point)
        counts = [point["candidates"] for point in curves[rank]]
        assert counts == sorted(counts) and counts[0] > 0
    assert threshold == expected(select_candidates(scores, "agreement", empty_share=empty_share))
    # the most confident tiles are the better ones: the first share is at least as precise as all
    assert all(curves[rank][0]["precision"] >= curves[rank][-1]["precision"] for rank in ranks)


def test_the_reviewer_takes_a_members_mask_for_a_disputed_tile_draws_missing_ones_and_is_timed(sample_dir, tmp_path):
    from saltviewer.loop import ReviewTimes

    dataset = open_dataset(sample_dir)
    tiles = [dataset.ids[i] for i in dataset.indices("test")[:4]]
    truth = {t: np.zeros((101, 101), bool) for t in tiles}
    for t in tiles:
        truth[t][30:70, 10:90] = True
    wrong = np.roll(truth[tiles[0]], 40, axis=0)
    proposals = [Proposal(tile=tiles[0], mask=wrong, criterion="disagreement", reason="r"),     # v2 is right
                 Proposal(tile=tiles[1], mask=wrong, criterion="disagreement", reason="r"),     # neither is
                 Proposal(tile=tiles[2], mask=truth[tiles[2]].copy(), criterion="confident-salt", reason="r")]
    members = {tiles[0]: [("v1", wrong), ("v2", truth[tiles[0]].copy())], tiles[1]: [("v1", wrong), ("v2", wrong)]}
    times = ReviewTimes(accept=3, pick=5, correct=20, draw=70)
    with CurationStore(tmp_path / "store.sqlite") as store:
        store.propose(dataset, proposals)
        tally = simulate_review(store, dataset, tiles, truth, accept_at=0.8, members=members.get, missing="draw",
                                times=times)
        assert tally == {"reviewed": 4, "accepted": 1, "picked": 1, "corrected": 1, "drawn": 1, "skipped": 0,
                         "seconds": 3 + 5 + 20 + 70}
        assert tally.minutes == pytest.approx(98 / 60)
        history = {t: store.history(dataset, t) for t in tiles}
        assert history[tiles[0]][-1].detail["source"] == "v2" and history[tiles[0]][-1].action == "correct"
        assert store.item(dataset, tiles[3]).criterion == "manual"          # drawn by hand: an item made for it
        in_force = store.curated(dataset)
        assert all(in_force[t][4] for t in tiles)                          # all reviewed: they train as labels
        for t in tiles:
            np.testing.assert_array_equal(in_force[t][0], truth[t])
    with pytest.raises(SaltviewerError, match="missing must be"):
        simulate_review(None, dataset, [], truth, missing="guess")


@pytest.mark.parametrize("counts, seconds", [
    ({}, 0.0), ({"accepted": 1}, 2.0), ({"rejected": 3}, 6.0), ({"picked": 2, "corrected": 1}, 29.0),
    ({"drawn": 2}, 120.0), ({"accepted": 500, "corrected": 500, "drawn": 10}, 500 * 27.0 + 600.0),
])
def test_the_time_model_adds_up(counts, seconds):
    from saltviewer.loop import ReviewTimes

    assert ReviewTimes().seconds(**counts) == seconds
    assert ReviewTimes().tiles_from_nothing(seconds) == round(seconds / 60)


def _seed_tile_interval_by_hand(diffs, seed, n, level):
    """The two-level bootstrap written out with the same random draws: per seed n tile resamples,
    then per resample the seeds drawn with replacement, one at a time."""
    rng = np.random.default_rng(seed)
    tile_means = []
    for d in diffs:
        draws = rng.integers(0, len(d), size=(n, len(d)))
        tile_means.append([sum(d[j] for j in row) / len(d) for row in draws])
    chosen = rng.integers(0, len(diffs), size=(n, len(diffs)))
    means = sorted(sum(tile_means[s][b] for s in chosen[b]) / len(diffs) for b in range(n))

    def percentile(q):
        position = q / 100 * (n - 1)
        below = int(position)
        above = min(below + 1, n - 1)
        return means[below] + (means[above] - means[below]) * (position - below)

    tail = (100 - level) / 2
    return sum(sum(d) / len(d) for d in diffs) / len(diffs), percentile(tail), percentile(100 - tail)


def test_the_interval_over_seeds_and_tiles_matches_the_bootstrap_written_out():
    from saltviewer.loop import seed_tile_interval

    rng = np.random.default_rng(5)
    diffs = [rng.normal(0.03 * (k + 1), 0.2, size=40) for k in range(3)]
    fast = seed_tile_interval(diffs, seed=2, n=300, level=90)
    slow = _seed_tile_interval_by_hand([list(d) for d in diffs], seed=2, n=300, level=90)
    assert fast == pytest.approx(slow, abs=1e-12)


def test_the_interval_over_seeds_is_wider_than_over_tiles_when_seeds_disagree():
    from saltviewer.loop import paired_ci, seed_tile_interval

    rng = np.random.default_rng(1)
    # three seeds whose gains differ far more than the tiles' noise can tell
    diffs = [rng.normal(g, 0.05, size=1200) for g in (0.0, 0.04, 0.08)]
    mean, low, high = seed_tile_interval(diffs, n=4000)
    pooled = paired_ci(np.zeros(3600), np.concatenate(diffs), n=4000)
    assert mean == pytest.approx(0.04, abs=0.003)
    assert high - low > 5 * (pooled[2] - pooled[1])
    assert low < 0.01 and high > 0.07
    with pytest.raises(SaltviewerError, match="per seed"):
        seed_tile_interval([[]])
