"""Simple feature channels: hand-checkable tiles, slow per-pixel references, and bad input."""

import numpy as np
import pytest

from saltviewer import SaltviewerError
from saltviewer.features import (CUMSUM_CLIP, DEPTH_SCALE, ENTROPY_LEVELS, FEATURE_NAMES, WINDOW,
                                 compute_features)


def one(image, name, depth=None):
    depths = None if depth is None else np.array([depth], float)
    return compute_features(np.asarray(image, np.uint8)[None], depths, (name,))[0, ..., 0]


def vertical_ramp(step=2, size=101):
    return np.repeat((np.arange(size) * step).astype(np.uint8)[:, None], size, axis=1)


# -- shapes and names --------------------------------------------------------------------

def test_every_channel_in_the_order_asked():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 101, 101), dtype=np.uint8)
    depths = np.array([100.0, 500.0, 900.0])
    every = compute_features(images, depths)
    assert every.shape == (3, 101, 101, len(FEATURE_NAMES)) and every.dtype == np.float32
    backwards = compute_features(images, depths, FEATURE_NAMES[::-1])
    np.testing.assert_array_equal(backwards, every[..., ::-1])
    assert compute_features(images, None, ()).shape == (3, 101, 101, 0)
    assert compute_features(images, None, "sobel").shape == (3, 101, 101, 1)


def test_channels_stay_in_their_documented_ranges():
    rng = np.random.default_rng(1)
    images = np.concatenate([rng.integers(0, 256, (4, 101, 101), dtype=np.uint8),
                             (rng.random((2, 101, 101)) < 0.5).astype(np.uint8) * 255,
                             np.zeros((1, 101, 101), np.uint8)])
    features = compute_features(images, np.full(len(images), 959.0))
    bounds = {"depth": (0, 1), "position": (0, 1), "cumsum": (-CUMSUM_CLIP, CUMSUM_CLIP),
              "sobel": (0, np.sqrt(0.5)), "laplacian": (-1, 1), "variance": (0, 1), "entropy": (0, 1)}
    for c, name in enumerate(FEATURE_NAMES):
        low, high = bounds[name]
        assert low - 1e-6 <= features[..., c].min() and features[..., c].max() <= high + 1e-6, name
        assert np.isfinite(features[..., c]).all(), name


def test_tiles_of_a_stack_do_not_leak_into_each_other():
    # scipy's n-d sobel/laplace would smooth across the stack axis; each tile must stand alone.
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (5, 101, 101), dtype=np.uint8)
    depths = rng.uniform(50, 950, 5)
    stacked = compute_features(images, depths)
    for i in range(5):
        alone = compute_features(images[i:i + 1], depths[i:i + 1])
        np.testing.assert_allclose(stacked[i], alone[0], rtol=0, atol=1e-6)


def test_any_tile_size_and_more_tiles_than_a_chunk():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (300, 12, 9), dtype=np.uint8)
    features = compute_features(images, None, ("position", "variance"))
    assert features.shape == (300, 12, 9, 2)
    np.testing.assert_allclose(features[7, :, 4, 0], np.linspace(0, 1, 12), atol=1e-6)


# -- hand-checkable tiles ------------------------------------------------------------------

def test_depth_is_a_constant_channel_in_thousands_of_feet():
    depth = one(np.zeros((101, 101)), "depth", depth=437.0)
    assert np.all(depth == np.float32(437.0 / DEPTH_SCALE))


def test_position_runs_from_top_to_bottom():
    position = one(np.zeros((101, 101)), "position")
    assert position[0, 0] == 0 and position[100, 17] == 1
    assert position[50, 3] == pytest.approx(0.5)
    assert np.all(position == position[:, :1])


def test_vertical_ramp_has_its_slope_as_gradient_and_no_curvature():
    ramp = vertical_ramp(step=2)          # 0, 2, 4, ... 200 down the rows
    sobel = one(ramp, "sobel")
    laplacian = one(ramp, "laplacian")
    np.testing.assert_allclose(sobel[1:-1], 2 / 255, rtol=1e-5)
    np.testing.assert_allclose(laplacian[1:-1], 0, atol=1e-6)
    # At the mirrored top and bottom rows the one-sided change is half the slope.
    np.testing.assert_allclose(sobel[0], 1 / 255, rtol=1e-5)


def test_step_edge_gives_half_a_grey_range_per_pixel():
    step = np.zeros((101, 101), np.uint8)
    step[:, 50:] = 255
    sobel = one(step, "sobel")
    np.testing.assert_allclose(sobel[:, 49:51], 0.5, rtol=1e-6)
    assert np.all(sobel[:, :48] == 0) and np.all(sobel[:, 52:] == 0)


def test_single_bright_pixel_laplacian():
    dot = np.zeros((101, 101), np.uint8)
    dot[50, 50] = 255
    laplacian = one(dot, "laplacian")
    assert laplacian[50, 50] == pytest.approx(-1.0)
    for r, c in ((49, 50), (51, 50), (50, 49), (50, 51)):
        assert laplacian[r, c] == pytest.approx(0.25)
    assert laplacian[48, 48] == 0


@pytest.mark.parametrize("value", [0, 97, 255])
def test_constant_tile_has_no_texture(value):
    tile = np.full((101, 101), value, np.uint8)
    for name in ("cumsum", "sobel", "laplacian", "variance", "entropy"):
        assert np.all(one(tile, name) == 0), name


def test_checkerboard_has_full_variance_and_one_bit_of_entropy():
    rows, cols = np.indices((101, 101))
    board = ((rows + cols) % 2 * 255).astype(np.uint8)
    p = 25 / 49                            # a 7x7 window holds 25 of one colour, 24 of the other
    bits = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    np.testing.assert_allclose(one(board, "variance")[10:-10, 10:-10], 4 * p * (1 - p), rtol=1e-4)
    np.testing.assert_allclose(one(board, "entropy")[10:-10, 10:-10], bits / np.log2(ENTROPY_LEVELS), rtol=1e-5)


def test_cumsum_of_a_dark_top_and_bright_bottom():
    tile = np.zeros((101, 101), np.uint8)
    tile[50:] = 200
    cumsum = one(tile, "cumsum")
    # The centred running sum falls while rows are darker than the mean, then climbs back.
    column = cumsum[:, 10]
    assert np.all(np.diff(column[:50]) < 0) and np.all(np.diff(column[50:]) > 0)
    assert np.all(cumsum == cumsum[:, :1])
    assert cumsum.mean() == pytest.approx(0, abs=1e-5) and cumsum.std() == pytest.approx(1, rel=1e-4)


# -- slow references -----------------------------------------------------------------------

def padded(scaled, border):
    return np.pad(scaled, border, mode="symmetric")   # scipy's "reflect": d c b a | a b c d


def reference_sobel(scaled):
    p = padded(scaled, 1)
    h, w = scaled.shape
    out = np.zeros_like(scaled)
    smooth, diff = (1, 2, 1), (-1, 0, 1)
    for r in range(h):
        for c in range(w):
            gy = sum(diff[a] * smooth[b] * p[r + a, c + b] for a in range(3) for b in range(3))
            gx = sum(smooth[a] * diff[b] * p[r + a, c + b] for a in range(3) for b in range(3))
            out[r, c] = np.hypot(gx, gy) / 8
    return out


def reference_laplacian(scaled):
    p = padded(scaled, 1)
    return (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * p[1:-1, 1:-1]) / 4


def reference_window(tile, function):
    half = WINDOW // 2
    p = padded(tile, half)
    out = np.zeros(tile.shape)
    for r in range(tile.shape[0]):
        for c in range(tile.shape[1]):
            out[r, c] = function(p[r:r + WINDOW, c:c + WINDOW])
    return out


def reference_entropy(window):
    counts = np.bincount((window // (256 // ENTROPY_LEVELS)).ravel(), minlength=ENTROPY_LEVELS)
    share = counts[counts > 0] / window.size
    return -(share * np.log2(share)).sum() / np.log2(ENTROPY_LEVELS)


def reference_cumsum(scaled):
    running = np.cumsum(scaled - scaled.mean(), axis=0)
    return np.clip((running - running.mean()) / running.std(), -CUMSUM_CLIP, CUMSUM_CLIP)


@pytest.mark.parametrize("seed", [0, 1])
def test_against_per_pixel_references(seed):
    rng = np.random.default_rng(seed)
    tile = rng.integers(0, 256, (17, 13), dtype=np.uint8)
    tile[:5, :4] = 40                                     # a flat patch beside the noise
    scaled = tile.astype(np.float64) / 255
    got = compute_features(tile[None], None, ("sobel", "laplacian", "variance", "entropy", "cumsum"))[0]
    np.testing.assert_allclose(got[..., 0], reference_sobel(scaled), atol=1e-6)
    np.testing.assert_allclose(got[..., 1], reference_laplacian(scaled), atol=1e-6)
    np.testing.assert_allclose(got[..., 2], 4 * reference_window(scaled, np.var), atol=1e-5)
    np.testing.assert_allclose(got[..., 3], reference_window(tile, reference_entropy), atol=1e-5)
    np.testing.assert_allclose(got[..., 4], reference_cumsum(scaled), atol=1e-4)


# -- bad input -----------------------------------------------------------------------------

def test_unknown_names_are_listed_with_the_valid_ones():
    images = np.zeros((1, 101, 101), np.uint8)
    with pytest.raises(SaltviewerError) as error:
        compute_features(images, None, ("sobel", "gabor", "hog"))
    message = str(error.value)
    assert "'gabor', 'hog'" in message and "valid names: " + ", ".join(FEATURE_NAMES) in message
    assert "\n" not in message
    with pytest.raises(SaltviewerError, match="more than once"):
        compute_features(images, None, ("sobel", "sobel"))


def test_depth_channel_needs_every_depth():
    images = np.zeros((3, 101, 101), np.uint8)
    with pytest.raises(SaltviewerError, match="needs the depth of every tile"):
        compute_features(images, None, ("depth",))
    with pytest.raises(SaltviewerError, match=r"1 of 3 tiles have no depth \(first at position 1\)"):
        compute_features(images, [100.0, np.nan, 300.0], ("depth",))
    with pytest.raises(SaltviewerError, match=r"one value per tile, shape \(3,\)"):
        compute_features(images, [100.0, 200.0], ("depth",))
    # Without the depth channel, depths are not needed.
    assert compute_features(images, None, ("position",)).shape == (3, 101, 101, 1)


def test_images_must_be_a_uint8_stack():
    with pytest.raises(SaltviewerError, match="got dtype float64"):
        compute_features(np.zeros((1, 101, 101)), None, ("sobel",))
    with pytest.raises(SaltviewerError, match=r"shape \(N, H, W\).*got \(101, 101\)"):
        compute_features(np.zeros((101, 101), np.uint8), None, ("sobel",))
