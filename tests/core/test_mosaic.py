"""Mosaics: assembly on grids, files, lookups, stitching and boundary consistency."""

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from saltviewer import SaltviewerError, Workspace, open_dataset
from saltviewer.mosaic import (DIRECTIONS, Mosaic, Mosaics, assemble, boundary_consistency, build_mosaics,
                               load_mosaics, mosaics_folder, read_mosaics, read_pairs, render_mosaic,
                               review_items, stitch, write_mosaics)
from saltviewer.mosaic import search_candidates
from saltviewer.mosaic.assembly import grow_mosaics
from saltviewer.neighbours import NeighbourPairs
from saltviewer.sample import synthetic_section

from mosaic_reference import replay_against_exhaustive_costs

TILE = 101


def _pairs(rows, norm=None):
    """NeighbourPairs from (kind, a, b) rows; `norm` sets the trust order (default: row order)."""
    kinds, a, b = zip(*rows) if rows else ((), (), ())
    norm = np.arange(len(rows), dtype=float) if norm is None else norm
    return NeighbourPairs(kinds, a, b, np.zeros(len(rows)), norm, np.zeros(len(rows)))


def _check_invariants(placements, pairs, kept):
    """What every assembly must satisfy, checked the slow way."""
    seen = {}
    for number, tiles in enumerate(placements):
        assert len(tiles) >= 2
        cells = list(tiles.values())
        assert len(set(cells)) == len(cells), "two tiles share a cell"
        assert min(r for r, _ in cells) == 0 and min(c for _, c in cells) == 0
        for tile in tiles:
            assert tile not in seen, "a tile sits in two mosaics"
            seen[tile] = number
    step = {"right": (0, 1), "below": (1, 0)}
    links = {}
    for i in np.flatnonzero(kept):
        kind, a, b = pairs.kind[i], int(pairs.a[i]), int(pairs.b[i])
        assert seen[a] == seen[b]
        tiles = placements[seen[a]]
        assert (tiles[b][0] - tiles[a][0], tiles[b][1] - tiles[a][1]) == step[kind]
        links.setdefault(a, set()).add(b)
        links.setdefault(b, set()).add(a)
    for tiles in placements:                      # connected through kept pairs
        start = next(iter(tiles))
        reached, todo = {start}, [start]
        while todo:
            for other in links.get(todo.pop(), ()):
                if other not in reached:
                    reached.add(other)
                    todo.append(other)
        assert reached == set(tiles)


# ------------------------------------------------------------------ assembly
def test_pairs_walk_onto_a_grid():
    pairs = _pairs([("right", 5, 6), ("below", 5, 8), ("right", 8, 9), ("below", 6, 9), ("right", 1, 2)])
    placements, kept, conflicts = assemble(pairs)
    assert placements == [{5: (0, 0), 6: (0, 1), 8: (1, 0), 9: (1, 1)}, {1: (0, 0), 2: (0, 1)}]
    assert kept.all() and conflicts == []
    _check_invariants(placements, pairs, kept)


def test_a_pair_that_would_share_a_cell_is_set_aside():
    # 0-1 and 2-3 side by side; 3 below 0 is fine, but then 1 below 2 would need 2 at the
    # cell left of 3, where nothing is... and 4 right of 0 needs 1's cell.
    pairs = _pairs([("right", 0, 1), ("right", 2, 3), ("below", 0, 4), ("right", 4, 3), ("right", 0, 5)])
    placements, kept, conflicts = assemble(pairs)
    assert kept.tolist() == [True, True, True, False, False]
    assert [i for i, _ in conflicts] == [3, 4]
    assert "one cell" in conflicts[0][1]
    _check_invariants(placements, pairs, kept)


def test_a_loop_that_disagrees_is_set_aside():
    pairs = _pairs([("right", 0, 1), ("below", 0, 2), ("right", 2, 3), ("below", 1, 3), ("below", 3, 0)])
    placements, kept, conflicts = assemble(pairs)
    assert kept.tolist() == [True, True, True, True, False]
    assert "already places" in conflicts[0][1]
    assert placements == [{0: (0, 0), 1: (0, 1), 2: (1, 0), 3: (1, 1)}]


def test_the_more_trustworthy_pair_wins():
    rows = [("right", 0, 1), ("right", 0, 2)]       # the same side of tile 0 twice
    _, kept, _ = assemble(_pairs(rows, norm=np.array([2.0, 1.0])))
    assert kept.tolist() == [False, True]
    _, kept, _ = assemble(_pairs(rows, norm=np.array([1.0, 2.0])))
    assert kept.tolist() == [True, False]


def test_random_pairs_always_give_a_valid_assembly():
    rng = np.random.default_rng(0)
    for _ in range(30):
        n = 40
        rows = [(rng.choice(["right", "below"]), *rng.choice(n, 2, replace=False)) for _ in range(60)]
        pairs = _pairs(rows, norm=rng.random(len(rows)))
        placements, kept, conflicts = assemble(pairs, n)
        _check_invariants(placements, pairs, kept)
        assert len(conflicts) == len(rows) - kept.sum()


def test_bad_pairs_are_refused():
    with pytest.raises(SaltviewerError, match="itself"):
        assemble(_pairs([("right", 3, 3)]))
    with pytest.raises(SaltviewerError, match="positions"):
        assemble(_pairs([("right", 0, 9)]), n_tiles=5)


def test_a_join_that_makes_rough_edges_is_set_aside():
    """Two true 2x1 columns joined by a wrong pair: the join would make two unrelated tiles
    meet, and the edge they would share gives it away (here 3.7 times rougher than the
    tiles' insides; a true edge is about 1)."""
    rng = np.random.default_rng(5)
    image, _ = synthetic_section(rng, 2, 2)
    other, _ = synthetic_section(rng, 2, 1)
    tiles = [image[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] for r in range(2) for c in range(2)]
    tiles += [other[:TILE], other[TILE:]]
    images = np.stack(tiles)                        # 0 1 / 2 3 and a stranger column 4 / 5
    pairs = _pairs([("below", 0, 2), ("below", 4, 5), ("right", 0, 4)])   # 4 right of 0 is wrong
    _, kept, _ = assemble(pairs, images=None)
    assert kept.all()                               # nothing to see without the images
    placements, kept, conflicts = assemble(pairs, images=images)
    assert kept.tolist() == [True, True, False]
    assert "rougher" in conflicts[0][1]
    pairs = _pairs([("below", 0, 2), ("below", 1, 3), ("right", 0, 1)])   # the true join
    assert assemble(pairs, images=images)[1].all()


# ------------------------------------------------------------------ growth against an exhaustive reference
@pytest.fixture(scope="module")
def grown(sample_dataset):
    """The growth on candidate lists that hold every tile within reach (an exact search), so
    that each of its decisions can be held against all pairs."""
    images = sample_dataset.images()
    seeds, candidates, _ = search_candidates(images, n_candidates=len(images), eps=0.0)
    placements, log = grow_mosaics(candidates, seeds, len(images), record=True)
    return images, candidates, placements, log


def test_every_step_of_the_growth_holds_against_all_pairs(grown):
    _, candidates, placements, log = grown
    assert {entry.reason for entry in log} >= {"seed", "grow"}
    assert sum(len(p.links) for p in log if p.reason == "grow") >= 30
    assert replay_against_exhaustive_costs(candidates, log) == []


def test_the_replay_catches_a_step_taken_on_too_short_a_list(grown):
    """Candidate lists cut to one tile hide the runner-ups: the growth then takes steps that
    all pairs would refuse, and the reference says which."""
    images = grown[0]
    seeds, candidates, _ = search_candidates(images, n_candidates=1, eps=0.0)
    for found in candidates.values():          # pretend nothing lies beyond the one candidate
        found.reach_out = np.full(len(found.reach_out), 1e9)
        found.reach_in = np.full(len(found.reach_in), 1e9)
    _, log = grow_mosaics(candidates, seeds, len(images), record=True)
    assert replay_against_exhaustive_costs(candidates, log)


def test_the_growth_log_builds_the_placements(grown):
    """Every pair of grid neighbours in the result is an edge some step checked."""
    _, _, placements, log = grown
    checked = {(kind, a, b) for entry in log for kind, a, b, _ in entry.links}
    step = {"right": (0, 1), "below": (1, 0)}
    for tiles in placements:
        at = {cell: tile for tile, cell in tiles.items()}
        assert len(at) == len(tiles) >= 2
        for tile, (r, c) in tiles.items():
            for kind, (dr, dc) in step.items():
                if (r + dr, c + dc) in at:
                    edge = (kind, tile, at[(r + dr, c + dc)])
                    assert edge in checked or _flat_edge(grown[1], edge), edge
    assert sum(len(t) for t in placements) == len({t for tiles in placements for t in tiles})


def _flat_edge(candidates, edge):
    kind, a, b = edge
    return candidates[kind].side_out[a] == 0 or candidates[kind].side_in[b] == 0


def test_a_tile_joins_where_it_beats_the_runner_up_and_not_where_it_ties():
    """Three tiles of one row: the middle one is placed between the other two. A copy of the
    right tile makes the right edge a tie, which no margin can settle."""
    rng = np.random.default_rng(12)
    image, _ = synthetic_section(rng, 1, 3)
    tiles = [image[:, c * TILE:(c + 1) * TILE] for c in range(3)]
    seeds, candidates, _ = search_candidates(np.stack(tiles))
    assert grow_mosaics(candidates, seeds, 3) == [{0: (0, 0), 1: (0, 1), 2: (0, 2)}]
    seeds, candidates, _ = search_candidates(np.stack(tiles + [tiles[2].copy()]))
    placements = grow_mosaics(candidates, seeds, 4)
    assert all(not ({2, 3} & set(tiles)) for tiles in placements)
    assert placements == [{0: (0, 0), 1: (0, 1)}]


# ------------------------------------------------------------------ the synthetic sample
def _truth(root):
    with open(root / "sample_layout.csv", newline="") as handle:
        where = {(int(r["section"]), int(r["row"]), int(r["col"])): r["id"] for r in csv.DictReader(handle)}
    truth = set()
    for (section, r, c), tile in where.items():
        if (section, r, c + 1) in where:
            truth.add(("right", tile, where[(section, r, c + 1)]))
        if (section, r + 1, c) in where:
            truth.add(("below", tile, where[(section, r + 1, c)]))
    return truth


@pytest.fixture(scope="module")
def sample_mosaics(sample_dataset):
    return build_mosaics(sample_dataset)


def test_pairs_match_the_true_layout_of_the_sample(sample_dir, sample_mosaics):
    truth = _truth(sample_dir)
    found = set(sample_mosaics.pairs)
    precision = len(found & truth) / len(found)
    recall = len(found & truth) / len(truth)
    assert len(truth) > 50
    assert precision >= 0.95, (precision, recall)
    assert recall >= 0.8, (precision, recall)


def test_larger_samples_match_their_layout_too(tmp_path):
    from saltviewer import make_sample

    for seed in (1, 2):
        root = make_sample(tmp_path / f"s{seed}", n_train=150, n_test=50, seed=seed)
        found = set(build_mosaics(open_dataset(root)).pairs)
        truth = _truth(root)
        assert len(found & truth) / len(found) >= 0.98
        assert len(found & truth) / len(truth) >= 0.85


def test_a_whole_section_is_rebuilt_and_stitched_back(tmp_path):
    """Every tile of a synthetic section, shuffled: one mosaic, which stitches back into
    the section pixel for pixel (up to its mirror-free placement)."""
    rng = np.random.default_rng(8)
    image, salt = synthetic_section(rng, 3, 5)
    tiles = [image[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] for r in range(3) for c in range(5)]
    order = rng.permutation(len(tiles))
    root = tmp_path / "data" / "test" / "images"
    root.mkdir(parents=True)
    from saltviewer import write_image

    for k, i in enumerate(order):
        write_image(root / f"t{k:02d}.png", tiles[i])
    dataset = open_dataset(tmp_path / "data")
    mosaics = build_mosaics(dataset)
    assert len(mosaics) == 1 and len(mosaics[0]) == 15 and mosaics[0].shape == (3, 5)
    assert np.array_equal(stitch(mosaics[0], dataset.image), image)
    assert np.array_equal(stitch(mosaics[0], dataset.images()), image)


# ------------------------------------------------------------------ lookups and files
def test_lookups_agree_with_the_grid(sample_dataset, sample_mosaics):
    mosaics = sample_mosaics
    assert mosaics.tiles_covered == sum(len(m) for m in mosaics)
    for i, tile in enumerate(sample_dataset.ids):
        place = mosaics.locate(tile)
        assert place == mosaics.locate(i)
        if place is None:
            assert mosaics.mosaic_index[i] == -1 and np.all(mosaics.neighbour_index[i] == -1)
            assert mosaics.neighbours(tile) == dict.fromkeys(DIRECTIONS)
            continue
        number, r, c = place
        mosaic = mosaics[number]
        assert mosaic.at(r, c) == tile and mosaics.mosaic_of(tile) is mosaic
        assert (mosaics.mosaic_index[i], mosaics.row[i], mosaics.col[i]) == place
        expected = {"up": mosaic.at(r - 1, c), "down": mosaic.at(r + 1, c),
                    "left": mosaic.at(r, c - 1), "right": mosaic.at(r, c + 1)}
        assert mosaics.neighbours(tile) == expected
        by_index = [None if j < 0 else sample_dataset.ids[j] for j in mosaics.neighbour_index[i]]
        assert by_index == [expected[d] for d in DIRECTIONS]
    sizes = [len(m) for m in mosaics]
    assert sizes == sorted(sizes, reverse=True) and min(sizes) >= 2


def test_files_round_trip(tmp_path, sample_dataset, sample_mosaics):
    pairs_path, json_path = write_mosaics(sample_mosaics, tmp_path / "out", labelled=sample_dataset)
    with open(pairs_path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["kind", "a", "b"]
    assert [tuple(r) for r in rows[1:]] == sample_mosaics.pairs == read_pairs(pairs_path)
    document = json.loads(json_path.read_text())
    assert document["counts"]["mosaics"] == len(sample_mosaics)
    assert document["counts"]["tiles"] == sample_mosaics.tiles_covered
    assert document["mosaics"][0]["tiles"][0].keys() == {"id", "row", "col"}
    assert document["mosaics"][0]["labelled"] == sample_mosaics[0].n_labelled(sample_dataset)
    again = read_mosaics(tmp_path / "out", sample_dataset)
    assert [(m.ids, m.rows.tolist(), m.cols.tolist()) for m in again] == \
           [(m.ids, m.rows.tolist(), m.cols.tolist()) for m in sample_mosaics]
    assert np.array_equal(again.neighbour_index, sample_mosaics.neighbour_index)
    unbound = read_mosaics(json_path)
    assert unbound.locate(sample_mosaics[0].ids[0]) == (0, *sample_mosaics.locate(sample_mosaics[0].ids[0])[1:])
    with pytest.raises(SaltviewerError, match="bound"):
        unbound.locate(0)


def test_the_workspace_keeps_mosaics_per_dataset(workspace, sample_dataset, sample_mosaics):
    with pytest.raises(SaltviewerError, match="saltviewer mosaic"):
        load_mosaics(workspace, sample_dataset)
    write_mosaics(sample_mosaics, mosaics_folder(workspace, sample_dataset))
    assert (workspace.mosaics_dir / sample_dataset.key / "pairs.csv").is_file()
    loaded = load_mosaics(workspace, sample_dataset)
    assert loaded.summary(sample_dataset)[0]["labelled"] == sample_mosaics[0].n_labelled(sample_dataset)


def test_broken_files_are_named(tmp_path, sample_dir, sample_dataset, sample_mosaics):
    _, json_path = write_mosaics(sample_mosaics, tmp_path / "out")
    document = json.loads(json_path.read_text())
    other = tmp_path / "other"
    shutil.copytree(sample_dir, other)
    (other / "test" / "images" / f"{sample_dataset.ids[-1]}.png").unlink()
    with pytest.raises(SaltviewerError, match="another set of tiles"):
        read_mosaics(json_path, open_dataset(other))
    broken = json.loads(json.dumps(document))
    broken["dataset"] = {}
    broken["mosaics"][0]["tiles"][1] = dict(broken["mosaics"][0]["tiles"][0], id=broken["mosaics"][0]["tiles"][1]["id"])
    json_path.write_text(json.dumps(broken))
    with pytest.raises(SaltviewerError, match="two tiles in one cell"):
        read_mosaics(json_path)
    broken = json.loads(json.dumps(document))
    broken["dataset"] = {}
    broken["mosaics"][0]["tiles"][0]["id"] = "nosuchtile"
    json_path.write_text(json.dumps(broken))
    with pytest.raises(SaltviewerError, match="nosuchtile"):
        read_mosaics(json_path, sample_dataset)
    json_path.write_text("{not json")
    with pytest.raises(SaltviewerError, match="not a readable"):
        read_mosaics(json_path)
    with pytest.raises(SaltviewerError, match="no such file"):
        read_mosaics(tmp_path / "nowhere" / "mosaics.json")


# ------------------------------------------------------------------ stitching and boundaries
def _square():
    """A 2x2 mosaic with the bottom-right tile missing."""
    return Mosaic(0, ["a", "b", "c"], [0, 0, 1], [0, 1, 0])


def test_stitch_places_tiles_and_leaves_missing_ones_empty():
    tiles = {"a": np.full((TILE, TILE), 1), "b": np.full((TILE, TILE), 2), "c": np.full((TILE, TILE), 3)}
    stitched = stitch(_square(), tiles, fill=-1)
    assert stitched.shape == (2 * TILE, 2 * TILE)
    assert stitched[0, 0] == 1 and stitched[0, TILE] == 2 and stitched[TILE, 0] == 3 and stitched[-1, -1] == -1
    assert np.array_equal(stitch(_square(), tiles.get), stitched * (stitched > 0))
    masks = stitch(_square(), lambda tile: None if tile == "b" else np.ones((TILE, TILE), bool))
    assert masks.dtype == bool and masks[0, 0] and not masks[0, TILE] and not masks[-1, -1]
    with pytest.raises(SaltviewerError, match="bound to a dataset"):
        stitch(_square(), np.zeros((3, TILE, TILE)))
    with pytest.raises(SaltviewerError, match="shape"):
        stitch(_square(), lambda tile: np.zeros((5, 5)))


def _edge_masks(left_rows, right_rows):
    """Masks of tiles a (left) and b (right): salt in the given rows at the shared edge."""
    a = np.zeros((TILE, TILE), bool)
    b = np.zeros((TILE, TILE), bool)
    a[left_rows, 60:] = True
    b[right_rows, :40] = True
    return {"a": a, "b": b, "c": None}


@pytest.mark.parametrize("left, right, mismatch", [
    (slice(20, 50), slice(20, 50), 0),        # salt continues
    (slice(20, 50), slice(22, 52), 0),        # a slanted boundary, within the tolerance
    (slice(20, 50), slice(30, 50), 8),        # 10 rows of salt stop; 2 are forgiven
    (slice(20, 50), slice(0, 0), 30),         # salt stops dead at the edge
    (slice(0, 0), slice(0, 0), 0),            # no salt on either side
])
def test_boundary_scores_count_salt_that_stops_at_the_edge(left, right, mismatch):
    scores = boundary_consistency(_square(), _edge_masks(left, right))
    assert len(scores) == 1                   # a-b only; c has no mask and d is missing
    score = scores[0]
    assert (score.kind, score.a, score.b, score.row, score.col) == ("right", "a", "b", 0, 0)
    assert score.mismatch == mismatch
    assert score.score == (1.0 if score.salt == 0 else pytest.approx(1 - mismatch / score.salt))


def test_boundary_scores_match_a_pixel_loop():
    rng = np.random.default_rng(5)
    mosaic = Mosaic(0, ["p", "q", "r", "s"], [0, 0, 1, 1], [0, 1, 0, 1])
    masks = {t: rng.random((TILE, TILE)) < 0.3 for t in mosaic.ids}
    for s in boundary_consistency(mosaic, masks, tolerance=1):
        a, b = masks[s.a], masks[s.b]
        edge_a, edge_b = (a[:, -1], b[:, 0]) if s.kind == "right" else (a[-1, :], b[0, :])
        expected = 0
        for k in range(TILE):
            window = slice(max(k - 1, 0), k + 2)
            expected += int(edge_a[k] and not edge_b[window].any()) + int(edge_b[k] and not edge_a[window].any())
        assert s.mismatch == expected
    assert len(boundary_consistency(mosaic, masks)) == 4


def test_review_items_put_the_worst_edge_first(sample_dataset, sample_mosaics):
    items = review_items(sample_mosaics, sample_dataset.mask, limit=None, min_mismatch=0)
    assert items
    assert [i.mismatch for i in items] == sorted((i.mismatch for i in items), reverse=True)
    assert review_items(sample_mosaics, sample_dataset.mask, limit=3, min_mismatch=0) == items[:3]
    masks = np.stack([sample_dataset.mask(i) if sample_dataset.has_mask[i] else np.zeros((TILE, TILE), bool)
                      for i in range(len(sample_dataset))])
    from_array = review_items(sample_mosaics, masks, limit=None, min_mismatch=1)
    assert {(i.a, i.b) for i in from_array} >= {(i.a, i.b) for i in items if i.mismatch >= 1}


def test_render_draws_outlines_names_and_bad_edges():
    tiles = {t: np.full((TILE, TILE), 100, np.uint8) for t in "abc"}
    masks = _edge_masks(slice(20, 50), slice(0, 0))
    picture = render_mosaic(_square(), tiles, masks, scale=2)
    assert picture.shape == (4 * TILE, 4 * TILE, 3) and picture.dtype == np.uint8
    colours = {tuple(c) for c in picture.reshape(-1, 3)}
    assert (255, 214, 0) in colours           # mask outline
    assert (255, 40, 40) in colours           # the edge where salt stops
    assert (40, 48, 64) in colours            # the missing tile
    assert tuple(picture[2 * TILE + 60, 2 * TILE + 60]) == (40, 48, 64)
    plain = render_mosaic(_square(), tiles, scale=1, names=False, grid=False)
    assert {tuple(c) for c in plain.reshape(-1, 3)} == {(100, 100, 100), (40, 48, 64)}


# ------------------------------------------------------------------ the command
def _saltviewer(*args):
    return subprocess.run([sys.executable, "-m", "saltviewer", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_the_mosaic_command_writes_the_files(tmp_path, sample_dir, sample_dataset):
    result = _saltviewer("mosaic", sample_dir, "--out", tmp_path / "out", "--png", 1)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "pairs.csv").is_file() and (tmp_path / "out" / "png" / "mosaic_0000.png").is_file()
    mosaics = read_mosaics(tmp_path / "out", sample_dataset)
    assert f"pairs: {len(mosaics.pairs)} (" in result.stdout
    assert f"mosaics: {len(mosaics)} " in result.stdout
    assert f"tiles covered: {mosaics.tiles_covered} of {len(sample_dataset)}" in result.stdout
    result = _saltviewer("mosaic", sample_dir, "--workspace", tmp_path / "ws")
    assert result.returncode == 0, result.stderr
    assert len(load_mosaics(Workspace(tmp_path / "ws"), sample_dataset)) == len(mosaics)


def test_the_mosaic_command_refuses_bad_input_in_one_line(tmp_path, sample_dir):
    result = _saltviewer("mosaic", sample_dir)
    assert result.returncode == 1 and "--out DIR or --workspace WS" in result.stderr
    result = _saltviewer("mosaic", sample_dir, "--out", tmp_path / "o", "--ratio", 2)
    assert result.returncode == 1 and "ratio" in result.stderr and "Traceback" not in result.stderr
    result = _saltviewer("mosaic", tmp_path / "missing", "--out", tmp_path / "o")
    assert result.returncode == 1 and "no such folder" in result.stderr


def test_mosaics_without_a_dataset_refuse_array_tiles():
    mosaics = Mosaics([_square()])
    assert mosaics.locate("b") == (0, 0, 1)
    assert mosaics.neighbours("a") == {"up": None, "down": "c", "left": None, "right": "b"}
    assert mosaics.mosaic_index is None
    with pytest.raises(SaltviewerError, match="two mosaic|one place"):
        Mosaics([_square(), Mosaic(1, ["a", "z"], [0, 0], [0, 1])])


@pytest.fixture(scope="module")
def broken_sample(tmp_path_factory, sample_dir, sample_mosaics, sample_dataset):
    """The sample with the salt of one labelled tile wiped from its training mask, where salt
    crosses an edge to a labelled neighbour: the mask now stops dead at that edge."""
    from saltviewer import write_mask
    from saltviewer.rle import rle_encode

    root = tmp_path_factory.mktemp("broken") / "data"
    shutil.copytree(sample_dir, root)
    for kind, a, b in sample_mosaics.pairs:
        if not (sample_dataset.has_mask[sample_dataset.index(a)] and sample_dataset.has_mask[sample_dataset.index(b)]):
            continue
        edge_a = sample_dataset.mask(a)[:, -1] if kind == "right" else sample_dataset.mask(a)[-1]
        edge_b = sample_dataset.mask(b)[:, 0] if kind == "right" else sample_dataset.mask(b)[0]
        if edge_a.sum() >= 20 and edge_b.sum() >= 20:
            break
    else:
        pytest.fail("the sample has no labelled edge that salt crosses")
    empty = np.zeros((TILE, TILE), bool)
    write_mask(root / "train" / "masks" / f"{b}.png", empty)
    rows = list(csv.reader(open(root / "train.csv", newline="")))
    with open(root / "train.csv", "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(
            [row if row[0] != b else [b, rle_encode(empty)] for row in rows])
    return root, open_dataset(root), (kind, a, b)


def test_the_worst_edges_become_label_review_items(tmp_path, broken_sample, sample_mosaics):
    from saltviewer.mosaic import boundary_proposals
    from saltviewer.store import CurationStore, Proposal

    root, dataset, (kind, a, b) = broken_sample
    items = review_items(sample_mosaics, dataset.mask, limit=5)
    assert items and items[0].mismatch >= 20 and {items[0].a, items[0].b} == {a, b}
    proposals = boundary_proposals(items, dataset)
    tiles = [p.tile for p in proposals]
    assert len(tiles) == len(set(tiles)) and set(tiles) <= {t for s in items for t in (s.a, s.b)}
    for p in proposals:
        index = dataset.index(p.tile)
        assert dataset.has_mask[index] and np.array_equal(p.mask, dataset.mask(index))
        assert p.kind == "label" and p.criterion == "mosaic-edge" and p.agreement == 0.0
        assert 0 < p.disagreement <= 1 and "salt stops dead at the" in p.reason
    worst = items[0]
    first = next(p for p in proposals if p.tile == worst.a)
    assert first.disagreement == pytest.approx(worst.mismatch / worst.salt) and first.scores["neighbour"] == worst.b

    workspace = Workspace(tmp_path / "ws")
    with CurationStore(workspace.store_path) as store:          # a tile already under review stays as it is
        store.propose(dataset, [Proposal(tile=worst.b, mask=np.zeros((TILE, TILE), bool), kind="label",
                                         criterion="label-error", reason="planted")])
    result = _saltviewer("mosaic", root, "--workspace", workspace.path, "--review", 5)
    assert result.returncode == 0, result.stderr
    with CurationStore(workspace.store_path) as store:
        queued = {item.tile: item for item in store.items(dataset, kind="label")}
    assert queued[worst.b].criterion == "label-error"
    edge_items = {t for t, item in queued.items() if item.criterion == "mosaic-edge"}
    assert edge_items == set(tiles) - {worst.b}
    assert f"queued {len(edge_items)} of their tiles for review" in result.stdout
