"""Errors in the docks: the traceback in WS/logs/, the notification says where."""

import os
import sys

import pytest


def _boom():
    raise RuntimeError("the neighbours exploded")


def _raised():
    try:
        _boom()
    except RuntimeError as error:
        return error


def test_the_traceback_goes_to_the_workspace_logs(tmp_path):
    from saltviewer.plugins._log import error_message, write_error_log

    error = _raised()
    path = write_error_log("finding mosaics failed", error, tmp_path / "ws", "mosaics")
    assert path.parent == tmp_path / "ws" / "logs" and path.name.startswith("mosaics-error-")
    text = path.read_text()
    assert "mosaics: finding mosaics failed" in text.splitlines()[0]
    assert "Traceback (most recent call last)" in text and "in _boom" in text
    assert "RuntimeError: the neighbours exploded" in text
    assert f"python {sys.version.split()[0]}" in text
    again = write_error_log("again", error, tmp_path / "ws", "mosaics")    # same second: a file of its own
    assert again != path and again.exists()

    line, where = error_message(error, workspace=tmp_path / "ws", context="review")
    assert line == f"the neighbours exploded (details in {where})" and where.name.startswith("review-error-")


def test_without_a_workspace_the_log_goes_beside_the_settings(config_dir):
    from saltviewer.plugins._log import write_error_log

    try:
        _boom()
    except RuntimeError:
        path = write_error_log("opening failed")                  # the error being handled
    assert path.parent == config_dir / "logs"
    assert "in _boom" in path.read_text()


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root writes anywhere")
def test_an_unwritable_folder_keeps_the_message_alone(tmp_path):
    from saltviewer.plugins._log import error_message

    tmp_path.joinpath("ws").mkdir()
    tmp_path.joinpath("ws").chmod(0o500)
    try:
        assert error_message("it failed", _raised(), tmp_path / "ws") == ("it failed", None)
    finally:
        tmp_path.joinpath("ws").chmod(0o700)


def test_a_file_in_the_way_keeps_the_message_alone(tmp_path):
    from saltviewer.plugins._log import error_message

    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "logs").write_text("not a folder")
    assert error_message("it failed", _raised(), tmp_path / "ws") == ("it failed", None)


def test_a_failing_mosaic_search_is_logged_and_the_notification_says_where(
        make_napari_viewer, qtbot, sample_dir, review_workspace, monkeypatch):
    import saltviewer.plugins._mosaic as mosaic
    from napari.utils.notifications import notification_manager

    from saltviewer.plugins._session import session_for

    def broken(workspace, dataset, **kwargs):
        _boom()

    monkeypatch.setattr(mosaic, "find_mosaics", broken)
    viewer = make_napari_viewer()
    session_for(viewer).open(sample_dir, review_workspace.path)
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "Mosaics")
    logs = review_workspace.path / "logs"
    before = len(notification_manager.records)
    widget._on_build_clicked()
    qtbot.waitUntil(lambda: logs.is_dir() and any(logs.glob("mosaics-error-*.log")), timeout=90_000)
    log = next(logs.glob("mosaics-error-*.log"))
    assert "in _boom" in log.read_text() and "finding mosaics failed" in log.read_text()
    messages = [str(n.message) for n in notification_manager.records[before:]]
    assert any(m.startswith("finding mosaics failed: the neighbours exploded (details in ") and m.endswith(
        f"{log.name})") for m in messages), messages
