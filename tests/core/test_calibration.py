"""Calibration tables fitted on out-of-fold predictions, and the ensemble reading through them."""

import json

import numpy as np
import pytest

from saltviewer import SaltviewerError
from saltviewer.calibration import _isotonic, fit_calibration, version_calibration
from saltviewer.ensemble import Ensemble


def test_isotonic_fit_matches_scikit_learn():
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(0)
    values = np.sort(rng.uniform(size=256)) + rng.normal(0, 0.2, 256)
    weights = rng.integers(1, 1000, 256).astype(float)
    ours = _isotonic(values, weights)
    reference = IsotonicRegression().fit(np.arange(256), values, sample_weight=weights).predict(np.arange(256))
    np.testing.assert_allclose(ours, reference, atol=1e-9)
    assert np.all(np.diff(ours) >= 0)


def _hinge_like(truth, rng):
    """What a Lovasz-trained model stores: the right side of 0.5, but never far from it."""
    levels = np.where(truth, rng.integers(135, 170, truth.shape), rng.integers(85, 120, truth.shape))
    return levels.astype(np.uint8)


def test_a_model_that_is_right_but_timid_becomes_confident():
    rng = np.random.default_rng(1)
    truth = rng.random((20, 101, 101)) < 0.4
    table = fit_calibration(_hinge_like(truth, rng), truth)
    assert table.dtype == np.uint8 and table.shape == (256,) and np.all(np.diff(table.astype(int)) >= 0)
    assert table[85:120].max() <= 3 and table[135:170].min() >= 252       # seen levels: near certain
    assert table[0] == 0 and table[255] == 255
    with pytest.raises(SaltviewerError, match="uint8"):
        fit_calibration(np.zeros((2, 101, 101), np.float32), truth[:2])


def _version_with_oof(workspace, dataset, rng, tiles=None):
    train = dataset.indices("train") if tiles is None else dataset.indices("train")[:tiles]
    truth = dataset.masks(train)
    version = workspace.add_version({"encoder": "test", "threshold": 0.5})
    levels = np.zeros((len(dataset), 101, 101), np.uint8)
    levels[train] = _hinge_like(truth, rng)
    test = dataset.indices("test")
    fake = np.zeros((len(test), 101, 101), bool)
    fake[:, 30:70, 30:70] = True
    levels[test] = _hinge_like(fake, rng)
    workspace.write_predictions(version, dataset, levels)
    np.savez_compressed(workspace.version_dir(version) / "oof.npz", ids=np.array([dataset.ids[i] for i in train]),
                        probabilities=levels[train])
    return version


def test_a_version_is_calibrated_once_and_keeps_its_table_in_its_card(workspace, sample_dataset):
    rng = np.random.default_rng(2)
    version = _version_with_oof(workspace, sample_dataset, rng)
    assert version_calibration(workspace, version) is None                      # no dataset: nothing to fit on
    table = version_calibration(workspace, version, sample_dataset)
    assert table[85:120].max() <= 3 and table[135:170].min() >= 252
    card = workspace.card(version)
    assert card["calibration"]["table"] == table.tolist() and card["calibration"]["tiles"] == 60
    np.testing.assert_array_equal(version_calibration(workspace, version), table)  # read back from the card

    small = _version_with_oof(workspace, sample_dataset, rng, tiles=5)             # 51,005 pixels: too few
    assert version_calibration(workspace, small, sample_dataset) is None
    bare = workspace.add_version({"encoder": "test"})
    assert version_calibration(workspace, bare, sample_dataset) is None            # no oof.npz

    path = workspace.version_dir(version) / "card.json"
    damaged = json.loads(path.read_text())
    damaged["calibration"]["table"] = damaged["calibration"]["table"][::-1]
    path.write_text(json.dumps(damaged))
    with pytest.raises(SaltviewerError, match="calibration table is damaged"):
        version_calibration(workspace, version, sample_dataset)


def test_the_ensemble_reads_calibrated_maps_but_keeps_each_members_own_mask(workspace, sample_dataset):
    rng = np.random.default_rng(3)
    versions = [_version_with_oof(workspace, sample_dataset, rng) for _ in range(2)]
    test = sample_dataset.indices("test")
    raw = Ensemble(workspace, sample_dataset, versions, calibrate=False)
    calibrated = Ensemble(workspace, sample_dataset, versions)
    assert raw.calibrations == [None, None] and all(c is not None for c in calibrated.calibrations)
    before, after = raw.scores(test), calibrated.scores(test)
    assert before.uncertain.min() > 0.99 and after.uncertain.max() < 0.01        # timid -> confident
    np.testing.assert_array_equal(before.member_coverage, after.member_coverage)
    np.testing.assert_array_equal(before.mean_iou, after.mean_iou)
    np.testing.assert_allclose(after.coverage, 1600 / 10201)                     # the 40 x 40 square
    view = calibrated.tile(int(test[0]))
    assert view.probability[50, 50] > 0.98 and view.probability[5, 5] < 0.02
    (_, probability, masks), = list(calibrated.consensus(test))
    assert masks[:, 30:70, 30:70].all() and not masks[:, :30].any()
    assert probability.max() > 0.98
