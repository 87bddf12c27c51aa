"""Exploration: mask rules and duplicate searches against slow references, figures, the report and the verb."""

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from scipy import ndimage

from saltviewer import SaltviewerError, open_dataset
from saltviewer.explore import (SUSPICIOUS_REASONS, blank_tiles, coverage_class_label, coverage_classes,
                                enclosed_sediment, exact_duplicates, explore_dataset, intensity_stats,
                                masks_touching_every_edge, near_duplicates, salt_by_depth, salt_coverage,
                                smallest_salt_areas, suspicious_masks, tile_signatures,
                                vertical_stripe_masks)

SIDE = 101


def mask_with(pixels):
    mask = np.zeros((SIDE, SIDE), bool)
    mask.flat[:pixels] = True
    return mask


# -- coverage --------------------------------------------------------------------------------

def reference_class(coverage):
    """The public TGS baseline's rule, written as it was: the first i with coverage * 10 <= i."""
    for i in range(11):
        if coverage * 10 <= i:
            return i


@pytest.mark.parametrize("pixels, expected", [
    (0, 0), (1, 1), (1020, 1), (1021, 2), (5100, 5), (5101, 6), (10200, 10), (10201, 10)])
def test_coverage_classes_at_the_decile_edges(pixels, expected):
    # 10% of 10,201 pixels is 1,020.1: 1,020 pixels are still class 1, 1,021 are class 2.
    assert coverage_classes(mask_with(pixels)[None])[0] == expected
    assert salt_coverage(mask_with(pixels)[None])[0] == pytest.approx(pixels / SIDE ** 2)


def test_coverage_classes_match_the_baseline_rule():
    pixels = np.random.default_rng(0).integers(0, SIDE ** 2 + 1, 400)
    masks = np.stack([mask_with(p) for p in pixels])
    expected = [reference_class(p / SIDE ** 2) for p in pixels]
    assert coverage_classes(masks).tolist() == expected


def test_coverage_class_labels():
    assert [coverage_class_label(k) for k in (0, 1, 10)] == ["empty", "0-10%", "90-100%"]
    with pytest.raises(SaltviewerError, match="coverage class must be in 0..10, got 11"):
        coverage_class_label(11)


def test_masks_must_be_tile_stacks():
    with pytest.raises(SaltviewerError, match=r"masks must have shape \(N, 101, 101\), got \(3, 64, 64\)"):
        salt_coverage(np.zeros((3, 64, 64), bool))
    with pytest.raises(SaltviewerError, match="images must be uint8 tiles, got dtype float64"):
        intensity_stats(np.zeros((1, SIDE, SIDE)))


# -- intensities -----------------------------------------------------------------------------

def test_intensity_stats_and_blank_tiles():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (700, SIDE, SIDE), dtype=np.uint8)   # more than one chunk
    images[3] = 0
    images[5] = 200
    images[6] = 200
    images[6, 50, 50] = 203
    mean, std = intensity_stats(images)
    flat = images.reshape(len(images), -1).astype(np.float64)
    np.testing.assert_allclose(mean, flat.mean(1), rtol=1e-12)
    np.testing.assert_allclose(std, flat.std(1), atol=1e-3)
    assert np.flatnonzero(blank_tiles(images)).tolist() == [3, 5]
    assert np.flatnonzero(blank_tiles(images, tolerance=3)).tolist() == [3, 5, 6]


# -- suspicious masks ------------------------------------------------------------------------

def test_vertical_stripes():
    stripes = np.zeros((SIDE, SIDE), bool)
    stripes[:, 10:30] = True
    stripes[:, 70:71] = True
    almost = stripes.copy()
    almost[50, 20] = False
    diagonal = np.tri(SIDE, dtype=bool)
    masks = np.stack([stripes, almost, diagonal, np.zeros((SIDE, SIDE), bool), np.ones((SIDE, SIDE), bool)])
    assert vertical_stripe_masks(masks).tolist() == [True, False, False, False, False]


def test_salt_on_every_edge():
    frame = np.ones((SIDE, SIDE), bool)
    frame[5:-5, 5:-5] = False
    corners = np.zeros((SIDE, SIDE), bool)
    corners[:3, :3] = corners[-3:, -3:] = True            # top-left and bottom-right touch all four
    left = np.zeros((SIDE, SIDE), bool)
    left[:, :40] = True
    full = np.ones((SIDE, SIDE), bool)
    masks = np.stack([frame, corners, left, full])
    assert masks_touching_every_edge(masks).tolist() == [True, True, False, False]


def reference_smallest(mask):
    from skimage.measure import label

    labels = label(mask, connectivity=2)
    sizes = np.bincount(labels.ravel())[1:]
    return int(sizes.min()) if len(sizes) else 0


def reference_enclosed(mask):
    from skimage.measure import label

    labels = label(~mask, connectivity=1)
    edge = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])))
    return any(k not in edge for k in np.unique(labels) if k > 0)


def random_masks(seed, count=40):
    rng = np.random.default_rng(seed)
    smooth = ndimage.gaussian_filter(rng.standard_normal((count, SIDE, SIDE)), (0, 4, 4))
    masks = smooth > rng.uniform(0.0, 0.15, (count, 1, 1))
    masks[0] = False
    masks[1] = True
    masks[2, 40, 40] = ~masks[2, 40, 40]                  # a one-pixel speck or hole
    return masks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_region_rules_match_per_mask_references(seed):
    masks = random_masks(seed)
    assert smallest_salt_areas(masks).tolist() == [reference_smallest(m) for m in masks]
    assert enclosed_sediment(masks).tolist() == [reference_enclosed(m) for m in masks]


def test_diagonal_pixels_are_one_salt_region():
    mask = np.zeros((SIDE, SIDE), bool)
    mask[[10, 11, 12], [10, 11, 12]] = True
    ring = np.zeros((SIDE, SIDE), bool)
    ring[40:60, 40:60] = True
    ring[45:55, 45:55] = False
    areas = smallest_salt_areas(np.stack([mask, ring]))
    assert areas.tolist() == [3, 400 - 100]
    assert enclosed_sediment(np.stack([mask, ring])).tolist() == [False, True]


def test_suspicious_masks_rules_and_settings():
    speck = np.zeros((SIDE, SIDE), bool)
    speck[:, :50] = True
    speck[80, 80] = True                                     # a lone pixel
    thin_frame = np.ones((SIDE, SIDE), bool)
    thin_frame[2:-2, 2:-2] = False                            # about 8% salt, on every edge
    big = np.ones((SIDE, SIDE), bool)
    big[40:60, 40:60] = False                                 # 96% salt on every edge, with a hole
    masks = np.stack([speck, thin_frame, big])
    flags = suspicious_masks(masks)
    assert list(flags) == list(SUSPICIOUS_REASONS)
    assert flags["tiny speck"].tolist() == [True, False, False]
    assert flags["salt on every edge"].tolist() == [False, True, False]
    assert flags["enclosed sediment"].tolist() == [False, True, True]
    assert suspicious_masks(masks, edge_coverage=1.0)["salt on every edge"].tolist() == [False, True, True]
    assert suspicious_masks(masks, min_area=1)["tiny speck"].tolist() == [False, False, False]
    with pytest.raises(SaltviewerError, match="min_area must be a positive whole number of pixels, got 0"):
        suspicious_masks(masks, min_area=0)


# -- duplicates ------------------------------------------------------------------------------

def test_exact_duplicates_groups():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (10, SIDE, SIDE), dtype=np.uint8)
    images[7] = images[2]
    images[9] = images[2]
    images[4] = images[1]
    images[8] = images[1]
    images[8, 0, 0] ^= 1                                     # one pixel off: not a duplicate
    groups = exact_duplicates(images)
    assert [g.tolist() for g in groups] == [[2, 7, 9], [1, 4]]
    assert exact_duplicates(images[:2]) == []


def brute_force_pairs(images, min_correlation):
    """Pearson correlation of every pair of non-constant tiles, one pair at a time."""
    found = {}
    flat = images.reshape(len(images), -1).astype(np.float64)
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            if flat[i].std() == 0 or flat[j].std() == 0:
                continue
            r = np.corrcoef(flat[i], flat[j])[0, 1]
            if r >= min_correlation:
                found[(i, j)] = r
    return found


def tiles_with_near_duplicates(sample_dataset):
    rng = np.random.default_rng(4)
    base = sample_dataset.images(np.arange(40))
    copies = []
    for k, i in enumerate((0, 5, 9, 20)):
        noisy = base[i].astype(float) * (0.6 + 0.2 * k) + 20 + rng.normal(0, 2 + 10 * k, base[i].shape)
        copies.append(np.clip(noisy, 0, 255).astype(np.uint8))
    shifted = np.roll(base[30], 2, axis=1)                   # a small shift: correlated, less so
    flat = np.full((2, SIDE, SIDE), 90, np.uint8)             # constant tiles never pair
    return np.concatenate([base, np.stack(copies), shifted[None], flat])


@pytest.mark.parametrize("min_correlation", [0.95, 0.8, 0.5, 0.3])
def test_near_duplicates_match_brute_force(sample_dataset, min_correlation):
    images = tiles_with_near_duplicates(sample_dataset)
    expected = brute_force_pairs(images, min_correlation)
    pairs, correlations = near_duplicates(images, min_correlation, block=7)
    got = {(int(i), int(j)): r for (i, j), r in zip(pairs, correlations)}
    assert set(got) == set(expected)
    for pair, r in expected.items():
        assert got[pair] == pytest.approx(r, abs=1e-5)
    assert np.all(np.diff(correlations) <= 1e-12)           # strongest first
    assert np.all(pairs[:, 0] < pairs[:, 1])
    assert (0, 40) in got                                     # the faintly noisy copy, at every threshold
    if min_correlation <= 0.3:
        assert len(got) >= 4                                  # and more at a low threshold


def test_signatures_are_unit_length_low_resolution_correlations():
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (3, SIDE, SIDE), dtype=np.uint8)
    images[2] = 77
    signatures = tile_signatures(images)
    assert signatures.shape == (3, 256)
    np.testing.assert_allclose(np.linalg.norm(signatures[:2], axis=1), 1, rtol=1e-5)
    assert np.all(signatures[2] == 0)


def test_near_duplicates_settings_are_checked():
    images = np.zeros((2, SIDE, SIDE), np.uint8)
    with pytest.raises(SaltviewerError, match=r"min_correlation must be in \(0, 1\], got 1.5"):
        near_duplicates(images, 1.5)
    pairs, correlations = near_duplicates(images)
    assert pairs.shape == (0, 2) and correlations.shape == (0,)


def test_near_duplicates_on_real_tiles_match_a_full_matrix_product(tgs_dir):
    dataset = open_dataset(tgs_dir)
    images = dataset.images(np.arange(1200))
    pairs, correlations = near_duplicates(images, 0.6)
    flat = images.reshape(len(images), -1).astype(np.float32)
    flat -= flat.mean(1, keepdims=True)
    norms = np.linalg.norm(flat, axis=1)
    live = norms > 0
    unit = np.zeros_like(flat)
    unit[live] = flat[live] / norms[live, None]
    matrix = np.triu(unit @ unit.T, k=1)
    expected = {(int(i), int(j)) for i, j in zip(*np.nonzero(matrix >= 0.6))}
    assert {(int(i), int(j)) for i, j in pairs} == expected


# -- depths ----------------------------------------------------------------------------------

def test_salt_by_depth_matches_a_loop():
    rng = np.random.default_rng(6)
    depths = rng.uniform(50, 950, 300)
    depths[:5] = np.nan
    coverage = np.where(rng.random(300) < 0.4, 0, rng.random(300))
    table = salt_by_depth(depths, coverage, bins=6)
    edges = table["edges"]
    for b in range(6):
        upper = depths <= edges[b + 1] if b == 5 else depths < edges[b + 1]
        inside = (depths >= edges[b]) & upper
        assert table["count"][b] == inside.sum()
        assert table["with_salt"][b] == pytest.approx(np.mean(coverage[inside] > 0))
        assert table["mean_coverage"][b] == pytest.approx(np.mean(coverage[inside]))
    assert table["count"].sum() == 295
    with pytest.raises(SaltviewerError, match="at least one tile with both a depth and a mask"):
        salt_by_depth(np.full(3, np.nan), np.zeros(3))


# -- the whole exploration, figures and report ------------------------------------------------

@pytest.fixture(scope="module")
def exploration(sample_dataset):
    return explore_dataset(sample_dataset)


@pytest.fixture(scope="module")
def pool_dataset(sample_dir, tmp_path_factory):
    pool = tmp_path_factory.mktemp("pool") / "tiles"
    shutil.copytree(sample_dir / "test" / "images", pool)
    return open_dataset(pool)


def test_exploration_is_aligned_to_the_dataset(sample_dataset, exploration):
    train = sample_dataset.indices("train")
    masks = sample_dataset.masks(train)
    np.testing.assert_allclose(exploration.coverage[train], masks.mean((1, 2)))
    assert np.all(np.isnan(exploration.coverage[sample_dataset.indices("test")]))
    assert np.all(exploration.coverage_class[sample_dataset.indices("test")] == -1)
    np.testing.assert_array_equal(exploration.mask(train[3]), masks[3])
    assert exploration.mask(sample_dataset.indices("test")[0]) is None
    summary = exploration.summary()
    assert summary["tiles"] == len(sample_dataset) and summary["masks"] == len(train)
    assert summary["empty_share"] == pytest.approx(np.mean(masks.sum((1, 2)) == 0), abs=1e-4)
    assert summary["suspicious_masks"] == int(exploration.any_suspicious().sum())


def test_every_figure_draws_with_titles_and_labels(exploration):
    from matplotlib.figure import Figure

    from saltviewer.figures import FIGURES, make_figure, unavailable

    for name in FIGURES:
        assert unavailable(name, exploration) is None, name
        figure = make_figure(name, exploration)
        assert isinstance(figure, Figure)
        assert figure.get_suptitle(), name
        for ax in figure.axes:
            if ax.get_visible() and ax.axison and ax.get_label() != "<colorbar>" and ax.has_data() \
                    and not ax.images:
                assert ax.get_xlabel() and ax.get_ylabel(), (name, ax.get_title())
    with pytest.raises(SaltviewerError, match="unknown figure 'pie'; valid names: coverage"):
        make_figure("pie", exploration)


def test_figures_leave_pyplot_alone(sample_dir):
    code = ("import sys; from saltviewer import open_dataset; from saltviewer.explore import explore_dataset; "
            "from saltviewer.figures import FIGURES, make_figure; "
            f"e = explore_dataset(open_dataset({str(sample_dir)!r})); "
            "[make_figure(n, e) for n in ('coverage', 'duplicates')]; "
            "bad = [m for m in ('matplotlib.pyplot', 'PyQt5', 'qtpy', 'napari', 'tensorflow', 'keras') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources, self.links, self.tags = [], [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "img":
            self.sources.append(attrs["src"])
        if tag == "a":
            self.links.append(attrs["href"])


def test_report_is_complete_and_offline(sample_dataset, exploration, tmp_path):
    from saltviewer.report import write_report

    index = write_report(sample_dataset, tmp_path / "report", exploration=exploration, dpi=40)
    text = index.read_text()
    page = _Page()
    page.feed(text)
    assert len(page.sources) == 8
    for source in page.sources:
        assert (index.parent / source).is_file(), source
    assert not {"script", "link", "iframe"} & page.tags
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    for link in page.links:
        assert link.startswith("#") or (index.parent / link).is_file(), link
    for i in np.flatnonzero(exploration.any_suspicious()):
        assert exploration.ids[i] in text
    assert (index.parent / "suspicious.csv").read_text().count("\n") == exploration.any_suspicious().sum() + 1
    umask = os.umask(0)
    os.umask(umask)
    for path in index.parent.iterdir():                       # not private like temporary files
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path


def test_report_on_a_pool_without_masks_says_what_it_skips(pool_dataset, tmp_path):
    from saltviewer.report import write_report

    out = tmp_path / "report"
    out.mkdir()
    (out / "coverage.png").write_bytes(b"old")                # left from an earlier report
    index = write_report(pool_dataset, out, dpi=40)
    text = index.read_text()
    assert text.count("Skipped: The dataset has no masks") == 4
    assert "Skipped: The dataset has no depths" in text
    assert not (out / "coverage.png").exists()
    assert (out / "intensity.png").is_file() and (out / "duplicates.png").is_file()


def test_explore_verb(pool_dataset, tmp_path, capsys):
    from saltviewer.cli import main

    pool = str(pool_dataset.root)
    assert main(["explore", pool, "--out", str(tmp_path / "r"), "-w", str(tmp_path / "ws")]) == 0
    out = capsys.readouterr().out
    assert "20 tiles, 0 masks, empty n/a" in out and (tmp_path / "r" / "index.html").is_file()
    assert (tmp_path / "ws" / "cache").is_dir()              # --workspace packs the tiles
    assert main(["explore", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r2")]) == 1
    assert "saltviewer explore: error:" in capsys.readouterr().err
