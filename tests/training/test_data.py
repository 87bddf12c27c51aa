"""Augmentation, batches and stratified folds."""

import numpy as np
import pytest

from saltviewer import SaltviewerError
from saltviewer.training.data import TileBatches, as_inputs, augment
from saltviewer.training.folds import coverage_classes, stratified_folds


def _tile_with_mask(rng):
    mask = np.zeros((101, 101), bool)
    mask[30:70, 20:60] = True
    image = np.where(mask, 0.8, 0.2).astype("float32")[..., None]
    return image, mask.astype("float32")[..., None]


def test_augment_keeps_image_and_mask_aligned():
    rng = np.random.default_rng(0)
    for _ in range(20):
        image, mask = _tile_with_mask(rng)
        x, y = augment(image, mask, rng, flip=0.5, affine=1.0, intensity=0.0)
        assert set(np.unique(y)) <= {0.0, 1.0}
        # Away from interpolated edges, bright pixels are salt and dark ones are not.
        assert np.all(y[x > 0.75] == 1) and np.all(y[x < 0.25] == 0)


def test_flip_mirrors_left_right_only():
    rng = np.random.default_rng(1)
    image = rng.random((101, 101, 2)).astype("float32")
    mask = (rng.random((101, 101, 1)) > 0.5).astype("float32")
    x, y = augment(image, mask, rng, flip=1.0, affine=0.0, intensity=0.0)
    np.testing.assert_array_equal(x, image[:, ::-1])
    np.testing.assert_array_equal(y, mask[:, ::-1])


def test_brightness_and_contrast_change_only_the_image_channel():
    rng = np.random.default_rng(2)
    image = rng.random((101, 101, 2)).astype("float32") * 0.5 + 0.25
    x, _ = augment(image, None, rng, flip=0.0, affine=0.0, intensity=1.0)
    assert not np.allclose(x[..., 0], image[..., 0])
    np.testing.assert_array_equal(x[..., 1], image[..., 1])
    assert x.min() >= 0 and x.max() <= 1


def test_batches_cover_every_tile_once_per_epoch():
    images = np.arange(10, dtype=np.uint8)[:, None, None] * np.ones((1, 101, 101), np.uint8)
    masks = np.zeros((10, 101, 101), bool)
    x = as_inputs(images)
    assert x.dtype == np.uint8 and x.shape == (10, 101, 101, 1)     # scaled per batch
    with_features = as_inputs(images, np.ones((10, 101, 101, 2), np.float32))
    assert with_features.dtype == np.float32 and with_features[3, 0, 0, 0] == np.float32(3 / 255)
    batches = TileBatches(x, masks, batch_size=4, augment=False, seed=3, indices=np.arange(1, 10))
    assert len(batches) == 3
    seen = np.concatenate([np.rint(batches[i][0][:, 0, 0, 0] * 255) for i in range(len(batches))])
    assert sorted(seen) == list(range(1, 10))
    xb, yb = batches[0]
    assert xb.shape == (4, 101, 101, 1) and yb.shape == (4, 101, 101, 1) and xb.dtype == np.float32
    with pytest.raises(SaltviewerError, match="batch_size"):
        TileBatches(x, masks, batch_size=0)


def test_coverage_classes():
    masks = np.zeros((3, 10, 10), bool)
    masks[1, :1, :5] = True          # 5 %
    masks[2] = True                  # 100 %
    np.testing.assert_array_equal(coverage_classes(masks), [0, 1, 10])


def test_stratified_folds_balance_coverage_classes():
    rng = np.random.default_rng(4)
    coverage = np.concatenate([np.zeros(40), rng.uniform(0.01, 1, 60)])
    masks = np.zeros((100, 10, 10), bool)
    for i, c in enumerate(coverage):
        masks[i].flat[:int(round(c * 100))] = True
    folds = stratified_folds(masks, 4, seed=0)
    assert sorted(np.bincount(folds)) == [25, 25, 25, 25]
    empty_per_fold = np.bincount(folds[:40], minlength=4)
    assert empty_per_fold.max() - empty_per_fold.min() <= 1
    np.testing.assert_array_equal(folds, stratified_folds(masks, 4, seed=0))
    single = stratified_folds(masks, 1, seed=0)
    assert set(single) == {-1, 0} and (single == 0).sum() == 20
    with pytest.raises(SaltviewerError, match="--folds"):
        stratified_folds(masks[:3], 5)
