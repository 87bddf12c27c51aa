"""The Review widget on the synthetic sample: queue, tile layers, decisions, undo, batch accept."""

import sys
import time

import numpy as np
import pytest
from qtpy.QtCore import Qt, QTimer

from saltviewer.store import CurationStore


@pytest.fixture
def review(make_napari_viewer, qtbot, sample_dir, review_workspace):
    from qtpy.QtWidgets import QApplication

    viewer = make_napari_viewer(show=True)          # shortcuts fire only in the active window
    from saltviewer.plugins._session import session_for

    session_for(viewer).open(sample_dir, review_workspace.path)
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Review")
    qtbot.waitUntil(lambda: widget.current is not None, timeout=10_000)
    window = viewer.window._qt_window
    QApplication.setActiveWindow(window)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    return viewer, widget


def store_state(widget, tile):
    store = CurationStore(widget.session.workspace.store_path)
    try:
        item = store.item(widget.session.dataset, tile, widget.reviewer.kind_of(tile))
        return None if item is None else item.state
    finally:
        store.close()


def layer_named(viewer, role):
    from saltviewer.plugins._layers import find_layer

    return find_layer(viewer, f"review:{role}")


def test_every_widget_opens_from_the_manifest_quickly_without_tensorflow(make_napari_viewer, sample_dir,
                                                                          review_workspace):
    viewer = make_napari_viewer()
    from saltviewer.plugins._session import session_for

    session_for(viewer).open(sample_dir, review_workspace.path)
    for name in ("Review", "Mosaics", "Retrain"):
        start = time.perf_counter()
        dock, widget = viewer.window.add_plugin_dock_widget("saltviewer", name, tabify=True)
        seconds = time.perf_counter() - start
        assert widget.__class__.__module__.startswith("saltviewer.plugins.")
        assert seconds < 3.0, f"{name} took {seconds:.2f} s to open (target < 1 s; see benchmarks/bench_gui.py)"
    assert "tensorflow" not in sys.modules and "keras" not in sys.modules


def test_queue_starts_at_the_most_disagreement_and_shows_every_layer(review):
    viewer, widget = review
    table = widget.model.table
    assert len(table) > 5 and widget.model.rowCount() == len(table)
    assert np.all(np.diff(table.disagreement) <= 0)              # store order: most disagreement first
    assert widget.current.tile == table.tile[0]
    shown = {str(layer.metadata["saltviewer_role"]) for layer in viewer.layers}
    assert shown == {"review:tile", "review:outlines", "review:edit"}
    edit = layer_named(viewer, "edit")
    assert viewer.layers.selection.active is edit
    np.testing.assert_array_equal(edit.data, widget.current.edit_mask)
    np.testing.assert_array_equal(layer_named(viewer, "tile").data, widget.session.dataset.image(widget.current.tile))
    # every version's outline is drawn in its colour, and can be hidden from the widget
    from saltviewer.plugins._style import version_colour

    def drawn(colour):
        rgb = [int(colour[k:k + 2], 16) for k in (1, 3, 5)]
        return bool(np.all(layer_named(viewer, "outlines").data[..., :3] == rgb, axis=-1).any())

    view = widget.current.view
    assert view.mask.any() and drawn("#ffe14d")                       # the consensus, on top
    widget.layer_checks["consensus"].setChecked(False)
    # the heat map colours the pixels where the versions split, and only those
    alpha_on = layer_named(viewer, "outlines").data[..., 3].copy()
    assert np.all(alpha_on[view.disagreement > 0] > 0)
    widget.layer_checks["heat map"].setChecked(False)
    alpha_off = layer_named(viewer, "outlines").data[..., 3]
    assert np.all(view.disagreement[(alpha_on > 0) & (alpha_off == 0)] > 0)
    for position, version in enumerate(view.versions):             # each version alone
        for other in view.versions:
            widget.layer_checks[other].setChecked(other == version)
        assert drawn(version_colour(position)) == bool(view.member_masks[position].any())
        widget.layer_checks[version].setChecked(False)
        assert not drawn(version_colour(position))

    assert "IoU" in widget.facts_label.text() and widget.current.tile in widget.title_label.text()


def test_walk_the_queue_with_keys_and_buttons(review, qtbot):
    viewer, widget = review
    tiles = [widget.model.tile_at(row) for row in range(4)]
    canvas = viewer.window._qt_viewer.canvas.native
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key_N)
    assert widget.current.tile == tiles[1]
    qtbot.keyClick(canvas, Qt.Key_PageDown)
    assert widget.current.tile == tiles[2]
    qtbot.keyClick(canvas, Qt.Key_N, Qt.ShiftModifier)
    assert widget.current.tile == tiles[1]
    qtbot.mouseClick(widget.buttons["next"], Qt.LeftButton)
    assert widget.current.tile == tiles[2]
    assert widget.table.currentIndex().row() == 2
    # a click in the table shows that row
    widget.table.selectRow(0)
    assert widget.current.tile == tiles[0]
    # the shortcuts are written on the buttons
    assert "[A]" in widget.buttons["accept"].text() and "[Shift+N]" in widget.buttons["previous"].text()


def test_accept_reject_edit_and_undo_go_to_the_store_at_once(review, qtbot):
    viewer, widget = review
    first, second, third = (widget.model.tile_at(row) for row in range(3))
    canvas = viewer.window._qt_viewer.canvas.native
    canvas.setFocus()

    qtbot.keyClick(canvas, Qt.Key_A)                               # accept, then advance
    assert store_state(widget, first) == "accepted"
    assert widget.current.tile == second
    assert widget.model.table.state[widget.model.table.position(first)] == "accepted"

    qtbot.mouseClick(widget.buttons["reject"], Qt.LeftButton)
    assert store_state(widget, second) == "rejected"
    assert widget.current.tile == third

    edit = layer_named(viewer, "edit")
    drawn = np.zeros((101, 101), np.uint8)
    drawn[20:60, 30:80] = 1
    edit.data = drawn                                              # what painting leaves in the layer
    assert widget._dirty and "not saved" in widget.facts_label.text()
    qtbot.keyClick(canvas, Qt.Key_S)
    store = CurationStore(widget.session.workspace.store_path)
    item = store.item(widget.session.dataset, third, widget.reviewer.kind_of(third))
    store.close()
    assert item.state == "corrected"
    np.testing.assert_array_equal(item.mask, drawn != 0)

    qtbot.keyClick(canvas, Qt.Key_U)                               # undo across tiles: last first
    assert store_state(widget, third) == "proposed"
    assert widget.current.tile == third                            # the undone tile is shown
    qtbot.mouseClick(widget.buttons["undo"], Qt.LeftButton)
    assert store_state(widget, second) == "proposed"
    assert widget.current.tile == second
    qtbot.keyClick(canvas, Qt.Key_U)
    assert store_state(widget, first) == "proposed"
    assert widget.model.table.state[widget.model.table.position(first)] == "proposed"
    qtbot.keyClick(canvas, Qt.Key_U)
    assert "Nothing to undo" in widget.status_label.text()


def test_unsaved_edit_is_saved_when_moving_on(review, qtbot):
    viewer, widget = review
    tile = widget.current.tile
    edit = layer_named(viewer, "edit")
    drawn = np.zeros((101, 101), np.uint8)
    drawn[:10, :10] = 1
    edit.data = drawn
    qtbot.mouseClick(widget.buttons["next"], Qt.LeftButton)
    assert store_state(widget, tile) == "corrected"
    widget.autosave_check.setChecked(False)
    tile = widget.current.tile
    edit.data = drawn
    qtbot.mouseClick(widget.buttons["next"], Qt.LeftButton)
    assert store_state(widget, tile) == "proposed"


def test_batch_accept_asks_with_a_count_and_undoes_whole(review, qtbot):
    viewer, widget = review
    widget.batch_level.setValue(0.6)
    candidates = widget.reviewer.batch_candidates(0.6)
    assert candidates and widget.batch_button.text() == f"Accept {len(candidates)}…"

    answers = []

    def answer(button):
        box = widget._question
        answers.append(box.text())
        chosen = next(b for b in box.buttons() if (b.text() == "Accept all") == (button == "yes"))
        chosen.click()

    QTimer.singleShot(200, lambda: answer("no"))
    qtbot.mouseClick(widget.batch_button, Qt.LeftButton)
    assert str(len(candidates)) in answers[0]
    assert all(store_state(widget, t) == "proposed" for t in candidates)

    QTimer.singleShot(200, lambda: answer("yes"))
    qtbot.mouseClick(widget.batch_button, Qt.LeftButton)
    assert all(store_state(widget, t) == "accepted" for t in candidates)
    assert widget.batch_button.text() == "Accept 0…" and not widget.batch_button.isEnabled()
    qtbot.mouseClick(widget.buttons["undo"], Qt.LeftButton)
    assert all(store_state(widget, t) == "proposed" for t in candidates)
    assert f"{len(candidates)} tiles" in widget.status_label.text()


def test_filters_and_sorting(review, qtbot):
    viewer, widget = review
    table = widget.model.table
    n = len(table)
    widget.min_score.setValue(0.1)
    assert 0 < widget.model.rowCount() < n
    assert np.all(widget.model.table.disagreement >= 0.1)
    widget.min_score.setValue(0.0)
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key_A)
    widget.state_combo.setCurrentText("decided")
    assert widget.model.rowCount() == 1 and widget.model.table.state[0] == "accepted"
    widget.state_combo.setCurrentText("all")
    widget.split_combo.setCurrentText("labelled (train)")
    assert set(widget.model.table.split) <= {"train"}
    widget.split_combo.setCurrentText("all splits")
    # sort by depth, both ways
    depth_column = [c[1] for c in __import__("saltviewer.plugins._queue_model", fromlist=["COLUMNS"]).COLUMNS].index("depth")
    widget.table.sortByColumn(depth_column, Qt.AscendingOrder)
    depths = [widget.model.table.depth[widget.model.order[r]] for r in range(widget.model.rowCount())]
    assert depths == sorted(depths)
    widget.table.sortByColumn(depth_column, Qt.DescendingOrder)
    depths = [widget.model.table.depth[widget.model.order[r]] for r in range(widget.model.rowCount())]
    assert depths == sorted(depths, reverse=True)


def test_any_tile_can_be_opened_and_drawn(review, qtbot):
    viewer, widget = review
    dataset = widget.session.dataset
    labelled = next(t for t, has in zip(dataset.ids, dataset.has_mask) if has and 0.1 < dataset.mask(t).mean() < 0.9)
    widget.goto_edit.setText(labelled)
    qtbot.keyClick(widget.goto_edit, Qt.Key_Return)
    assert widget.current.tile == labelled and widget.current.edit_source == "training mask"
    assert "training" in widget.layer_checks
    assert np.all(layer_named(viewer, "outlines").data[..., :3] == 255, axis=-1).any()   # white outline
    np.testing.assert_array_equal(layer_named(viewer, "edit").data != 0, dataset.mask(labelled))
    drawn = np.zeros((101, 101), np.uint8)
    drawn[40:50, 40:50] = 1
    layer_named(viewer, "edit").data = drawn
    qtbot.mouseClick(widget.buttons["save"], Qt.LeftButton)
    assert store_state(widget, labelled) == "corrected"          # a manual "label" correction
    widget.goto_edit.setText("no-such-tile")
    qtbot.keyClick(widget.goto_edit, Qt.Key_Return)
    assert widget.current.tile != "no-such-tile"


def test_choices_are_remembered_for_the_next_session(make_napari_viewer, qtbot, sample_dir, review_workspace):
    from saltviewer.plugins._data_bar import OpenDialog
    from saltviewer.plugins._session import session_for

    viewer = make_napari_viewer()
    session = session_for(viewer)
    dialog = OpenDialog(session)
    dialog.data_edit.setText(str(sample_dir / "missing"))
    dialog.workspace_edit.setText(str(review_workspace.path))
    dialog._on_accept()
    assert not session.is_open and "no such folder" in dialog.error_label.text()
    dialog.data_edit.setText(str(sample_dir))
    dialog._on_accept()
    assert session.is_open
    dialog.deleteLater()

    other = make_napari_viewer()
    _, widget = other.window.add_plugin_dock_widget("saltviewer", "Review")
    qtbot.waitUntil(lambda: widget.current is not None, timeout=10_000)
    assert widget.session is not session and widget.session.data_path == sample_dir
    assert widget.session.workspace_path == review_workspace.path


def test_mask_outline_matches_erosion():
    from scipy import ndimage

    from saltviewer.plugins._review import mask_outline

    rng = np.random.default_rng(0)
    for _ in range(20):
        mask = ndimage.binary_opening(rng.random((101, 101)) < 0.6, iterations=2)
        for width in (1, 2):
            eroded = ndimage.binary_erosion(mask, iterations=width, border_value=1)
            np.testing.assert_array_equal(mask_outline(mask, width), mask & ~eroded)


def test_export_writes_the_curated_masks(review, qtbot, tmp_path):
    from saltviewer import read_submission

    viewer, widget = review
    tile = widget.current.tile
    qtbot.mouseClick(widget.buttons["accept"], Qt.LeftButton)
    summary = widget.export_to(tmp_path / "curated")
    assert summary["masks"] == 1
    assert list(read_submission(tmp_path / "curated" / "train.csv")) == [tile]
    assert (tmp_path / "curated" / "train" / "masks" / f"{tile}.png").is_file()


def test_heat_colours():
    from saltviewer.plugins._review import heat_colours

    rgba = heat_colours(np.array([0.0, 0.25, 0.5, 0.9]))
    assert rgba[0, 3] == 0                                     # agreement: transparent
    assert rgba[1, 3] < rgba[2, 3] == rgba[3, 3] == 115         # more opaque, then capped at the top
    assert tuple(rgba[2, :3]) == (255, 59, 59)


def test_find_candidates_fills_an_empty_queue(make_napari_viewer, qtbot, sample_dir, review_workspace):
    from saltviewer.plugins._session import session_for

    review_workspace.store_path.unlink()                     # versions with predictions, no proposals yet
    viewer = make_napari_viewer()
    session_for(viewer).open(sample_dir, review_workspace.path)
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Review")
    qtbot.waitUntil(lambda: widget.reviewer is not None, timeout=10_000)
    assert widget.model.rowCount() == 0 and "Find candidates" in widget.status_label.text()
    qtbot.mouseClick(widget.propose_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget._worker is None and widget.model.rowCount() > 0, timeout=60_000)
    assert widget.current is not None and widget.propose_button.isEnabled()
