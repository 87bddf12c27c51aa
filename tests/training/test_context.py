"""Context models: the U-Net fed each tile in a window with its mosaic neighbours around it.

The context model is the plain U-Net without its mirror padding: on a mirrored window it must
compute exactly what the plain model computes. Augmentation must move a window and its tile's
mask together, and training and prediction must cut the windows from the workspace's mosaics.
"""

import numpy as np
import pytest
from scipy import ndimage

from saltviewer import SaltviewerError, Workspace, open_dataset
from saltviewer.training import predict_dataset, train_model

TINY = dict(encoder="small", width=4, batch_size=16, seed=1)


def test_margin_centres_the_window_on_the_tile():
    from saltviewer.training.models import context_margin

    assert context_margin(128) == 14 and context_margin(101) == 0 and context_margin(104) == 2


def test_a_context_model_on_a_mirrored_window_is_the_plain_model():
    from saltviewer.training.models import build_unet

    plain = build_unet("small", width=4)
    context = build_unet("small", width=4, context=True)
    assert context.input_shape == (None, 129, 129, 1) and context.output_shape == (None, 101, 101, 1)
    context.set_weights(plain.get_weights())   # the same weights, one for one
    rng = np.random.default_rng(0)
    tiles = ndimage.gaussian_filter(rng.random((3, 101, 101)), 3).astype(np.float32)[..., None]
    windows = np.pad(tiles, ((0, 0), (14, 14), (14, 14), (0, 0)), mode="reflect")
    expected = plain.predict(tiles, verbose=0)
    np.testing.assert_allclose(context.predict(windows, verbose=0), expected, atol=1e-4)
    # and something else in the margin changes the answer
    other = windows.copy()
    other[:, :14] = 1.0
    assert np.abs(context.predict(other, verbose=0) - expected).max() > 1e-3


def test_context_needs_the_pad_mode():
    from saltviewer.training.models import build_unet

    with pytest.raises(SaltviewerError, match="context needs resize_mode 'pad'"):
        build_unet("small", width=4, resize_mode="resize", context=True)


@pytest.mark.parametrize("seed", range(6))
def test_augmentation_moves_a_window_and_its_mask_together(seed):
    from saltviewer.training.data import augment

    rng = np.random.default_rng(seed)
    window = ndimage.gaussian_filter(rng.random((129, 129)), 6)
    window = ((window - window.min()) / np.ptp(window)).astype(np.float32)[..., None]
    mask = (window[14:115, 14:115] > 0.5).astype(np.float32)
    x, y = augment(window, mask, np.random.default_rng(seed), flip=0.5, affine=1.0, intensity=0.0, max_shift=8.0)
    assert x.shape == (129, 129, 1) and y.shape == (101, 101, 1)
    agree = ((x[14:115, 14:115] > 0.5) == (y > 0.5)).mean()
    # the mask follows the image (nearest against linear sampling differs on the boundary only)
    assert agree > 0.97, agree


@pytest.mark.parametrize("seed", range(6))
def test_augmentation_never_moves_unlabelled_neighbours_into_the_tile(seed):
    """The margin's pixels have no mask: a move brings the mirrored tile into the tile's area
    instead, while the margin keeps the (moved) neighbours."""
    from saltviewer.training.data import augment

    rng = np.random.default_rng(seed)
    window = np.ones((129, 129, 1), np.float32)               # bright neighbours all round
    window[14:115, 14:115, 0] = rng.uniform(0.0, 0.6, (101, 101))
    x, y = augment(window, np.zeros((101, 101, 1), np.float32), rng, flip=0.5, affine=1.0, intensity=0.0,
                   max_shift=8.0, scale=(0.9, 0.92))           # zoomed out: the margin would reach into the tile
    assert x[14:115, 14:115].max() < 0.61
    margin = np.ones((129, 129), bool)
    margin[14:115, 14:115] = False
    assert (x[..., 0][margin] > 0.99).mean() > 0.5


def test_a_window_that_is_not_centred_is_refused():
    from saltviewer.training.data import augment

    with pytest.raises(SaltviewerError, match="no window centred"):
        augment(np.zeros((128, 128, 1), np.float32), np.zeros((101, 101, 1), np.float32), np.random.default_rng(0))


@pytest.fixture(scope="module")
def context_version(sample_dir, tmp_path_factory):
    workspace = Workspace(tmp_path_factory.mktemp("context") / "ws")
    result = train_model(sample_dir, workspace, epochs=1, folds=1, context=True, **TINY)
    return workspace, result


def test_training_with_context_cuts_windows_from_the_mosaics(context_version, sample_dir):
    from saltviewer.mosaic import load_mosaics
    from saltviewer.training.predict import load_version_models

    workspace, result = context_version
    dataset = open_dataset(sample_dir)
    card = result.card
    assert card["context"]["margin"] == 14 and card["recipe"]["context"] is True
    mosaics = load_mosaics(workspace, dataset)          # assembled and stored by training
    labelled = np.flatnonzero(dataset.has_mask)
    assert card["context"]["labelled_tiles_placed"] == int((mosaics.mosaic_index[labelled] >= 0).sum()) > 0
    models, _ = load_version_models(workspace, result.version)
    assert all(model.input_shape == (None, 129, 129, 1) for model in models)
    from saltviewer.cli.train import summary_lines

    said = [line for line in summary_lines(dict(card, version=result.version)) if line.startswith("context:")]
    assert said and f"{card['context']['labelled_tiles_placed']} of the labelled tiles placed" in said[0]


def test_prediction_of_a_context_version_uses_the_neighbours(context_version, sample_dir):
    from saltviewer.mosaic import load_mosaics
    from saltviewer.training.fit import prepare_inputs
    from saltviewer.training.predict import load_version_models
    from saltviewer.training.tta import predict_probabilities

    workspace, result = context_version
    dataset = open_dataset(sample_dir)
    dataset.use_cache(workspace)
    predict_dataset(dataset, workspace, result.version)
    stored = np.asarray(workspace.open_predictions(result.version, dataset))
    mosaics = load_mosaics(workspace, dataset)
    rows = np.flatnonzero(mosaics.mosaic_index >= 0)[:12]
    models, _ = load_version_models(workspace, result.version)
    windows = prepare_inputs(dataset, rows, mosaics=mosaics, margin=14)
    with_context = predict_probabilities(models, windows)
    np.testing.assert_allclose(stored[rows] / 255.0, with_context, atol=1 / 255 + 1e-6)
    mirrored = np.pad(prepare_inputs(dataset, rows), ((0, 0), (14, 14), (14, 14), (0, 0)), mode="reflect")
    assert np.abs(predict_probabilities(models, mirrored) - with_context).max() > 1e-3


def test_a_fine_tune_keeps_its_parents_context(context_version, sample_dir):
    workspace, result = context_version
    child = train_model(sample_dir, workspace, base_version=result.version, epochs=1, folds=1, **TINY)
    assert child.card["context"]["margin"] == 14 and child.card["recipe"]["context"] is True


def test_context_and_feature_channels_are_refused_together(sample_dir, tmp_path):
    with pytest.raises(SaltviewerError, match="channels must be empty with context"):
        train_model(sample_dir, tmp_path / "ws", context=True, channels=("depth",), epochs=1)
    with pytest.raises(SaltviewerError, match="context must be true or false"):
        train_model(sample_dir, tmp_path / "ws", context="yes", epochs=1)
    assert not Workspace(tmp_path / "ws").versions()
