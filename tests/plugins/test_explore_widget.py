"""The Explore dock on the synthetic sample: explore in a worker, show every figure, open a flagged tile."""

import numpy as np


def test_explore_shows_figures_summary_and_flagged_tiles(make_napari_viewer, qtbot, sample_dir, tmp_path):
    from saltviewer.explore import explore_dataset
    from saltviewer.figures import FIGURES, unavailable
    from saltviewer.plugins.explore.widget import ExploreWidget, flagged_tiles
    from saltviewer.plugins.common.session import session_for

    viewer = make_napari_viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Explore")
    assert isinstance(widget, ExploreWidget)
    assert not widget.explore_button.isEnabled()            # nothing open yet
    session = session_for(viewer)
    session.open(sample_dir, tmp_path / "ws")
    assert widget.explore_button.isEnabled()
    with qtbot.waitSignal(widget.explored, timeout=60_000):
        widget.explore_button.click()
    exploration = widget.exploration
    reference = explore_dataset(session.dataset)
    np.testing.assert_array_equal(exploration.coverage, reference.coverage)
    assert f"{reference.empty_share * 100:.1f}% of the 60 masks hold no salt" in widget.summary.text()
    assert widget.figure_combo.count() == len(FIGURES)
    for name in FIGURES:
        widget.show_figure(name)
        if unavailable(name, exploration) is None:
            assert widget.figure is not None and widget.scroll.widget() is widget.canvas
            assert widget.canvas.width() > 100 and len(widget.figure.axes) > 0
            # as wide as the dock at most: never cut behind a scroll bar
            assert widget.canvas.minimumWidth() <= widget.scroll.viewport().width()
            _assert_readable(widget.figure, name)
        else:
            assert widget.scroll.widget() is widget.reason
    assert widget.flagged.count() == len(flagged_tiles(exploration))


def test_save_report_writes_html(make_napari_viewer, qtbot, sample_dir, tmp_path):
    from saltviewer.plugins.common.session import session_for

    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Explore")
    session_for(viewer).open(sample_dir, tmp_path / "ws")
    with qtbot.waitSignal(widget.explored, timeout=60_000):
        widget.explore()
    worker = widget.save_report(tmp_path / "report")
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    page = (tmp_path / "report" / "index.html").read_text()
    assert "coverage.png" in page and (tmp_path / "report" / "coverage.png").stat().st_size > 1000


def test_a_flagged_tile_opens_in_review_with_why_it_was_flagged(make_napari_viewer, qtbot, sample_dir, tmp_path):
    from qtpy.QtCore import Qt

    from saltviewer.plugins.common.session import session_for

    viewer = make_napari_viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Explore")
    session_for(viewer).open(sample_dir, tmp_path / "ws")
    with qtbot.waitSignal(widget.explored, timeout=60_000):
        widget.explore()
    assert widget.flagged.count() > 0
    item = widget.flagged.item(0)
    tile, why = item.data(Qt.UserRole), item.data(Qt.UserRole + 1)
    widget._on_flagged_double_clicked(item)
    review = next(w for w in viewer.window._qt_window.findChildren(type(widget).__mro__[1])
                  if type(w).__name__ == "ReviewWidget")
    qtbot.waitUntil(lambda: review.current is not None and review.current.tile == tile, timeout=20_000)
    assert f"Explore: {why}" in review.tile_box.reason_label.text()


def _assert_readable(figure, name):
    """No panel's titles, labels or ticks run into another's, and none leaves the figure."""
    renderer = figure.canvas.get_renderer()
    figure.canvas.draw()
    boxes = [ax.get_tightbbox(renderer) for ax in figure.axes if ax.get_visible() and ax.axison]
    width, height = figure.bbox.width, figure.bbox.height
    for k, box in enumerate(boxes):
        assert box.x0 >= -2 and box.x1 <= width + 2, f"{name}: panel {k} leaves the figure"
        for other in boxes[k + 1:]:
            overlap_x = min(box.x1, other.x1) - max(box.x0, other.x0)
            overlap_y = min(box.y1, other.y1) - max(box.y0, other.y0)
            assert overlap_x <= 2 or overlap_y <= 2, f"{name}: two panels' text overlaps"
