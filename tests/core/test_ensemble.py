"""Ensemble scores against a slow per-tile reference, on probability maps written to a real workspace."""

import tracemalloc
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest

from saltviewer import SaltviewerError
from saltviewer.ensemble import Ensemble, ensemble_scores, ensemble_tile, probability_level
from saltviewer.metric import image_precisions


def _maps(n, seed, special=True):
    """Varied uint8 maps: blobs, noise, empty, full, values right at the thresholds."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:101, :101]
    maps = np.zeros((n, 101, 101), np.uint8)
    for i in range(n):
        kind = rng.integers(6)
        if kind == 0:
            continue                                        # confidently empty
        if kind == 1:
            maps[i] = rng.integers(0, 256, (101, 101))      # noise
        elif kind == 2:
            maps[i] = 255
        else:
            r = rng.uniform(3, 50)
            cy, cx = rng.uniform(0, 101, 2)
            disk = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
            maps[i] = np.where(disk, rng.integers(120, 256), rng.integers(0, 136)).astype(np.uint8)
    if special and n > 3:
        maps[1] = 127                                       # p = 0.498: below 0.5
        maps[2] = 128                                       # p = 0.502: above 0.5
        maps[3, 50, 50] = 255                               # one salt pixel
    return maps


@pytest.fixture
def three(workspace, sample_dataset):
    n = len(sample_dataset)
    versions = []
    for k, threshold in enumerate((0.5, 0.4, None)):
        card = {"encoder": "test"} if threshold is None else {"encoder": "test", "threshold": threshold}
        version = workspace.add_version(card)
        maps = _maps(n, seed=k)
        maps[:, :, :50] = _maps(n, seed=10)[:, :, :50]     # members share half of each tile
        workspace.write_predictions(version, sample_dataset, maps)
        versions.append(version)
    return workspace, versions


def _reference(maps, thresholds, truth=None, low=0.2, high=0.8):
    """Per-tile, per-pair loops in exact integer arithmetic (p = q / 255 compared as q * 1000 vs t * 1000 * 255)."""
    m = len(maps)
    milli = [int(round(t * 1000)) for t in thresholds]
    consensus_milli = sum(milli)                     # mean p > mean t  <=>  1000 * sum q > 255 * sum(1000 t)
    out = []
    for i in range(len(maps[0])):
        q = [maps[k][i].astype(np.int64) for k in range(m)]
        masks = [q[k] * 1000 > milli[k] * 255 for k in range(m)]
        ious = []
        for a, b in combinations(range(m), 2):
            union = np.logical_or(masks[a], masks[b]).sum()
            ious.append(1.0 if union == 0 else np.logical_and(masks[a], masks[b]).sum() / union)
        total = sum(q)
        consensus = total * 1000 > consensus_milli * 255
        uncertain = (total * 10 >= round(low * 10) * 255 * m) & (total * 10 <= round(high * 10) * 255 * m)
        votes = sum(mask.astype(int) for mask in masks)
        row = {
            "coverage": consensus.mean(),
            "mean_iou": np.mean(ious) if ious else 1.0,
            "min_iou": np.min(ious) if ious else 1.0,
            "uncertain": uncertain.mean(),
            "pixel_disagreement": np.mean((votes > 0) & (votes < m)),
            "presence_votes": sum(int(mask.any()) for mask in masks),
            "max_probability": total.max() / (255 * m),
            "member_coverage": [mask.mean() for mask in masks],
        }
        if truth is not None and truth[i] is not None:
            t = truth[i]
            union = np.logical_or(t, consensus).sum()
            row["truth_iou"] = 1.0 if union == 0 else np.logical_and(t, consensus).sum() / union
            row["truth_precision"] = image_precisions(t, consensus)[0]
            row["truth_coverage"] = t.mean()
        out.append(row)
    return out


def test_probability_level_is_exact_for_every_uint8_value():
    for threshold in (0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 128 / 255):
        t = Fraction(threshold).limit_denominator(1000)
        for members in (1, 2, 3, 5):
            level = probability_level(threshold, members)
            for total in range(0, 255 * members + 1):
                assert (total > level) == (Fraction(total, 255 * members) > t), (threshold, members, total)


def test_scores_match_the_reference_for_any_chunking_and_order(three, sample_dataset):
    workspace, versions = three
    ensemble = Ensemble(workspace, sample_dataset, versions)
    assert list(ensemble.thresholds) == [0.5, 0.4, 0.5]               # a card without one: 0.5
    rng = np.random.default_rng(3)
    indices = rng.permutation(len(sample_dataset))[:30]
    maps = [workspace.open_predictions(v, sample_dataset)[indices] for v in versions]
    truth = [sample_dataset.mask(i) for i in indices]
    expected = _reference(maps, ensemble.thresholds, truth)
    for chunk in (1, 7, 64):
        scores = ensemble.scores(indices, chunk=chunk)
        assert list(scores.indices) == list(indices)
        assert scores.ids == tuple(sample_dataset.ids[i] for i in indices)
        for k, row in enumerate(expected):
            for name, value in row.items():
                got = getattr(scores, name)[k]
                np.testing.assert_allclose(got, value, atol=1e-6, err_msg=f"{name} of tile {k}, chunk {chunk}")
    assert np.isnan(scores.truth_iou[~sample_dataset.has_mask[indices]]).all()


def test_empty_members_agree_perfectly_and_presence_disagreement_is_found(workspace, sample_dataset):
    n = len(sample_dataset)
    empty = np.zeros((n, 101, 101), np.uint8)
    some = empty.copy()
    some[5, 10:20, 10:20] = 255
    versions = []
    for maps in (empty, empty, some):
        versions.append(workspace.add_version({"encoder": "test", "threshold": 0.5}))
        workspace.write_predictions(versions[-1], sample_dataset, maps)
    scores = ensemble_scores(workspace, sample_dataset, versions, truth=False)
    assert scores.mean_iou[0] == 1 and scores.presence_votes[0] == 0 and not scores.presence_disagreement[0]
    assert scores.mean_iou[5] == pytest.approx(1 / 3) and scores.presence_disagreement[5]
    assert scores.pixel_disagreement[5] == pytest.approx(100 / 10201)
    assert scores.ids_by_disagreement()[0] == sample_dataset.ids[5]
    assert np.isnan(scores.truth_iou).all()
    single = ensemble_scores(workspace, sample_dataset, versions[2:])
    assert (single.mean_iou == 1).all()                         # one member agrees with itself


def test_order_is_most_disagreement_first_with_reproducible_ties(three, sample_dataset):
    workspace, versions = three
    scores = ensemble_scores(workspace, sample_dataset, versions)
    order = scores.order()
    keys = [(-scores.disagreement[k], -scores.pixel_disagreement[k], -scores.uncertain[k], scores.ids[k])
            for k in order]
    assert keys == sorted(keys)
    part = scores.subset(order[:5])
    assert part.ids == tuple(scores.ids[k] for k in order[:5]) and len(part) == 5


def test_one_tile_view_agrees_with_the_bulk_scores(three, sample_dataset):
    workspace, versions = three
    ensemble = Ensemble(workspace, sample_dataset, versions)
    scores = ensemble.scores()
    for tile in (0, 3, sample_dataset.ids[-1]):
        view = ensemble.tile(tile)
        k = sample_dataset.index(tile)
        assert view.id == sample_dataset.ids[k]
        assert view.scores == scores.row(k)
        maps = np.stack([workspace.open_predictions(v, sample_dataset)[k] for v in versions])
        np.testing.assert_allclose(view.probabilities, maps / 255, atol=1e-6)
        members = np.stack([maps[j] / 255 > t for j, t in enumerate(ensemble.thresholds)])
        assert np.array_equal(view.member_masks, members)
        votes = members.sum(0)
        assert np.array_equal(view.votes, votes)
        np.testing.assert_allclose(view.disagreement, np.minimum(votes, 3 - votes) / 3)
        np.testing.assert_allclose(view.spread, (maps / 255).std(0), atol=1e-6)
        assert view.mask.mean() == pytest.approx(scores.coverage[k])
        assert (view.truth is None) == (not sample_dataset.has_mask[k])
    other = ensemble_tile(workspace, sample_dataset, versions, 3)
    assert np.array_equal(other.mask, ensemble.tile(3).mask)


def test_consensus_masks_in_any_order_match_the_tile_view(three, sample_dataset):
    workspace, versions = three
    ensemble = Ensemble(workspace, sample_dataset, versions)
    wanted = np.array([9, 2, 40, 3, 2])
    seen = []
    for positions, probability, mask in ensemble.consensus(wanted, chunk=2):
        for position, p, m in zip(positions, probability, mask):
            view = ensemble.tile(int(position))
            np.testing.assert_allclose(p, view.probability, atol=1e-6)
            assert np.array_equal(m, view.mask)
            seen.append(int(position))
    assert seen == list(wanted)


def test_scoring_streams_instead_of_loading_every_map(workspace, sample_dataset):
    n = len(sample_dataset)
    versions = []
    for k in range(4):
        versions.append(workspace.add_version({"encoder": "test"}))
        workspace.write_predictions(versions[-1], sample_dataset, _maps(n, seed=k, special=False))
    ensemble = Ensemble(workspace, sample_dataset, versions)
    all_maps = 4 * n * 10201
    tracemalloc.start()
    ensemble.scores(chunk=8, truth=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < all_maps / 2, (peak, all_maps)


def test_bad_input_is_refused_clearly(workspace, sample_dataset):
    with pytest.raises(SaltviewerError, match="has no model versions yet"):
        Ensemble(workspace, sample_dataset)
    v1 = workspace.add_version({"encoder": "test", "threshold": 1.5})
    v2 = workspace.add_version({"encoder": "test"})
    with pytest.raises(SaltviewerError, match="card of v0001: threshold must be within"):
        Ensemble(workspace, sample_dataset, [v1, v2])
    with pytest.raises(SaltviewerError, match="v0002 has no predictions"):
        Ensemble(workspace, sample_dataset, [v2], thresholds=[0.5])
    with pytest.raises(SaltviewerError, match="need one per member"):
        Ensemble(workspace, sample_dataset, [v1, v2], thresholds=[0.5])
    workspace.write_predictions(v2, sample_dataset, np.zeros((len(sample_dataset), 101, 101), np.uint8))
    ensemble = Ensemble(workspace, sample_dataset, [v2])
    with pytest.raises(SaltviewerError, match="out of range"):
        ensemble.scores([0, len(sample_dataset)])
    with pytest.raises(SaltviewerError, match="'nope' is not in the dataset"):
        ensemble.tile("nope")
    with pytest.raises(SaltviewerError, match="uncertain_range"):
        Ensemble(workspace, sample_dataset, [v2], uncertain_range=(0.9, 0.1))


def test_an_open_ensemble_keeps_reading_the_maps_it_opened(three, sample_dataset):
    workspace, versions = three
    with Ensemble(workspace, sample_dataset, versions) as ensemble:
        before = ensemble.scores(chunk=16)
        workspace.write_predictions(versions[0], sample_dataset,
                                    np.full((len(sample_dataset), 101, 101), 255, np.uint8))
        again = ensemble.scores(chunk=16)
        np.testing.assert_array_equal(again.mean_iou, before.mean_iou)
        assert np.array_equal(ensemble.tile(4).probabilities, ensemble.tile(4).probabilities)
    fresh = ensemble_scores(workspace, sample_dataset, versions)
    assert (fresh.member_coverage[:, 0] == 1).all() and not np.array_equal(fresh.mean_iou, before.mean_iou)
    with pytest.raises(SaltviewerError, match="has been closed"):
        ensemble.scores()


def test_members_and_consensus_drop_masks_smaller_than_their_tuned_minimum_area(workspace, sample_dataset):
    n = len(sample_dataset)
    yy, xx = np.mgrid[:101, :101]
    maps = np.zeros((n, 101, 101), np.uint8)
    maps[0][((yy - 50) ** 2 + (xx - 50) ** 2) < 3 ** 2] = 255          # a speck: 29 pixels
    maps[1][((yy - 50) ** 2 + (xx - 50) ** 2) < 30 ** 2] = 255         # a body: 2,821 pixels
    speck, body = int((maps[0] > 0).sum()), int((maps[1] > 0).sum())
    assert speck < 100 < body
    a = workspace.add_version({"encoder": "test", "threshold": 0.5, "min_area": 100})
    b = workspace.add_version({"encoder": "test", "threshold": 0.5})              # no minimum
    for version in (a, b):
        workspace.write_predictions(version, sample_dataset, maps)
    ensemble = Ensemble(workspace, sample_dataset, [a, b])
    assert list(ensemble.min_areas) == [100, 0] and ensemble.consensus_min_area == 50
    scores = ensemble.scores(np.array([0, 1]))
    assert scores.member_coverage[0] == pytest.approx([0.0, speck / 10201])  # a drops the speck, b keeps it
    assert scores.presence_votes.tolist() == [1, 2] and scores.coverage[0] == 0.0
    assert scores.coverage[1] == pytest.approx(body / 10201)
    view = ensemble.tile(0)
    assert not view.member_masks[0].any() and view.member_masks[1].sum() == speck and not view.mask.any()
    (_, _, masks), = list(ensemble.consensus(np.array([0, 1])))
    assert not masks[0].any() and masks[1].sum() == body
    plain = Ensemble(workspace, sample_dataset, [a, b], min_areas=[0, 0], consensus_min_area=0)
    assert plain.scores(np.array([0])).coverage[0] == pytest.approx(speck / 10201)
    with pytest.raises(SaltviewerError, match="min_areas"):
        Ensemble(workspace, sample_dataset, [a, b], min_areas=[10])


def test_the_package_keeps_every_public_name_where_it_was():
    import saltviewer
    import saltviewer.ensemble as package
    from saltviewer.ensemble import levels, members, scores

    public = {"Ensemble": members, "ensemble_scores": members, "ensemble_tile": members, "EnsembleScores": scores,
              "TileView": scores, "probability_level": levels, "default_consensus_threshold": levels,
              "UNCERTAIN_RANGE": levels, "PIXELS": levels}
    for name, module in public.items():
        assert getattr(package, name) is getattr(module, name), name
    assert set(package.__all__) <= set(public)
    assert saltviewer.Ensemble is package.Ensemble and saltviewer.ensemble_scores is package.ensemble_scores


def test_a_threshold_outside_zero_to_one_is_named_with_where_it_came_from():
    from saltviewer.ensemble.levels import check_threshold

    assert check_threshold("0.25", "thresholds") == 0.25
    with pytest.raises(SaltviewerError, match=r"card of v0002: threshold must be within \[0, 1\], got 1.5"):
        check_threshold(1.5, "card of v0002")
    with pytest.raises(SaltviewerError, match="consensus_threshold: threshold must be a number"):
        check_threshold("high", "consensus_threshold")
