"""Neighbour search: the KD-tree search against a brute-force reference written from the definition."""

import numpy as np
import pytest
from scipy import ndimage

from saltviewer import SaltviewerError
from saltviewer import neighbours as nb
from saltviewer.neighbours import NeighbourPairs, border_features, find_neighbours, pair_costs

TILE = 101


# ------------------------------------------------------------------ the reference
def _line(image, kind, side, depth):
    """The depth-th line from the border facing `kind` (side "out") or the opposite one."""
    if kind == "right":
        return image[:, TILE - 1 - depth] if side == "out" else image[:, depth]
    return image[TILE - 1 - depth, :] if side == "out" else image[depth, :]


def _standard(image, kind, side):
    lines = [np.asarray(_line(image, kind, side, d), dtype=np.float64) for d in range(3)]
    mean, std = lines[0].mean(), lines[0].std()
    std = std if std > 0 else 1.0
    return [(line - mean) / std for line in lines], lines[0].std()


def reference_pairs(images, ratio=nb.RATIO, max_norm=nb.MAX_NORM, max_cost=nb.MAX_COST,
                    min_contrast=nb.MIN_CONTRAST, extrapolation=nb.EXTRAPOLATION):
    """Every pair scored one by one, rules applied literally (slow and obvious)."""
    w = extrapolation
    n = len(images)
    kept = set()
    for kind in nb.KINDS:
        cost = np.full((n, n), np.inf)
        inside_out, inside_in = np.empty(n), np.empty(n)
        flat_out, flat_in = np.empty(n, bool), np.empty(n, bool)
        out_lines, in_lines = [], []
        for i in range(n):
            (edge, inner, inner2), contrast = _standard(images[i], kind, "out")
            out_lines.append((edge, inner))
            inside_out[i] = max(np.mean((inner + w * (inner - inner2) - edge) ** 2), 0.01)
            flat_out[i] = contrast < min_contrast
            (edge, inner, inner2), contrast = _standard(images[i], kind, "in")
            in_lines.append((edge, inner))
            inside_in[i] = max(np.mean((inner + w * (inner - inner2) - edge) ** 2), 0.01)
            flat_in[i] = contrast < min_contrast
        for a in range(n):
            for b in range(n):
                if a == b or flat_out[a] or flat_in[b]:
                    continue
                (left, left2), (right, right2) = out_lines[a], in_lines[b]
                predicted_right = left + w * (left - left2)     # a's extrapolation into b
                predicted_left = right + w * (right - right2)   # b's extrapolation into a
                cost[a, b] = (np.sum((predicted_right - right) ** 2) + np.sum((left - predicted_left) ** 2)) / (2 * TILE)
        for a in range(n):
            row = cost[a]
            b = int(np.argmin(row))
            if not np.isfinite(row[b]):
                continue
            first, second = row[b], np.partition(row, 1)[1]
            column = cost[:, b]
            if int(np.argmin(column)) != a:
                continue                                    # not mutual
            second_b = np.partition(column, 1)[1]
            if not (first < ratio ** 2 * second and first < ratio ** 2 * second_b):
                continue                                    # ratio test, both sides
            if first > max_cost ** 2 or first > max_norm ** 2 * min(inside_out[a], inside_in[b]):
                continue                                    # rougher than the tiles' insides
            kept.add((kind, a, b))
    return kept


# ------------------------------------------------------------------ test data
def _section(rng, rows, cols):
    """A textured section (smooth noise with layers), like a seismic image."""
    height, width = rows * TILE, cols * TILE
    noise = ndimage.gaussian_filter(rng.standard_normal((height, width)), (1.5, 4.0))
    layers = np.sin(np.arange(height)[:, None] / rng.uniform(3, 7) + 0.002 * np.arange(width)[None, :] ** 1.3)
    image = 0.6 * noise / noise.std() + layers + 0.05 * rng.standard_normal((height, width))
    return image


def _cut(image, rows, cols):
    return [image[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] for r in range(rows) for c in range(cols)]


def _stretch(tile):
    """Each competition tile was stretched to the full grey range on its own."""
    low, high = tile.min(), tile.max()
    return np.rint((tile - low) / (high - low) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def puzzle():
    """Tiles of three sections (2x3, 3x2, 2x2), each stretched on its own, plus distractors
    (tiles of unrelated sections), blank tiles and a flat grey tile; shuffled.

    Returns the stack and the true pairs as (kind, a, b) positions.
    """
    rng = np.random.default_rng(3)
    tiles, places = [], []
    for number, (rows, cols) in enumerate([(2, 3), (3, 2), (2, 2)]):
        for k, tile in enumerate(_cut(_section(rng, rows, cols), rows, cols)):
            tiles.append(_stretch(tile))
            places.append((number, k // cols, k % cols))
    for _ in range(12):
        tiles.append(_stretch(_cut(_section(rng, 1, 1), 1, 1)[0]))
        places.append(None)
    for value in (0, 0, 0, 128):
        tiles.append(np.full((TILE, TILE), value, np.uint8))
        places.append(None)
    order = rng.permutation(len(tiles))
    images = np.stack([tiles[i] for i in order])
    places = [places[i] for i in order]
    where = {p: i for i, p in enumerate(places) if p is not None}
    truth = set()
    for (number, r, c), i in where.items():
        if (number, r, c + 1) in where:
            truth.add(("right", i, where[(number, r, c + 1)]))
        if (number, r + 1, c) in where:
            truth.add(("below", i, where[(number, r + 1, c)]))
    return images, truth


# ------------------------------------------------------------------ tests
def test_puzzle_pairs_are_the_true_ones(puzzle):
    images, truth = puzzle
    assert len(truth) == 7 + 7 + 4
    assert find_neighbours(images).as_set() == truth


def test_kdtree_search_agrees_with_brute_force_on_the_puzzle(puzzle):
    images, _ = puzzle
    reference = reference_pairs(images)
    assert find_neighbours(images).as_set() == reference
    assert find_neighbours(images, verify=True).as_set() == reference
    assert find_neighbours(images, exact=True).as_set() == reference


@pytest.mark.parametrize("settings", [dict(ratio=1.0), dict(ratio=0.7), dict(max_norm=5.0, max_cost=3.0),
                                      dict(min_contrast=0.0), dict(extrapolation=1.0)])
def test_kdtree_search_agrees_with_brute_force_on_random_sets(settings):
    """Many similar tiles (pieces of one large section with overlaps and noise): near ties
    everywhere, so candidates, runner-ups and the ratio test all matter."""
    rng = np.random.default_rng(11)
    section = _section(rng, 4, 4)
    tiles = []
    for _ in range(70):
        r, c = rng.integers(0, 3 * TILE, 2)
        tiles.append(_stretch(section[r:r + TILE, c:c + TILE] + 0.02 * rng.standard_normal((TILE, TILE))))
    tiles += [_stretch(t) for t in _cut(section, 4, 4)]
    images = np.stack([tiles[i] for i in rng.permutation(len(tiles))])
    reference = reference_pairs(images, **settings)
    assert len(reference) >= 10
    assert find_neighbours(images, verify=True, **settings).as_set() == reference
    assert find_neighbours(images, exact=True, **settings).as_set() == reference
    # Without the check, a runner-up the candidates missed may let a near tie through.
    fast = find_neighbours(images, **settings).as_set()
    assert len(fast & reference) >= 0.8 * len(fast | reference)
    # Few components and candidates make the tree's proposals poor: the checked result
    # may miss pairs but never keeps one the reference rejects.
    rough = find_neighbours(images, n_components=2, n_candidates=1, verify=True, **settings).as_set()
    assert rough <= reference


def test_real_tiles_agree_with_brute_force(tgs_dir):
    """The 3,200 labelled TGS tiles against the vectorised reference (all pairs scored)."""
    from saltviewer import open_dataset

    dataset = open_dataset(tgs_dir)
    images = dataset.images(dataset.indices("train"))
    reference = _vectorised_reference(images)
    assert len(reference) > 50
    checked = find_neighbours(images, verify=True).as_set()
    assert checked <= reference                         # nothing the reference rejects
    assert len(checked) >= 0.99 * len(reference)        # and almost nothing missed
    fast = find_neighbours(images).as_set()
    assert len(fast & reference) >= 0.98 * len(fast | reference)


def _vectorised_reference(images):
    """All pairs scored with matrix products; the same rules as `reference_pairs`."""
    kept = set()
    n = len(images)
    for kind in nb.KINDS:
        out, into = (f.astype(np.float64) for f in border_features(images, kind))
        squared = (out ** 2).sum(1)[:, None] + (into ** 2).sum(1)[None, :] - 2 * out @ into.T
        squared = np.maximum(squared, 0) / out.shape[1]
        np.fill_diagonal(squared, np.inf)
        squared[nb.edge_contrast(images, kind, "out") < nb.MIN_CONTRAST] = np.inf
        squared[:, nb.edge_contrast(images, kind, "in") < nb.MIN_CONTRAST] = np.inf
        inside_out = nb._inside_cost(images, kind, "out", nb.EXTRAPOLATION)
        inside_in = nb._inside_cost(images, kind, "in", nb.EXTRAPOLATION)
        best_b = squared.argmin(1)
        best_a = squared.argmin(0)
        rows = np.sort(squared, axis=1)[:, :2]
        cols = np.sort(squared, axis=0)[:2].T
        for a in range(n):
            b = best_b[a]
            first = squared[a, b]
            if not np.isfinite(first) or best_a[b] != a:
                continue
            if not (first < nb.RATIO ** 2 * rows[a, 1] and first < nb.RATIO ** 2 * cols[b, 1]):
                continue
            if first > nb.MAX_COST ** 2 or first > nb.MAX_NORM ** 2 * min(inside_out[a], inside_in[b]):
                continue
            kept.add((kind, a, b))
    return kept


def test_flat_and_blank_borders_never_match():
    rng = np.random.default_rng(0)
    section = _stretch(_section(rng, 1, 2))
    blank = np.zeros((TILE, TILE), np.uint8)
    flat_edge = section[:, :TILE].copy()
    flat_edge[:, -3:] = 90            # a flat band along the right edge
    images = np.stack([blank, blank.copy(), np.full((TILE, TILE), 200, np.uint8), flat_edge, section[:, TILE:]])
    pairs = find_neighbours(images, ratio=1.0, max_norm=100.0, max_cost=100.0)
    assert not any(a in (0, 1, 2) or b in (0, 1, 2) for _, a, b in pairs.as_set())
    assert ("right", 3, 4) not in pairs.as_set()
    # without the flat band the two halves do match
    assert ("right", 0, 1) in find_neighbours(np.stack([section[:, :TILE], section[:, TILE:]])).as_set()


def test_a_border_with_two_identical_candidates_does_not_match():
    rng = np.random.default_rng(1)
    section = _section(rng, 1, 2)
    left, right = (_stretch(t) for t in _cut(section, 1, 2))
    assert ("right", 0, 1) in find_neighbours(np.stack([left, right])).as_set()
    # A duplicate of the right tile makes the match a tie: the ratio test rejects it.
    assert len(find_neighbours(np.stack([left, right, right.copy()]), kinds="right")) == 0


def test_cost_ignores_the_brightness_and_contrast_of_each_tile():
    rng = np.random.default_rng(2)
    left, right = _cut(_section(rng, 1, 2), 1, 2)
    plain = np.stack([_stretch(left), _stretch(right)])
    darker = np.stack([_stretch(left), (_stretch(right) * 0.5 + 20).astype(np.uint8)])
    cost_plain, norm_plain = pair_costs(plain, [0], [1], "right")
    cost_darker, norm_darker = pair_costs(darker, [0], [1], "right")
    assert cost_plain[0] < 0.5 and norm_plain[0] < 1.5
    assert cost_darker[0] == pytest.approx(cost_plain[0], abs=0.02)
    # and the cost of the wrong order is far larger
    assert pair_costs(plain, [1], [0], "right")[1][0] > 3 * norm_plain[0]


def test_costs_match_the_feature_distances(puzzle):
    images, truth = puzzle
    kind, a, b = sorted(truth)[0]
    out, into = border_features(images, kind)
    cost, _ = pair_costs(images, [a], [b], kind)
    assert cost[0] ** 2 == pytest.approx(np.sum((out[a].astype(float) - into[b]) ** 2) / out.shape[1], rel=1e-5)


def test_kept_pairs_report_their_scores(puzzle):
    images, _ = puzzle
    pairs = find_neighbours(images)
    assert np.all(pairs.norm <= nb.MAX_NORM + 1e-9)
    assert np.all(pairs.ratio < nb.RATIO)
    assert np.all(pairs.cost <= nb.MAX_COST + 1e-9)
    assert set(pairs.kind) == {"right", "below"}
    assert "pairs" in repr(pairs)
    assert len(pairs[pairs.kind == "right"]) == np.sum(pairs.kind == "right")


def test_each_tile_side_is_used_once(puzzle):
    images, _ = puzzle
    pairs = find_neighbours(images, ratio=1.0, max_norm=50.0, max_cost=50.0)
    for kind in nb.KINDS:
        chosen = pairs[pairs.kind == kind]
        assert len(set(chosen.a)) == len(chosen) and len(set(chosen.b)) == len(chosen)


@pytest.mark.parametrize("settings, words", [
    (dict(ratio=0), "ratio"), (dict(ratio=1.5), "ratio"), (dict(max_norm=-1), "max_norm"),
    (dict(max_cost=0), "max_cost"), (dict(min_contrast=-2), "min_contrast"), (dict(n_components=0), "n_components"),
    (dict(n_candidates=0), "n_candidates"), (dict(eps=-1), "eps"), (dict(kinds=["left"]), "kind"),
])
def test_bad_parameters_name_themselves(puzzle, settings, words):
    with pytest.raises(SaltviewerError, match=words):
        find_neighbours(puzzle[0], **settings)


@pytest.mark.parametrize("images, words", [
    (np.zeros((4, 101)), "stack"), (np.zeros((2, 2, 2)), "3x3"), (np.zeros((2, 5, 5), dtype=complex), "dtype"),
])
def test_bad_images_are_refused(images, words):
    with pytest.raises(SaltviewerError, match=words):
        find_neighbours(images)


def test_no_tiles_or_one_tile_give_no_pairs():
    assert len(find_neighbours(np.zeros((0, TILE, TILE), np.uint8))) == 0
    assert len(find_neighbours(np.full((1, TILE, TILE), 7, np.uint8))) == 0
    assert isinstance(NeighbourPairs.empty(), NeighbourPairs)
