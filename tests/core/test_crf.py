"""Dense-CRF refinement: against an exact mean-field reference, on planted edges, and without the extra."""

import sys

import numpy as np
import pytest

from saltviewer import SaltviewerError
from saltviewer.crf import CRF_MISSING, crf_available, refine_with_crf

needs_crf = pytest.mark.skipif(not crf_available(), reason="the crf extra (pydensecrf2) is not installed")


def _naive_mean_field(p, image=None, iterations=5, gaussian_sxy=3.0, gaussian_compat=3.0, bilateral_sxy=10.0,
                      bilateral_srgb=20.0, bilateral_compat=5.0):
    """Mean-field inference with the exact dense kernels (every pixel pair), symmetric normalisation."""
    h, w = p.shape
    yy, xx = np.mgrid[:h, :w]
    kernels = []

    def kernel(features):
        d2 = ((features[:, None, :] - features[None, :, :]) ** 2).sum(-1)
        k = np.exp(-0.5 * d2)
        norm = 1 / np.sqrt(k.sum(1))
        return norm[:, None] * k * norm[None, :]

    if gaussian_compat > 0:
        kernels.append((gaussian_compat, kernel(np.stack([yy.ravel(), xx.ravel()], 1) / gaussian_sxy)))
    if image is not None and bilateral_compat > 0:
        features = np.stack([yy.ravel() / bilateral_sxy, xx.ravel() / bilateral_sxy,
                             image.ravel().astype(float) / bilateral_srgb], 1)
        kernels.append((bilateral_compat, kernel(features)))
    p = np.clip(p.ravel().astype(float), 1e-5, 1 - 1e-5)
    unary = -np.log(np.stack([1 - p, p]))
    q = np.exp(-unary)
    q /= q.sum(0)
    for _ in range(iterations):
        energy = -unary.copy()
        for weight, k in kernels:
            energy += weight * (k @ q.T).T          # Potts: a label gains where similar pixels hold it
        q = np.exp(energy - energy.max(0))
        q /= q.sum(0)
    return q[1].reshape(h, w)


def _noisy_disk(size, seed, noise=0.25):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    truth = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 3) ** 2
    p = np.clip(np.where(truth, 0.7, 0.3) + rng.normal(0, noise, truth.shape), 0.01, 0.99).astype(np.float32)
    image = np.clip(np.where(truth, 70, 170) + rng.normal(0, 15, truth.shape), 0, 255).astype(np.uint8)
    return truth, p, image


@needs_crf
@pytest.mark.parametrize("bilateral", [False, True])
def test_refinement_agrees_with_an_exact_mean_field_reference(bilateral):
    truth, p, image = _noisy_disk(21, seed=0)
    params = dict(gaussian_sxy=3.0, gaussian_compat=3.0, bilateral_sxy=6.0, bilateral_srgb=30.0, bilateral_compat=4.0)
    refined = refine_with_crf(p, image if bilateral else None, **params)
    reference = _naive_mean_field(p, image if bilateral else None, **params)
    # the library filters with a permutohedral lattice, an approximation of the exact kernel
    assert np.abs(refined - reference).max() < 0.1
    assert np.mean((refined > 0.5) != (reference > 0.5)) < 0.03
    assert np.mean((refined > 0.5) != truth) < np.mean((p > 0.5) != truth)


@needs_crf
def test_smoothing_removes_speckle_and_keeps_shapes_and_types():
    truth, p, _ = _noisy_disk(101, seed=1, noise=0.3)
    refined = refine_with_crf(p)
    assert refined.dtype == np.float32 and refined.shape == p.shape
    assert 0 <= refined.min() and refined.max() <= 1
    raw_error, crf_error = np.mean((p > 0.5) != truth), np.mean((refined > 0.5) != truth)
    assert crf_error < raw_error / 3
    stack = refine_with_crf(np.stack([p, p[::-1]]))
    assert stack.shape == (2, 101, 101)
    np.testing.assert_allclose(stack[0], refined, atol=1e-6)
    np.testing.assert_allclose(stack[1], refine_with_crf(p[::-1].copy()), atol=1e-6)
    quantised = np.rint(p * 255).astype(np.uint8)
    np.testing.assert_allclose(refine_with_crf(quantised), refine_with_crf(quantised / np.float32(255)), atol=1e-6)


@needs_crf
def test_a_confident_map_is_left_alone():
    truth, _, _ = _noisy_disk(101, seed=2)
    confident = np.where(truth, 0.999, 0.001).astype(np.float32)
    assert np.array_equal(refine_with_crf(confident) > 0.5, truth)


@needs_crf
def test_the_bilateral_term_moves_a_boundary_onto_the_image_edge():
    rng = np.random.default_rng(1)
    xx = np.mgrid[:101, :101][1]
    truth = xx < 50
    image = np.clip(np.where(truth, 60, 190) + rng.normal(0, 6, truth.shape), 0, 255).astype(np.uint8)
    p = np.clip(0.5 - (xx - 56) / 40 + rng.normal(0, 0.05, truth.shape), 0, 1).astype(np.float32)  # 6 px too far
    smooth = refine_with_crf(p, bilateral_compat=0) > 0.5
    edges = refine_with_crf(p, image, bilateral_sxy=10, bilateral_srgb=20, bilateral_compat=5) > 0.5
    assert np.mean(smooth != truth) > 0.04
    assert np.mean(edges != truth) < 0.005


@pytest.mark.parametrize("call, rule", [
    (lambda p, i: refine_with_crf(p[None, None]), "expected \\(H, W\\) or \\(N, H, W\\)"),
    (lambda p, i: refine_with_crf(p * 2), "within \\[0, 1\\]"),
    (lambda p, i: refine_with_crf((p > 0.5).astype(np.int32)), "floats in \\[0, 1\\] or uint8"),
    (lambda p, i: refine_with_crf(p, i[:50]), "image: expected uint8 of shape"),
    (lambda p, i: refine_with_crf(p, i.astype(float)), "image: expected uint8"),
    (lambda p, i: refine_with_crf(p, iterations=0), "iterations must be at least 1"),
    (lambda p, i: refine_with_crf(p, gaussian_sxy=0), "gaussian_sxy must be positive"),
    (lambda p, i: refine_with_crf(p, bilateral_compat=-1), "bilateral_compat must be >= 0"),
    (lambda p, i: refine_with_crf(p, missing="ignore"), "missing must be"),
])
def test_bad_input_is_refused(call, rule):
    _, p, image = _noisy_disk(101, seed=3)
    with pytest.raises(SaltviewerError, match=rule):
        call(p, image)


def test_without_the_extra_a_clear_message_or_the_maps_unchanged(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydensecrf", None)         # what Python sees when it is not installed
    monkeypatch.setitem(sys.modules, "pydensecrf.densecrf", None)
    assert not crf_available()
    _, p, _ = _noisy_disk(101, seed=4)
    with pytest.raises(SaltviewerError, match="pip install 'saltviewer\\[crf\\]'"):
        refine_with_crf(p)
    with pytest.warns(UserWarning, match="returning the probabilities unrefined"):
        unchanged = refine_with_crf(p, missing="warn")
    assert np.array_equal(unchanged, p)
    assert "crf" in CRF_MISSING
