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
    """A synthetic 2-D line (3 x 4 tiles) and a hand-made prediction of it with its sidecar: the
    salt at 0.9, and specks of 0.9 smaller than the ensemble's minimum area that the mask drops."""
    image, salt = synthetic_section(np.random.default_rng(2), 3, 4)
    path = tmp_path / "line.sgy"
    segyio.tools.from_array(str(path), (image.T.astype(np.float32) - 128) / 32, format=1)
    probability = np.where(salt, 0.9, 0.1).astype(np.float32)
    specks = np.zeros_like(salt)
    for row, col in ((20, 30), (250, 380), (150, 200)):
        specks[row:row + 4, col:col + 5] = ~salt[row:row + 4, col:col + 5]
    probability[specks] = 0.9
    salt_path = write_segy_like(open_segy(path), tmp_path / "line_salt.sgy", probability.T)
    salt_path.with_suffix(".json").write_text(json.dumps({
        "values": "probability", "overlap": 50, "scaling": {"method": "file"},
        "ensemble": {"versions": ["v0001"], "mask_cutoff": 0.5, "min_area": 40}}))
    return path, salt_path, image, salt


def test_reader_opens_a_line_as_an_image_with_its_amplitude_range(line):
    from saltviewer.plugins.seismic.reader import get_segy_reader

    path, _, image, _ = line
    assert get_segy_reader(str(path.with_suffix(".png"))) is None
    layers = get_segy_reader(str(path))(str(path))
    (data, kwargs, kind), = layers
    assert kind == "image" and data.shape == image.shape
    assert np.allclose(data, (image.astype(np.float32) - 128) / 32, atol=1e-5)
    low, high = kwargs["contrast_limits"]
    assert np.percentile(data, 0.5) == pytest.approx(low, abs=1e-4) and high > low
    assert kwargs["axis_labels"] == ("time", "trace") and kwargs["units"] == ("ms", "pixel")
    assert kwargs["scale"] == (4.0, 1.0) and kwargs["translate"] == (0.0, 1.0)      # 4 ms samples, CDP 1, 2, ...


def test_axes_take_their_names_start_and_unit_from_the_headers(tmp_path):
    from saltviewer.plugins.seismic.reader import segy_axes

    values = np.random.default_rng(1).standard_normal((4, 120, 110)).astype(np.float32)
    spec = segyio.spec()
    spec.iline, spec.xline, spec.format, spec.sorting = 189, 193, 5, 2
    spec.samples = 1500 + np.arange(110) * 2.0
    spec.ilines, spec.xlines, spec.offsets = np.arange(200, 208, 2), np.arange(1000, 1120), [1]
    with segyio.create(str(tmp_path / "cube.sgy"), spec) as f:
        f.text[0] = segyio.tools.create_text_header({1: "PRE-STACK DEPTH MIGRATION, DEPTH IN FEET"})
        t = 0
        for i, il in enumerate(spec.ilines):
            for x, xl in enumerate(spec.xlines):
                f.header[t] = {189: int(il), 193: int(xl), segyio.TraceField.DelayRecordingTime: 1500,
                               segyio.TraceField.TRACE_SAMPLE_INTERVAL: 2000}
                f.trace[t] = values[i, x]
                t += 1
        f.bin.update({segyio.BinField.Samples: 110, segyio.BinField.Format: 5, segyio.BinField.Interval: 2000,
                      segyio.BinField.MeasurementSystem: 2})
    axes = segy_axes(open_segy(tmp_path / "cube.sgy"))
    assert axes == {"axis_labels": ("inline", "depth", "crossline"), "units": ("pixel", "ft", "pixel"),
                    "scale": (2.0, 2.0, 1.0), "translate": (200.0, 1500.0, 1000.0)}
    from saltviewer.plugins.seismic.reader import describe_position

    assert describe_position(axes["axis_labels"], ["pixel", "foot", "pixel"], (204.0, 1536.0, 1077.0)) == \
        "inline 204 \u00b7 depth 1536 ft \u00b7 crossline 1077"


def test_reader_opens_a_volume_lazily(tmp_path):
    import dask.array as da

    from saltviewer.plugins.seismic.reader import read_segy

    values = np.random.default_rng(0).standard_normal((5, 130, 110)).astype(np.float32)
    segyio.tools.from_array(str(tmp_path / "cube.sgy"), values, format=5)
    (data, kwargs, kind), = read_segy(str(tmp_path / "cube.sgy"))
    assert isinstance(data, da.Array) and data.shape == (5, 110, 130)
    assert np.array_equal(np.asarray(data[3]), values[3].T)
    assert kwargs["metadata"]["kind"] == "volume"


def test_a_prediction_opens_as_salt_with_the_mask_rule_of_segy_predict(line, tmp_path):
    from saltviewer.plugins.seismic.reader import read_segy
    from saltviewer.seismic import section_mask

    _, salt_path, _, salt = line
    layers = {kind: (data, kwargs) for data, kwargs, kind in read_segy(str(salt_path))}
    assert set(layers) == {"image", "labels"}
    probability = layers["image"][0]
    assert not np.array_equal(probability > 0.5, salt)                 # the specks are above the cutoff...
    assert np.array_equal(layers["labels"][0] == 1, salt)              # ...and the mask drops them, as --mask
    assert np.array_equal(layers["labels"][0] == 1, section_mask(probability, 0.5, 40))
    assert layers["image"][1]["contrast_limits"] == [0.0, 1.0]
    assert layers["labels"][1]["axis_labels"] == ("time", "trace")
    # a volume predicted in crossline sections: its mask taken section by section the same way
    import dask.array as da

    from saltviewer.seismic import prediction_mask

    cube = np.stack([probability.T[:, ::-1], probability.T, probability.T[::-1]], axis=1)       # (traces, 3, samples)
    lazy = prediction_mask(da.from_array(cube, chunks=(100, 3, 50)), 0.5, 40, "volume", "crossline")
    expected = np.stack([section_mask(cube[:, k].T, 0.5, 40).T for k in range(3)], axis=1)
    assert np.array_equal(np.asarray(lazy), expected)


def test_dock_shows_salt_and_a_click_opens_the_tile_in_review(make_napari_viewer, qtbot, line, tmp_path, workspace):
    from saltviewer.plugins.common.session import session_for

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
    section = viewer.layers["line"]
    assert viewer.dims.axis_labels == ("time", "trace") and str(section.units[0]) == "millisecond"
    viewer.cursor.position = tuple(section.data_to_world((150.0, 260.0)))
    assert widget.position_label.text() == "time 600 ms \u00b7 trace 261"          # CDP numbers from 1
    tile = widget.pick(tuple(section.data_to_world((150.0, 260.0))))    # sample 150 (600 ms), trace 260
    assert tile == manifest.tile_at(0, 150, 260) and clicked == [tile]
    assert manifest.place(tile)[1:] == (101, 202)
    assert np.allclose(viewer.layers["segy: tile"].data[0].min(axis=0), [101, 202])
    assert np.array_equal(viewer.layers["segy: tile"].scale, section.scale)         # drawn on the section's axes
    qtbot.waitUntil(lambda: review.current is not None and review.current.tile == tile, timeout=15_000)
    assert widget.pick((50000.0, 5000.0)) is None
    viewer.window._qt_window.grab().save(str(tmp_path / "segy_dock.png"))
    assert (tmp_path / "segy_dock.png").stat().st_size > 10_000
