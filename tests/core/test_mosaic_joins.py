"""Joins of mosaics: the margin grows with the number of below edges a join makes, and every join
holds against the costs of all pairs (the exhaustive replay of tests/core/mosaic_reference.py)."""

import pytest

from mosaic_reference import replay_against_exhaustive_costs
from saltviewer import SaltviewerError, make_sample, open_dataset
from saltviewer.mosaic import grow_mosaics, search_candidates
from saltviewer.mosaic.assembly import JOIN_RATIO, JOIN_SMOOTH, JOIN_STEP, SMOOTH_EDGE, SMOOTH_RATIO, _Growth

RATIO = 0.8


@pytest.fixture(scope="module")
def strips(tmp_path_factory):
    """A sample whose rows of tiles stack on each other through joins of several edges, grown
    on candidate lists that hold every tile within reach (so all pairs can judge each step)."""
    root = make_sample(tmp_path_factory.mktemp("strips") / "data", n_train=150, n_test=50, seed=1)
    images = open_dataset(root).images()
    seeds, candidates, _ = search_candidates(images, n_candidates=len(images), eps=0.0)
    return images, seeds, candidates


@pytest.mark.parametrize("edges, product, smooth, passes", [
    (1, RATIO ** 2 * 0.99, 0.9, True),                  # one edge: the growth's own margin
    (1, RATIO ** 2 * 1.01, 0.9, False),
    (1, SMOOTH_RATIO * 0.99, SMOOTH_EDGE, True),          # a smooth edge: the looser one
    (1, SMOOTH_RATIO * 1.01, SMOOTH_EDGE, False),
    (1, SMOOTH_RATIO * 0.99, SMOOTH_EDGE * 1.01, False),
    (2, JOIN_RATIO * 0.99, JOIN_SMOOTH, True),
    (2, JOIN_RATIO * 1.01, JOIN_SMOOTH, False),
    (2, JOIN_RATIO * 0.99, JOIN_SMOOTH * 1.01, False),    # rough on the whole
    (3, JOIN_RATIO * JOIN_STEP * 0.99, 0.1, True),        # each below edge beyond two widens it
    (3, JOIN_RATIO * JOIN_STEP * 1.01, 0.1, False),
    (5, JOIN_RATIO * JOIN_STEP ** 3 * 0.99, 0.1, True),
])
def test_the_margin_of_a_join_grows_with_its_below_edges(edges, product, smooth, passes):
    growth = _Growth({}, 1, RATIO, 0.85, JOIN_RATIO, False)
    assert growth.join_passes([("below", 0, 0, 1.0)] * edges, product, smooth) is passes


def test_right_edges_do_not_widen_the_margin():
    """Right seams are strong one by one: a right edge with a nearer alternative counts in full."""
    growth = _Growth({}, 1, RATIO, 0.85, JOIN_RATIO, False)
    product = JOIN_RATIO * JOIN_STEP * 0.99
    assert growth.join_passes([("below", 0, 0, 1.0)] * 3, product, 0.1)
    assert not growth.join_passes([("right", 0, 0, 1.0)] * 3, product, 0.1)
    assert not growth.join_passes([("right", 0, 0, 1.0)] + [("below", 0, 0, 1.0)] * 2, product, 0.1)
    assert growth.join_passes([("right", 0, 0, 1.0)] * 5, JOIN_RATIO * 0.99, 0.1)


def test_joins_of_several_edges_hold_against_all_pairs(strips):
    images, seeds, candidates = strips
    _, log = grow_mosaics(candidates, seeds, len(images), ratio=RATIO, record=True)
    joins = [entry for entry in log if entry.reason == "join"]
    assert max(len(entry.links) for entry in joins) >= 3
    assert any(len(entry.links) >= 2 and entry.total >= 1.0 for entry in joins)   # refused by a flat margin of 1
    assert replay_against_exhaustive_costs(candidates, log, ratio=RATIO) == []


def test_the_replay_catches_a_join_taken_on_too_small_a_margin(strips):
    """Joins grown with margins far too loose: the reference, holding the defaults, says which."""
    images, seeds, candidates = strips
    loose = dict(join_ratio=100.0, join_smooth=10.0, smooth_edge=10.0, smooth_ratio=10.0)
    _, log = grow_mosaics(candidates, seeds, len(images), ratio=RATIO, record=True, **loose)
    wrong = replay_against_exhaustive_costs(candidates, log, ratio=RATIO)
    assert wrong and all(entry.reason == "join" for entry in wrong)
    assert replay_against_exhaustive_costs(candidates, log, ratio=RATIO, **loose) == []


@pytest.mark.parametrize("name", ["ratio", "loop_ratio", "join_ratio", "join_step", "join_smooth", "smooth_edge",
                                  "smooth_ratio"])
def test_bad_margins_name_themselves(strips, name):
    images, seeds, candidates = strips
    with pytest.raises(SaltviewerError, match=f"{name} must be a positive number, got -1"):
        grow_mosaics(candidates, seeds, len(images), **{name: -1})
