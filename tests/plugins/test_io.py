"""The manifest, the reader, the writers and the sample data, through napari itself."""

import numpy as np
import pytest

from saltviewer import SaltviewerError, open_dataset, read_mask, read_submission, rle_decode


def test_manifest_is_valid_and_every_command_imports():
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("saltviewer")
    manifest.validate_imports()
    widgets = {w.display_name for w in manifest.contributions.widgets}
    assert widgets >= {"Review", "Mosaics", "Retrain"}
    assert [s.key for s in manifest.contributions.sample_data] == ["synthetic"]
    reader = next(r for r in manifest.contributions.readers if r.command == "saltviewer.get_reader")
    assert reader.accepts_directories
    assert "*" not in reader.filename_patterns and all(p.endswith(".png") for p in reader.filename_patterns)


def test_npe2_validate_passes():
    import shutil
    import subprocess

    npe2 = shutil.which("npe2")
    assert npe2 is not None, "npe2's command is not on PATH"
    done = subprocess.run([npe2, "validate", "saltviewer"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "valid" in done.stdout, done.stdout + done.stderr


def test_runs_on_the_qt_binding_asked_for():
    import os

    import qtpy
    from pytestqt.qt_compat import qt_api

    asked = os.environ.get("QT_API")
    assert asked, "tests/conftest.py sets QT_API"
    assert qtpy.API_NAME.lower() == asked
    assert qt_api.pytest_qt_api == asked                # pytest-qt on the same binding as napari


def _compatible_readers(path):
    """The plugins napari would offer to open `path` (what it asks about when there are several)."""
    from napari.plugins._npe2 import get_readers

    return set(get_readers(str(path)))


def test_reader_declines_what_it_cannot_open(make_napari_viewer, sample_dir, tmp_path):
    from PIL import Image

    from saltviewer.plugins._reader import get_reader

    make_napari_viewer()                                  # napari with its plugins found
    tile = sorted((sample_dir / "train" / "images").glob("*.png"))[0]
    tif = tmp_path / "section.tif"
    Image.fromarray(np.zeros((101, 101), np.uint8)).save(tif)
    large = tmp_path / "0123456789.png"                 # a tile's name, not a tile's size
    Image.fromarray(np.zeros((300, 200), np.uint8)).save(large)
    shot = tmp_path / "screenshot.png"
    Image.fromarray(np.zeros((101, 101), np.uint8)).save(shot)
    assert get_reader(str(tif)) is None
    assert get_reader(str(large)) is None
    assert get_reader(str(tmp_path / "missing.png")) is None
    assert "saltviewer" in _compatible_readers(sample_dir)
    assert "saltviewer" not in _compatible_readers(tif)           # napari never offers saltviewer for these
    assert "saltviewer" not in _compatible_readers(shot)
    assert "saltviewer" in _compatible_readers(tile)


def test_open_one_png_tile_with_its_mask(make_napari_viewer, sample_dir, sample_dataset, tmp_path):
    import shutil

    viewer = make_napari_viewer()
    index = next(i for i in range(len(sample_dataset)) if sample_dataset.mask(i) is not None
                 and sample_dataset.mask(i).any())
    tile_id = sample_dataset.ids[index]
    path = sample_dir / "train" / "images" / f"{tile_id}.png"
    image, mask = viewer.open(str(path), plugin="saltviewer")
    assert (image._type_string, mask._type_string) == ("image", "labels")
    np.testing.assert_array_equal(image.data, sample_dataset.image(index))
    np.testing.assert_array_equal(mask.data != 0, sample_dataset.mask(index))
    assert mask.metadata["saltviewer_ids"] == (tile_id,)
    alone = tmp_path / f"{tile_id}.png"                 # outside a data folder: the tile only
    shutil.copy(path, alone)
    layers = viewer.open(str(alone), plugin="saltviewer")
    assert [layer._type_string for layer in layers] == ["image"]


def test_reader_claims_only_competition_folders(sample_dir, tmp_path):
    from saltviewer.plugins._reader import get_reader

    assert get_reader(str(sample_dir)) is not None
    assert get_reader(str(sample_dir / "train.csv")) is None
    (tmp_path / "empty").mkdir()
    assert get_reader(str(tmp_path / "empty")) is None
    assert get_reader([str(sample_dir), str(sample_dir)]) is None


def test_tile_stack_reads_what_the_dataset_holds(sample_dataset):
    from saltviewer.plugins._reader import TileStack

    images = TileStack(sample_dataset, "image")
    masks = TileStack(sample_dataset, "mask")
    assert images.shape == (len(sample_dataset), 101, 101) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[3], sample_dataset.image(3))
    np.testing.assert_array_equal(images[2:5], sample_dataset.images([2, 3, 4]))
    np.testing.assert_array_equal(images[..., 10, 20], sample_dataset.images()[:, 10, 20])
    np.testing.assert_array_equal(images[np.array([7, 1]), :5], sample_dataset.images([7, 1])[:, :5])
    test_index = int(sample_dataset.indices("test")[0])
    assert not masks[test_index].any()
    np.testing.assert_array_equal(masks[0], sample_dataset.mask(0).astype(np.uint8))
    assert np.asarray(masks).shape == masks.shape
    with pytest.raises(SaltviewerError, match="kind"):
        TileStack(sample_dataset, "probabilities")


def test_open_folder_in_napari_is_lazy(make_napari_viewer, sample_dir, sample_dataset):
    viewer = make_napari_viewer()
    layers = viewer.open(str(sample_dir), plugin="saltviewer")
    assert [layer._type_string for layer in layers] == ["image", "labels"]
    tiles, masks = layers
    assert type(tiles.data).__name__ == "TileStack"      # not read into memory
    assert tiles.data.shape == (80, 101, 101)
    assert tiles.metadata["saltviewer_ids"] == sample_dataset.ids
    viewer.dims.set_point(0, 5)
    np.testing.assert_array_equal(tiles._slice.image.raw, sample_dataset.image(5))
    np.testing.assert_array_equal(masks._slice.image.raw != 0, sample_dataset.mask(5))


def test_write_masks_csv_round_trip(make_napari_viewer, sample_dir, sample_dataset, tmp_path):
    viewer = make_napari_viewer()
    _, masks = viewer.open(str(sample_dir), plugin="saltviewer")
    out = tmp_path / "masks.csv"
    from saltviewer.plugins._writer import write_masks

    written = write_masks(str(out), masks.data, {"name": masks.name, "metadata": masks.metadata})
    assert written == [str(out)]
    rles = read_submission(out)
    assert list(rles) == list(sample_dataset.ids)
    for i in (0, 7, 70):
        expected = sample_dataset.mask(i)
        expected = np.zeros((101, 101), bool) if expected is None else expected
        np.testing.assert_array_equal(rle_decode(rles[sample_dataset.ids[i]]), expected)


def test_save_one_edited_mask_through_napari(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    mask = np.zeros((101, 101), np.uint8)
    mask[10:30, 40:60] = 1
    layer = viewer.add_labels(mask, name="abc123", metadata={"saltviewer_ids": ("0a1b2c3d4e",)})
    csv_path = tmp_path / "one.csv"
    png_path = tmp_path / "one.png"
    viewer.layers.selection = {layer}
    assert viewer.layers.save(str(csv_path), selected=True, plugin="saltviewer")
    assert viewer.layers.save(str(png_path), selected=True, plugin="saltviewer")
    assert list(read_submission(csv_path)) == ["0a1b2c3d4e"]
    np.testing.assert_array_equal(read_mask(png_path), mask != 0)


def test_writer_errors_name_the_layer():
    from saltviewer.plugins._writer import layer_masks

    with pytest.raises(SaltviewerError, match="'stack'.*tile ids"):
        layer_masks(np.zeros((3, 101, 101), np.uint8), {"name": "stack", "metadata": {}})
    with pytest.raises(SaltviewerError, match="shape"):
        layer_masks(np.zeros((50, 50), np.uint8), {"name": "small"})
    with pytest.raises(SaltviewerError, match="not allowed"):
        layer_masks(np.zeros((101, 101), np.uint8), {"name": "../evil"})


def test_sample_data_opens_from_the_file_menu_command(make_napari_viewer):
    viewer = make_napari_viewer()
    layers = viewer.open_sample("saltviewer", "synthetic")
    assert [layer._type_string for layer in layers] == ["image", "labels"]
    root = layers[0].metadata["saltviewer_root"]
    assert len(open_dataset(root)) == 80


def test_settings_are_remembered_in_the_config_folder(config_dir):
    from saltviewer.plugins.common.settings import load_settings, save_settings, settings_path

    assert load_settings() == {}
    save_settings(data="/a", workspace="/b")
    save_settings(state_filter="pending")
    assert settings_path().parent == config_dir
    assert load_settings() == {"data": "/a", "workspace": "/b", "state_filter": "pending"}
    settings_path().write_text("{not json")
    assert load_settings() == {}


def test_view_verb_docks_the_widgets_on_the_data(sample_dir, review_workspace, qtbot, capsys):
    from saltviewer.cli import build_parser, main
    from saltviewer.cli.view import open_viewer

    assert main(["view", str(sample_dir / "nowhere"), "--workspace", str(review_workspace.path)]) == 1
    assert "no such folder" in capsys.readouterr().err
    assert main(["view", str(sample_dir)]) == 2                   # first time: the workspace is needed
    assert "--workspace: needed" in capsys.readouterr().err

    args = build_parser().parse_args(["view", str(sample_dir), "-w", str(review_workspace.path)])
    viewer = open_viewer(args)
    try:
        docks = {name for name in viewer.window.dock_widgets}
        assert {"Review (saltviewer)", "Mosaics (saltviewer)", "Retrain (saltviewer)"} <= docks
        qtbot.waitUntil(lambda: "review:tile" in [str(layer.metadata.get("saltviewer_role"))
                                                  for layer in viewer.layers], timeout=10_000)
        # the workspace is now remembered with the data
        again = build_parser().parse_args(["view", str(sample_dir)])
        from saltviewer.cli.view import resolve_workspace

        assert resolve_workspace(again.data, again.workspace) == review_workspace.path
    finally:
        viewer.close()


def test_view_verb_saves_a_screenshot_of_the_window_with_its_first_tile(sample_dir, review_workspace, tmp_path,
                                                                       capsys):
    import numpy as np
    from PIL import Image

    from saltviewer.cli import main

    shot = tmp_path / "shots" / "window.png"
    assert main(["view", str(sample_dir), "-w", str(review_workspace.path), "--screenshot", str(shot)]) == 0
    assert f"saved a screenshot of the window to {shot}" in capsys.readouterr().out
    picture = np.asarray(Image.open(shot).convert("L"))
    assert picture.shape[0] >= 400 and picture.shape[1] >= 600
    assert picture.std() > 10                   # a window with docks and a tile, not a blank rectangle
