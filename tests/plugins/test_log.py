"""Errors in the docks: the traceback in WS/logs/, the notification says where."""

import os
import shutil
import sys
from pathlib import Path

import pytest


def _boom():
    raise RuntimeError("the neighbours exploded")


def _raised():
    try:
        _boom()
    except RuntimeError as error:
        return error


def test_the_traceback_goes_to_the_workspace_logs(tmp_path):
    from saltviewer.plugins.common.log import error_message, write_error_log

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
    from saltviewer.plugins.common.log import write_error_log

    try:
        _boom()
    except RuntimeError:
        path = write_error_log("opening failed")                  # the error being handled
    assert path.parent == config_dir / "logs"
    assert "in _boom" in path.read_text()


def _as_nobody(call):
    """`call()` in a forked child that has dropped root's rights (uid and gid 65534, "nobody"),
    so a folder's permissions hold as they do for anyone else; its result comes back through a
    pipe. Root ignores permission bits, and CI runs as root."""
    import pickle

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:                                          # the child: never returns into pytest
        status = 1
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            with os.fdopen(writer, "wb") as pipe:
                pickle.dump(call(), pipe)
            status = 0
        finally:
            os._exit(status)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and data, "the child as nobody failed"
    return pickle.loads(data)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_an_unwritable_folder_keeps_the_message_alone(tmp_path):
    """A workspace folder nobody may write: no log, the message alone. As root (CI), the call runs
    in a child that has given up root's rights, in a folder under /tmp it can reach."""
    import tempfile

    from saltviewer.plugins.common.log import error_message

    root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="saltviewer-log-")) if root else tmp_path
    ws = base / "ws"
    ws.mkdir()
    if root:
        base.chmod(0o755)                               # nobody may enter, not write
    ws.chmod(0o500 if not root else 0o555)
    try:
        def call():
            return error_message("it failed", _raised(), ws)

        assert (_as_nobody(call) if root else call()) == ("it failed", None)
        assert not (ws / "logs").exists()
        ws.chmod(0o700)                                 # and with the right to write, the log is kept
        line, where = call()
        assert where is not None and where.parent == ws / "logs" and line.endswith(f"{where.name})")
    finally:
        ws.chmod(0o700)
        if root:
            shutil.rmtree(base)


def test_a_file_in_the_way_keeps_the_message_alone(tmp_path):
    from saltviewer.plugins.common.log import error_message

    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "logs").write_text("not a folder")
    assert error_message("it failed", _raised(), tmp_path / "ws") == ("it failed", None)


def test_a_failing_mosaic_search_is_logged_and_the_notification_says_where(
        make_napari_viewer, qtbot, sample_dir, review_workspace, monkeypatch):
    import saltviewer.plugins.common.job_process as jobs
    from napari.utils.notifications import notification_manager

    from saltviewer.plugins.common.session import session_for

    def broken(job, data, workspace, **kwargs):        # the search (in its own process) failing
        _boom()

    monkeypatch.setattr(jobs, "run_job", broken)
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
