"""Mosaics follow what the tiles hold, not their names: renaming the tiles (which reorders the
dataset) must give the same model, the same search and the same mosaics."""

import numpy as np

from saltviewer import make_sample, open_dataset
from saltviewer.mosaic import EdgeModel, content_order, search_candidates
from saltviewer.mosaic._kdtree import _principal_axes
from saltviewer.mosaic.assembly import grow_mosaics


def _grid_pairs(placements, names):
    """Every pair of grid neighbours as (kind, name a, name b)."""
    pairs = set()
    for tiles in placements:
        cells = {cell: tile for tile, cell in tiles.items()}
        for (r, c), tile in cells.items():
            for kind, other in (("right", cells.get((r, c + 1))), ("below", cells.get((r + 1, c)))):
                if other is not None:
                    pairs.add((kind, names[tile], names[other]))
    return pairs


def test_content_order_follows_the_pixels_not_the_positions():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 11, 11), dtype=np.uint8)
    images[7] = images[3]                                   # identical tiles are interchangeable
    images[12] = 0
    images[20] = 0
    perm = rng.permutation(len(images))
    np.testing.assert_array_equal(images[content_order(images)], images[perm][content_order(images[perm])])
    ordered = images[content_order(images)]
    same = [i for i in range(len(ordered) - 1) if np.array_equal(ordered[i], ordered[i + 1])]
    assert len(same) == 2                                   # each pair of identical tiles side by side


def test_the_edge_model_is_the_same_whatever_the_tile_order(sample_dataset):
    images = sample_dataset.images()
    perm = np.random.default_rng(1).permutation(len(images))
    # Fewer tiles in the fit than in the dataset: which ones it takes must not follow positions.
    first = EdgeModel(max_tiles=20).fit(images)
    second = EdgeModel(max_tiles=20).fit(images[perm])
    for key, coefficients in first.coef_.items():
        np.testing.assert_array_equal(coefficients, second.coef_[key])
        assert first.residual_[key] == second.residual_[key]


def test_the_principal_axes_take_every_row():
    rng = np.random.default_rng(2)
    features = rng.normal(size=(20000, 6)) * np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    perm = rng.permutation(len(features))
    first = _principal_axes(features, 3)
    second = _principal_axes(features[perm], 3)
    # The same axes up to sign (an evenly spaced subset of the rows would follow their order).
    np.testing.assert_allclose(np.abs(first.T @ second), np.eye(3), atol=1e-9)


def test_renamed_tiles_give_the_same_mosaics(tmp_path):
    # More tiles than the edge model's fit takes (768), so a fit on tiles picked by position
    # would see other tiles after a renaming.
    dataset = open_dataset(make_sample(tmp_path / "data", n_train=700, n_test=200, seed=3))
    images = dataset.images()
    names = np.array(dataset.ids)
    perm = np.random.default_rng(3).permutation(len(images))
    found = []
    for order in (np.arange(len(images)), perm):
        seeds, candidates, _ = search_candidates(images[order])
        placements = grow_mosaics(candidates, seeds, len(images))
        found.append(_grid_pairs(placements, names[order]))
    assert len(found[0]) > 500                              # the sample holds mosaics to find
    assert found[0] == found[1]
