"""The Mosaics widget on the synthetic sample: list, stitched layers, seams, several tiles accepted or
painted at once, double-click a tile to review it."""

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt

from saltviewer.mosaic import load_mosaics
from saltviewer.plugins.common.layers import find_layer


@pytest.fixture
def mosaic_view(make_napari_viewer, qtbot, sample_dir, mosaic_workspace):
    from qtpy.QtWidgets import QApplication

    from saltviewer.plugins.common.session import session_for

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


def test_double_clicking_a_tile_opens_it_in_the_review(mosaic_view, qtbot):
    viewer, widget, review = mosaic_view
    widget.show_mosaic(0)
    mosaic = widget.mosaics[0]
    tile = mosaic.ids[len(mosaic) // 2]
    r, c = mosaic.position(tile)
    canvas = viewer.window._qt_viewer.canvas
    qtbot.waitExposed(canvas.native)
    world = np.array([r * 101 + 50.0, c * 101 + 50.0])
    y, x = canvas._map_world_to_canvas(world) if hasattr(canvas, "_map_world_to_canvas") else _to_canvas(viewer, world)
    qtbot.mouseDClick(canvas.native, Qt.LeftButton, pos=QPoint(int(x), int(y)))
    qtbot.waitUntil(lambda: review.current.tile == tile, timeout=5_000)
    # the review tile is back on the canvas, with its mosaic neighbours beside it
    assert any(layer.visible for layer in viewer.layers if role(layer) == "review:tile")
    expected = {side: other for side, other in widget.session.mosaics().neighbours(tile).items() if other}
    assert review.current.neighbours == expected and expected
    side, other = next(iter(expected.items()))
    review.neighbours.cells[side].click()
    assert review.current.tile == other


def test_a_tile_chosen_in_the_queue_is_found_in_the_mosaics_dock(mosaic_view, qtbot):
    """Choosing a tile in the Review queue said nothing in the Mosaics dock; now its mosaic's row is selected,
    the dock says where the tile sits, and Show centres the canvas on it."""
    viewer, widget, review = mosaic_view
    tile, position = next((t, k) for k, m in enumerate(widget.mosaics) for t in m.ids
                          if review.model.row_of(t) is not None and t != review.current.tile)
    review.table.selectRow(review.model.row_of(tile))                    # chosen in the queue
    assert review.current.tile == tile
    mosaic = widget.mosaics[position]
    assert widget._selected() == position
    assert f"Review shows {tile}: mosaic #{mosaic.number + 1}" in widget.info_label.text()
    widget.show_button.click()
    r, c = mosaic.position(tile)
    y, x = viewer.scene.camera.center[-2:] if hasattr(viewer, "scene") else viewer.camera.center[-2:]
    assert r * 101 <= y <= (r + 1) * 101 and c * 101 <= x <= (c + 1) * 101


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

    from saltviewer.plugins.common.session import session_for

    shutil.rmtree(review_workspace.mosaics_dir)
    viewer = make_napari_viewer()
    session_for(viewer).open(sample_dir, review_workspace.path)
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Mosaics")
    qtbot.waitUntil(lambda: "No mosaics yet" in widget.summary_label.text(), timeout=10_000)
    qtbot.mouseClick(widget.build_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: widget._worker is None and widget.table.rowCount() > 0, timeout=60_000)
    assert len(widget.mosaics) == len(load_mosaics(review_workspace, sample_dataset))
    assert widget.session.neighbours(widget.mosaics[0].ids[0])          # the review sees the new neighbours


# ------------------------------------------------------------------ deciding on several tiles at once
@pytest.fixture(scope="session")
def split_template(sample_dataset, tmp_path_factory):
    """A workspace with two hand-made versions that split on some tiles of a mosaic, its mosaics, and a store
    holding one disputed proposal: ``(workspace, tiles)``, ``tiles`` naming the tiles by what the models do."""
    from saltviewer import Workspace
    from saltviewer.plugins.common.stored_mosaics import find_mosaics
    from saltviewer.store import CurationStore, Proposal

    from conftest import disk

    workspace = Workspace(tmp_path_factory.mktemp("split") / "ws")
    mosaics = find_mosaics(workspace, sample_dataset)
    mosaic = next(m for m in mosaics if sum(not sample_dataset.has_mask[i] for i in m.indices) >= 3)
    unlabelled = [t for t, i in zip(mosaic.ids, mosaic.indices) if not sample_dataset.has_mask[i]]
    tiles = {"split": unlabelled[0], "agreed": unlabelled[1], "queued": unlabelled[2]}
    salt = disk((101, 101), (50, 50), 22)
    for v in range(2):
        probs = np.full((len(sample_dataset), 101, 101), 0.02, np.float32)
        for name, tile in tiles.items():
            if name != "split" or v == 1:                    # the split tile: salt for one version, none for the other
                probs[sample_dataset.index(tile)][salt] = 0.95
        version = workspace.add_version({"encoder": "hand-made", "threshold": 0.5, "oof_score": 0.7})
        workspace.write_predictions(version, sample_dataset, probs)
    with CurationStore(workspace.store_path) as store:
        store.propose(sample_dataset, [Proposal(tile=tiles["queued"], mask=salt, criterion="disagreement",
                                                kind="pseudo", reason="the models disagree (made so by the test)",
                                                disagreement=0.9, agreement=0.1, uncertain=0.3)])
    return workspace, tiles, mosaic.number


@pytest.fixture
def split_workspace(split_template, tmp_path):
    import shutil

    from saltviewer import Workspace

    workspace, tiles, number = split_template
    shutil.copytree(workspace.path, tmp_path / "ws", ignore=shutil.ignore_patterns("cache"))
    return Workspace(tmp_path / "ws"), tiles, number


def test_accepting_and_painting_through_the_store_without_a_viewer(split_workspace, sample_dataset):
    """Tiles nobody proposed get the consensus proposed with the ensemble's real scores and accepted, unless
    the models dispute them: those are refused, with why, and nothing is written for them (before, such a tile
    was accepted as criterion "other" with agreement and disagreement 0). A painted training mask becomes a
    label correction; each call is one batch."""
    from saltviewer import build_mosaics
    from saltviewer.ensemble import Ensemble
    from saltviewer.plugins.mosaics.mosaic_view import accept_tiles, save_edits, tile_masks
    from saltviewer.store import CurationStore

    workspace, tiles, number = split_workspace
    ensemble = Ensemble(workspace, sample_dataset, "all")
    mosaic = next(m for m in build_mosaics(sample_dataset) if 0 < sample_dataset.has_mask[m.indices].sum() < len(m))
    labelled = [t for t, i in zip(mosaic.ids, mosaic.indices) if sample_dataset.has_mask[i]]
    with CurationStore(workspace.store_path) as store:
        accepted, skipped = accept_tiles(store, sample_dataset, [tiles["agreed"], tiles["split"], tiles["queued"],
                                                                 labelled[0]], ensemble, user="ana")
        assert accepted == [tiles["agreed"]]
        item = store.item(sample_dataset, tiles["agreed"])
        assert item.state == "accepted" and item.criterion == "mosaic-dock" and item.updated_by == "ana"
        assert np.array_equal(item.mask, ensemble.tile(tiles["agreed"]).mask)
        assert (item.agreement, item.disagreement) == (1.0, 0.0) and item.scores["members"] == 2   # real scores
        assert skipped[tiles["split"]].startswith("disputed, 1 of 2 model versions see salt (0% to 15%")
        assert store.item(sample_dataset, tiles["split"]) is None                   # nothing written for it
        assert skipped[tiles["queued"]].startswith("disputed")
        assert store.item(sample_dataset, tiles["queued"]).state == "proposed"
        assert skipped[labelled[0]] == "its training mask is in force and nothing is proposed"
        assert accept_tiles(store, sample_dataset, [tiles["agreed"]], ensemble)[1] == {
            tiles["agreed"]: "already accepted"}
        canvas = np.zeros((mosaic.shape[0] * 101, mosaic.shape[1] * 101), np.uint8)
        for tile, r, c in zip(mosaic.ids, mosaic.rows, mosaic.cols):
            if tile in labelled:
                canvas[r * 101:(r + 1) * 101, c * 101:(c + 1) * 101] = sample_dataset.mask(tile)
        painted = canvas.copy()
        r, c = mosaic.position(labelled[0])
        painted[r * 101:r * 101 + 10, c * 101:c * 101 + 10] = 1 - painted[r * 101, c * 101]
        assert save_edits(store, sample_dataset, mosaic, canvas, canvas) == []           # nothing changed
        assert save_edits(store, sample_dataset, mosaic, painted, canvas) == labelled[:1]
        item = store.item(sample_dataset, labelled[0], "label")
        assert item.state == "corrected" and np.array_equal(item.mask, tile_masks(painted, mosaic)[labelled[0]])
        assert np.array_equal(item.proposed_mask, sample_dataset.mask(labelled[0]))      # the training mask
        # painting a tile the models split: its new item is proposed disputed, so an undo leaves it to draw
        shown = next(m for m in load_mosaics(workspace, sample_dataset) if m.number == number)
        blank = np.zeros((shown.shape[0] * 101, shown.shape[1] * 101), np.uint8)
        drawn = blank.copy()
        r, c = shown.position(tiles["split"])
        drawn[r * 101:r * 101 + 30, c * 101:c * 101 + 30] = 1
        assert save_edits(store, sample_dataset, shown, drawn, blank, ensemble=ensemble) == [tiles["split"]]
        item = store.item(sample_dataset, tiles["split"])
        assert item.state == "corrected" and item.criterion == "mosaic-dock+disagreement" and item.disputed
        assert item.agreement == 0.0 and item.scores["presence_votes"] == 1


def _click(viewer, qtbot, tile, mosaic, double=False):
    r, c = mosaic.position(tile)
    canvas = viewer.window._qt_viewer.canvas
    qtbot.waitExposed(canvas.native)
    y, x = _to_canvas(viewer, np.array([r * 101 + 50.0, c * 101 + 50.0]))
    click = qtbot.mouseDClick if double else qtbot.mouseClick
    click(canvas.native, Qt.LeftButton, pos=QPoint(int(x), int(y)))


def test_selected_tiles_are_accepted_as_one_batch(mosaic_view, qtbot, sample_dataset):
    viewer, widget, review = mosaic_view
    store = widget.session.store

    def kinds(position):
        widget.show_mosaic(position)
        mosaic = widget.mosaics[position]
        unlabelled = [t for t, i in zip(mosaic.ids, mosaic.indices) if not sample_dataset.has_mask[i]]
        labelled = [t for t, i in zip(mosaic.ids, mosaic.indices) if sample_dataset.has_mask[i]]
        proposed = [t for t in unlabelled if store.item(sample_dataset, t) is not None
                    and store.item(sample_dataset, t).state == "proposed"]
        bare = [t for t in unlabelled if store.item(sample_dataset, t) is None and t in widget.layers.predictions]
        return mosaic, proposed, bare, labelled

    mosaic, proposed, bare, labelled = kinds(0)
    chosen = proposed[:3] + labelled[:1]
    _click(viewer, qtbot, chosen[0], mosaic)                       # a click on the canvas selects
    qtbot.waitUntil(lambda: widget.selected == chosen[:1], timeout=5_000)
    for tile in chosen[1:]:
        widget.toggle_tile(tile)
    assert widget.accept_button.text() == f"Accept {len(chosen)} selected"
    outlines = find_layer(viewer, "mosaic:tiles")
    assert sum(np.allclose(colour, [0, 229 / 255, 1, 1]) for colour in outlines.edge_color) == len(chosen)
    before = store.revision()
    widget.accept_selected()
    assert all(store.item(sample_dataset, tile).state == "accepted" for tile in proposed[:3])
    assert store.item(sample_dataset, labelled[0], "label") is None                  # its training mask stays
    decisions = [e for e in store.events(before) if e.action == "accept"]
    assert len(decisions) == len(proposed[:3]) and len({e.batch for e in decisions}) == 1   # one batch, one undo
    assert {e.how for e in decisions} == {"mosaic"}                               # seen in the mosaic: reviewed
    assert widget.selected == labelled[:1] and "training mask is in force" in widget.decide_label.text()
    states = dict(zip(widget.layers.names, widget.layers.states))
    assert all(states[t] == "accepted" for t in proposed[:3])                         # redrawn


def test_a_disputed_tile_is_refused_in_the_mosaic_with_the_reason(make_napari_viewer, qtbot, sample_dir,
                                                                  sample_dataset, split_workspace):
    """The one accept rule, in the Mosaics dock: a tile the models split (never proposed) and a tile queued as
    disputed are not accepted; the dock says which and why, with the models' own figures (before, the first was
    accepted in one click, as "other" with agreement 0)."""
    from saltviewer.plugins.common.session import session_for

    workspace, tiles, number = split_workspace
    viewer = make_napari_viewer()
    session_for(viewer).open(sample_dir, workspace.path)
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Mosaics")
    qtbot.waitUntil(lambda: len(widget.mosaics) > 0, timeout=10_000)
    widget.show_mosaic(next(k for k, m in enumerate(widget.mosaics) if m.number == number))
    for name in ("split", "queued", "agreed"):
        widget.toggle_tile(tiles[name])
    widget.accept_selected()
    store = widget.session.store
    assert store.item(sample_dataset, tiles["agreed"]).state == "accepted"
    assert store.item(sample_dataset, tiles["split"]) is None
    assert store.item(sample_dataset, tiles["queued"]).state == "proposed"
    text = widget.decide_label.text()
    assert text.startswith("Accepted 1 tile.")
    assert f"{tiles['split']} (disputed, 1 of 2 model versions see salt" in text
    assert f"{tiles['queued']} (disputed" in text
    assert widget.selected == [tiles["split"], tiles["queued"]]           # still selected, to correct them


def test_masks_painted_across_tiles_are_saved_as_corrections(mosaic_view, sample_dataset):
    viewer, widget, review = mosaic_view
    widget.show_mosaic(0)
    mosaic, store = widget.mosaics[0], widget.session.store
    widget.edit_button.click()
    edit = find_layer(viewer, "mosaic:edit")
    assert edit is not None and viewer.layers.selection.active is edit and edit.mode == "paint"
    np.testing.assert_array_equal(edit.data, widget.layers.shown)
    # one stroke across the seam between the first tile and its right-hand neighbour
    left = next(t for t in mosaic.ids if mosaic.at(*mosaic.position(t)[:1], mosaic.position(t)[1] + 1))
    r, c = mosaic.position(left)
    right = mosaic.at(r, c + 1)
    data = edit.data.copy()
    data[r * 101 + 40:r * 101 + 60, c * 101 + 80:c * 101 + 122] = 1 - data[r * 101 + 50, c * 101 + 80]
    edit.data = data
    before = store.revision()
    widget.save_button.click()
    assert find_layer(viewer, "mosaic:edit") is None
    assert {e.how for e in store.events(before) if e.action == "correct"} == {"mosaic"}
    for tile, (rr, cc) in ((left, (r, c)), (right, (r, c + 1))):
        item = store.item(sample_dataset, tile)
        assert item.state == "corrected"
        np.testing.assert_array_equal(item.mask, data[rr * 101:(rr + 1) * 101, cc * 101:(cc + 1) * 101] != 0)
    untouched = [t for t in mosaic.ids if t not in (left, right)]
    assert all(store.item(sample_dataset, t) is None or store.item(sample_dataset, t).state != "corrected"
               for t in untouched)
    masks = find_layer(viewer, "mosaic:masks")
    np.testing.assert_array_equal(masks.data[r * 101:(r + 1) * 101, c * 101:(c + 2) * 101] != 0,
                                  data[r * 101:(r + 1) * 101, c * 101:(c + 2) * 101] != 0)


def test_screenshot_of_the_mosaics_dock(mosaic_view, qtbot, tmp_path):
    """The dock with a mosaic shown, three tiles selected and its decide buttons, saved as a PNG
    (SALTVIEWER_SCREENSHOT_DIR keeps it) that a person looks at."""
    import os

    from qtpy.QtWidgets import QDockWidget

    viewer, widget, review = mosaic_view
    viewer.window._qt_window.resize(1500, 950)
    dock = widget.parentWidget()
    while dock is not None and not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    dock.raise_()                                   # the Mosaics tab in front of the Review one
    widget.show_mosaic(0)
    for tile in widget.mosaics[0].ids[:3]:
        widget.toggle_tile(tile)
    qtbot.waitUntil(lambda: widget.isVisible(), timeout=5_000)
    qtbot.wait(300)
    folder = os.environ.get("SALTVIEWER_SCREENSHOT_DIR", str(tmp_path))
    path = os.path.join(folder, "mosaics_dock.png")
    viewer.screenshot(path, canvas_only=False)
    assert os.path.getsize(path) > 50_000
