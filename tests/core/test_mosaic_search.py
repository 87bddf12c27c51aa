"""Mosaic search: the straddle lines of a seam across the layers, against a pixel loop, and the
search's threads."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from saltviewer import SaltviewerError
from saltviewer.mosaic import EdgeModel, search_candidates
from saltviewer.sample import synthetic_section

TILE = 101


def _predict_loop(lines, coefficients):
    """The prediction of the line beyond `lines` (outermost first), pixel by pixel, edge values
    repeated past the ends."""
    depth, width = coefficients.shape
    reach = width // 2
    length = len(lines[0])
    out = np.zeros(length)
    for i in range(length):
        for k in range(depth):
            for d in range(width):
                j = min(max(i + d - reach, 0), length - 1)
                out[i] += coefficients[k, d] * lines[k][j]
    return out


def _units(line, reference):
    return (line.astype(float) - reference.mean()) / reference.std()


@pytest.fixture(scope="module")
def column():
    """Three tiles of one column of a synthetic section, and a model fitted on them."""
    image, _ = synthetic_section(np.random.default_rng(3), 3, 1)
    tiles = np.stack([image[r * TILE:(r + 1) * TILE] for r in range(3)])
    return tiles, EdgeModel(straddle={"right": 0.0, "below": 0.5}).fit(tiles)


def test_the_straddle_lines_are_the_second_line_errors_across_the_seam(column):
    """The squared distance of a below pair is the one-line cost plus the weighted squared
    errors of predicting each tile's second line across the seam from the other tile's lines."""
    tiles, model = column
    a, b = tiles[0], tiles[1]
    depth = model.coef_["below", "out"].shape[0]
    blur = lambda line: gaussian_filter1d(line, model.smoothing, mode="nearest", truncate=3.0)  # noqa: E731
    above = [_units(a[-1 - j], a[-1]) for j in range(depth)]          # from the seam upwards
    below = [_units(b[j], b[0]) for j in range(depth)]                 # from the seam downwards
    error_b = below[1] - _predict_loop([below[0]] + above[:depth - 1], model.coef_["below", "out"])
    error_a = above[1] - _predict_loop([above[0]] + below[:depth - 1], model.coef_["below", "in"])
    weight = model.straddle["below"]
    straddle = weight ** 2 * (np.sum(blur(error_a) ** 2) + np.sum(blur(error_b) ** 2))

    plain = EdgeModel(straddle=0.0)
    plain.coef_, plain.residual_ = model.coef_, model.residual_
    out0, into0 = plain.features(tiles[[0, 1]], "below")
    one_line = float(np.sum((out0[0].astype(float) - into0[1]) ** 2))
    out, _ = model.features(tiles[[0]], "below")
    _, into = model.features(tiles[[1]], "below")
    assert out.shape[1] == 4 * TILE and out0.shape[1] == 2 * TILE
    distance = float(np.sum((out[0].astype(float) - into[0]) ** 2))
    assert straddle > 0.01 * one_line
    assert distance == pytest.approx(one_line + straddle, rel=1e-3)
    cost, _ = model.pair_costs(tiles, [0], [1], "below")
    assert cost[0] ** 2 * model.effective_length("below", TILE) == pytest.approx(distance, rel=1e-3)
    assert model.effective_length("below", TILE) == 2 * TILE * 1.25


def test_a_true_seam_costs_about_its_insides_with_the_straddle_lines(column):
    tiles, model = column
    _, norm = model.pair_costs(tiles, [0, 1], [1, 2], "below")
    assert np.all((norm > 0.5) & (norm < 1.6)), norm
    _, wrong = model.pair_costs(tiles, [1, 2], [0, 1], "below")       # the tiles upside down
    assert wrong.min() > 1.3 * norm.max(), (norm, wrong)


def test_right_edges_have_no_straddle_lines_by_default():
    model = EdgeModel()
    assert model.straddle == {"right": 0.0, "below": 0.5}
    image, _ = synthetic_section(np.random.default_rng(4), 1, 2)
    tiles = np.stack([image[:, c * TILE:(c + 1) * TILE] for c in range(2)])
    out, into = model.fit(tiles).features(tiles, "right")
    assert out.shape == into.shape == (2, 2 * TILE)
    assert EdgeModel.extrapolating().straddle == {"right": 0.0, "below": 0.0}


@pytest.mark.parametrize("straddle", [-0.5, "0.5", {"below": 0.5}, {"right": 0, "below": True}])
def test_a_bad_straddle_is_refused(straddle):
    with pytest.raises(SaltviewerError, match="straddle must be"):
        EdgeModel(straddle=straddle)


def test_the_search_runs_blas_on_one_thread(monkeypatch, column):
    """Threads that wait for each other cost a busy machine a hundred times the work of the
    search's small products: the search holds BLAS to one thread, and lets go after."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return {info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"}

    if not blas_threads():
        pytest.skip("no BLAS library that threadpoolctl can see")
    seen = []
    fit = EdgeModel.fit

    def watched(self, images):
        seen.append(blas_threads())
        return fit(self, images)

    monkeypatch.setattr(EdgeModel, "fit", watched)
    before = blas_threads()
    search_candidates(column[0])
    assert seen == [{1}]
    assert blas_threads() == before
