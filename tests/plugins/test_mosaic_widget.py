"""The Mosaics widget on the synthetic sample: list, stitched layers, seams, click a tile to review it."""

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt

from saltviewer.mosaic import load_mosaics


@pytest.fixture
def mosaic_view(make_napari_viewer, qtbot, sample_dir, mosaic_workspace):
    from qtpy.QtWidgets import QApplication

    from saltviewer.plugins._session import session_for

    viewer = make_napari_viewer(show=True)
    session_for(viewer).open(sample_dir, mosaic_workspace.path)
    _, review = viewer.window.add_plugin_dock_widget("saltviewer", "Review")
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Mosaics", tabify=True)
    qtbot.waitUntil(lambda: review.current is not None and len(widget.mosaics) > 0, timeout=10_000)
    QApplication.setActiveWindow(viewer.window._qt_window)
    return viewer, widget, review


def role(layer):
    return str(layer.metadata.get("saltviewer_role"))


def test_list_shows_every_mosaic_with_size_and_labels(mosaic_view, sample_dataset, mosaic_workspace):
    viewer, widget, review = mosaic_view
    stored = load_mosaics(mosaic_workspace, sample_dataset)
    assert widget.table.rowCount() == len(stored)
    for row in range(widget.table.rowCount()):
        mosaic = stored[widget._position_of_row(row)]
        cells = [widget.table.item(row, column).text() for column in range(4)]
        assert cells == [f"#{mosaic.number + 1}", f"{mosaic.shape[0]} × {mosaic.shape[1]}", str(len(mosaic)),
                         str(int(sample_dataset.has_mask[mosaic.indices].sum()))]


def test_show_stitches_image_masks_outlines_and_seams(mosaic_view, sample_dataset):
    viewer, widget, review = mosaic_view
    widget.show_mosaic(0)
    mosaic = widget.mosaics[0]
    layers = {role(layer): layer for layer in viewer.layers if role(layer).startswith("mosaic:")}
    assert set(layers) == {"mosaic:image", "mosaic:masks", "mosaic:consensus", "mosaic:tiles", "mosaic:mismatch"}
    # a slow reference: every tile pasted at its cell
    image = np.zeros((mosaic.shape[0] * 101, mosaic.shape[1] * 101), np.uint8)
    truth = np.zeros_like(image)
    for tile, r, c in zip(mosaic.ids, mosaic.rows, mosaic.cols):
        image[r * 101:(r + 1) * 101, c * 101:(c + 1) * 101] = sample_dataset.image(tile)
        mask = sample_dataset.mask(tile)
        if mask is not None:
            truth[r * 101:(r + 1) * 101, c * 101:(c + 1) * 101] = mask
    np.testing.assert_array_equal(layers["mosaic:image"].data, image)
    np.testing.assert_array_equal(layers["mosaic:masks"].data, truth)      # nothing curated yet
    assert list(layers["mosaic:tiles"].features["tile"]) == list(mosaic.ids)
    assert len(layers["mosaic:tiles"].data) == len(mosaic)
    # review layers are hidden while the mosaic shows
    assert not any(layer.visible for layer in viewer.layers if role(layer).startswith("review:"))
    # every red line lies on the edge its score names
    for seam, line in zip(widget.layers.seams, layers["mosaic:mismatch"].data):
        assert seam.mismatch >= 3
        if seam.kind == "right":
            assert np.allclose(line[:, 1], (seam.col + 1) * 101 - 0.5)
        else:
            assert np.allclose(line[:, 0], (seam.row + 1) * 101 - 0.5)
    widget.layer_checks["tiles"].setChecked(False)
    assert not layers["mosaic:tiles"].visible


def test_accepted_pseudo_label_appears_in_the_mosaic(mosaic_view, sample_dataset):
    viewer, widget, review = mosaic_view
    mosaic = widget.mosaics[0]
    unlabelled = [t for t, i in zip(mosaic.ids, mosaic.indices) if not sample_dataset.has_mask[i]]
    proposed = [t for t in unlabelled if review.reviewer.store.item(sample_dataset, t) is not None
                and review.reviewer.store.item(sample_dataset, t).proposed_mask.any()]
    if not proposed:
        pytest.skip("no proposed pseudo-label with salt in the largest mosaic of the sample")
    tile = proposed[0]
    review.show_tile(tile)
    review.buttons["accept"].click()
    widget.show_mosaic(0)
    r, c = mosaic.position(tile)
    masks = [layer for layer in viewer.layers if role(layer) == "mosaic:masks"][0]
    np.testing.assert_array_equal(masks.data[r * 101:(r + 1) * 101, c * 101:(c + 1) * 101] != 0,
                                  review.reviewer.store.item(sample_dataset, tile).mask)
    states = dict(zip(widget.layers.names, widget.layers.states))
    assert states[tile] == "accepted"


def test_clicking_a_tile_opens_it_in_the_review(mosaic_view, qtbot):
    viewer, widget, review = mosaic_view
    widget.show_mosaic(0)
    mosaic = widget.mosaics[0]
    tile = mosaic.ids[len(mosaic) // 2]
    r, c = mosaic.position(tile)
    canvas = viewer.window._qt_viewer.canvas
    qtbot.waitExposed(canvas.native)
    world = np.array([r * 101 + 50.0, c * 101 + 50.0])
    y, x = canvas._map_world_to_canvas(world) if hasattr(canvas, "_map_world_to_canvas") else _to_canvas(viewer, world)
    qtbot.mouseClick(canvas.native, Qt.LeftButton, pos=QPoint(int(x), int(y)))
    qtbot.waitUntil(lambda: review.current.tile == tile, timeout=5_000)
    # the review tile is back on the canvas, with its mosaic neighbours beside it
    assert any(layer.visible for layer in viewer.layers if role(layer) == "review:tile")
    expected = {side: other for side, other in widget.session.mosaics().neighbours(tile).items() if other}
    assert review.current.neighbours == expected and expected
    side, other = next(iter(expected.items()))
    review.neighbours.cells[side].click()
    assert review.current.tile == other


def test_keys_do_not_decide_on_a_tile_hidden_by_the_mosaic(mosaic_view, qtbot):
    viewer, widget, review = mosaic_view
    tile = review.current.tile
    state = review.current.state
    widget.show_mosaic(0)
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key_A)
    assert review.reviewer.store.item(review.session.dataset, tile, review.reviewer.kind_of(tile)).state == state
    # the review keys are napari keybindings of the review layers: the mosaic keeps the canvas
    assert not any(layer.visible for layer in viewer.layers if role(layer) == "review:tile")


def _to_canvas(viewer, world):
    """Canvas pixel (row, col) of a world point on a 2-D view."""
    canvas = viewer.window._qt_viewer.canvas
    height, width = canvas.native.height(), canvas.native.width()
    centre = np.asarray(viewer.scene.camera.center)[-2:]
    zoom = viewer.scene.camera.zoom
    return (world - centre) * zoom + np.array([height, width]) / 2


def test_find_mosaics_from_the_widget(make_napari_viewer, qtbot, sample_dir, sample_dataset, review_workspace):
    import shutil

    from saltviewer.plugins._session import session_for

    shutil.rmtree(review_workspace.mosaics_dir)
    viewer = make_napari_viewer()
    session_for(viewer).open(sample_dir, review_workspace.path)
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Mosaics")
    qtbot.waitUntil(lambda: "No mosaics yet" in widget.summary_label.text(), timeout=10_000)
    qtbot.mouseClick(widget.build_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget._worker is None and widget.table.rowCount() > 0, timeout=60_000)
    assert len(widget.mosaics) == len(load_mosaics(review_workspace, sample_dataset))
    assert widget.session.neighbours(widget.mosaics[0].ids[0])          # the review sees the new neighbours
