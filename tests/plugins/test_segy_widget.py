"""The SEG-Y reader and dock in a real napari viewer: sections, lazy volumes, salt over them, click to Review."""

import json

import numpy as np
import pytest

segyio = pytest.importorskip("segyio", reason="segyio is not installed (pip install segyio)")
pytest.importorskip("dask", reason="dask is not installed (pip install 'dask[array]')")

from saltviewer.sample import synthetic_section  # noqa: E402
from saltviewer.seismic import cut_tiles, open_segy, write_segy_like  # noqa: E402


@pytest.fixture
def line(tmp_path):
    """A synthetic 2-D line (3 x 4 tiles) and a hand-made prediction of it with its sidecar."""
    image, salt = synthetic_section(np.random.default_rng(2), 3, 4)
    path = tmp_path / "line.sgy"
    segyio.tools.from_array(str(path), (image.T.astype(np.float32) - 128) / 32, format=1)
    probability = np.where(salt, 0.9, 0.1).astype(np.float32).T
    salt_path = write_segy_like(open_segy(path), tmp_path / "line_salt.sgy", probability)
    salt_path.with_suffix(".json").write_text(json.dumps({
        "values": "probability", "overlap": 50, "scaling": {"method": "file"},
        "ensemble": {"versions": ["v0001"], "mask_cutoff": 0.5}}))
    return path, salt_path, image, salt


def test_reader_opens_a_line_as_an_image_with_its_amplitude_range(line):
    from saltviewer.plugins._segy import get_segy_reader

    path, _, image, _ = line
    assert get_segy_reader(str(path.with_suffix(".png"))) is None
    layers = get_segy_reader(str(path))(str(path))
    (data, kwargs, kind), = layers
    assert kind == "image" and data.shape == image.shape
    assert np.allclose(data, (image.astype(np.float32) - 128) / 32, atol=1e-5)
    low, high = kwargs["contrast_limits"]
    assert np.percentile(data, 0.5) == pytest.approx(low, abs=1e-4) and high > low


def test_reader_opens_a_volume_lazily(tmp_path):
    import dask.array as da

    from saltviewer.plugins._segy import read_segy

    values = np.random.default_rng(0).standard_normal((5, 130, 110)).astype(np.float32)
    segyio.tools.from_array(str(tmp_path / "cube.sgy"), values, format=5)
    (data, kwargs, kind), = read_segy(str(tmp_path / "cube.sgy"))
    assert isinstance(data, da.Array) and data.shape == (5, 110, 130)
    assert np.array_equal(np.asarray(data[3]), values[3].T)
    assert kwargs["metadata"]["kind"] == "volume"


def test_a_prediction_opens_as_salt(line):
    from saltviewer.plugins._segy import read_segy

    _, salt_path, _, salt = line
    layers = {kind: (data, kwargs) for data, kwargs, kind in read_segy(str(salt_path))}
    assert set(layers) == {"image", "labels"}
    assert np.array_equal(layers["labels"][0] == 1, salt)
    assert layers["image"][1]["contrast_limits"] == [0.0, 1.0]


def test_dock_shows_salt_and_a_click_opens_the_tile_in_review(make_napari_viewer, qtbot, line, tmp_path, workspace):
    from saltviewer.plugins._session import session_for

    path, salt_path, image, salt = line
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="saltviewer")
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "SEG-Y")
    assert widget.section_box.currentText() == "line"
    layers = widget.load_salt(salt_path)
    assert [layer.name for layer in layers] == ["line_salt probability", "line_salt mask"]
    assert np.array_equal(viewer.layers["line_salt mask"].data == 1, salt)
    manifest = widget.set_tiles_folder(cut_tiles(path, tmp_path / "tiles").folder)
    assert len(manifest) == 12
    session_for(viewer).open(manifest.folder, workspace.path)   # the tiles and a workspace are open in Review
    _, review = viewer.window.add_plugin_dock_widget("saltviewer", "Review", tabify=True)
    qtbot.waitUntil(lambda: review.reviewer is not None, timeout=15_000)
    clicked = []
    widget.tile_clicked.connect(clicked.append)
    tile = widget.pick((150.0, 260.0))                          # sample 150, trace 260
    assert tile == manifest.tile_at(0, 150, 260) and clicked == [tile]
    assert manifest.place(tile)[1:] == (101, 202)
    assert np.allclose(viewer.layers["segy: tile"].data[0].min(axis=0), [101, 202])
    qtbot.waitUntil(lambda: review.current is not None and review.current.tile == tile, timeout=15_000)
    assert widget.pick((5000.0, 5000.0)) is None
    viewer.window._qt_window.grab().save(str(tmp_path / "segy_dock.png"))
    assert (tmp_path / "segy_dock.png").stat().st_size > 10_000
