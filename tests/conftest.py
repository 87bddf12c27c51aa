"""Fixtures shared by every test room: small synthetic data, the real data when present."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TGS = Path(os.environ.get("SALTVIEWER_TGS", REPO.parent / "shared" / "tgs"))
GUI_TESTS = REPO / "tests" / "plugins"


def _choose_qt_binding():
    """napari on a Qt6 binding unless $QT_API names one; pytest-qt on the same binding as qtpy.

    qtpy (napari's way to Qt) takes PyQt5 before PyQt6 when both are installed, and pytest-qt
    guesses in its own order; two bindings in one process crash. So both are told here, before
    pytest-qt configures itself (this file is loaded first). scripts/test.sh sets QT_API=pyqt5
    for its second pass over the napari tests.
    """
    from saltviewer.plugins._qt import prefer_qt6

    api = prefer_qt6()
    if api in ("pyqt6", "pyside6", "pyqt5") and not os.environ.get("PYTEST_QT_API"):
        os.environ["PYTEST_QT_API"] = api


_choose_qt_binding()


def _is_gui(item):
    return GUI_TESTS in Path(str(item.fspath)).parents


def pytest_collection_modifyitems(session, config, items):
    """Run the napari tests in a process of their own when TensorFlow is already loaded here.

    Collecting the training tests imports TensorFlow, which loads its LLVM with global symbols;
    Mesa's software OpenGL (llvmpipe), loaded after it by napari, then crashes the process
    with a segmentation fault. So when one session holds both kinds of test, the napari ones
    are taken out of it and run by a child pytest once the others are done, and a failure
    there fails this session.
    """
    gui = [item for item in items if _is_gui(item)]
    config._saltviewer_gui_here = bool(gui)
    if not gui or len(gui) == len(items) or "tensorflow" not in sys.modules:
        return
    config._saltviewer_gui_here = False
    config._saltviewer_gui_tests = [item.nodeid for item in gui]
    items[:] = [item for item in items if not _is_gui(item)]
    config.hook.pytest_deselected(items=gui)


def pytest_sessionfinish(session, exitstatus):
    nodeids = getattr(session.config, "_saltviewer_gui_tests", None)
    if not nodeids or exitstatus not in (0, 1) or session.shouldstop:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", f"the {len(nodeids)} napari tests, in a process without TensorFlow")
    args = [a for a in session.config.invocation_params.args                # the flags that take no value
            if re.fullmatch(r"-[qvsx]+|-r\w+|--durations=\d+|--exitfirst|--tb=\w+", a)]
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, *nodeids]
    completed = subprocess.run(command, cwd=session.config.invocation_params.dir)
    if completed.returncode not in (0, 5):
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, config):
    """Say which Qt binding and napari the napari tests of this process ran on (CI logs show it)."""
    qtpy = sys.modules.get("qtpy")
    if not getattr(config, "_saltviewer_gui_here", False) or qtpy is None or "napari" not in sys.modules:
        return
    import napari

    terminalreporter.write_line(f"napari tests ran on {qtpy.API_NAME} {qtpy.PYQT_VERSION or qtpy.PYSIDE_VERSION} "
                                f"(Qt {qtpy.QT_VERSION}), napari {napari.__version__}")


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory):
    """A small synthetic dataset (60 train, 20 test tiles), made once per test session.

    Treat it as read-only; copy it (``shutil.copytree``) to change it.
    """
    from saltviewer import make_sample

    return make_sample(tmp_path_factory.mktemp("sample") / "data", n_train=60, n_test=20, seed=7)


@pytest.fixture(scope="session")
def sample_dataset(sample_dir):
    from saltviewer import open_dataset

    return open_dataset(sample_dir)


@pytest.fixture
def workspace(tmp_path):
    from saltviewer import Workspace

    return Workspace(tmp_path / "ws")


@pytest.fixture(scope="session")
def tgs_dir():
    """The real competition data in ../shared/tgs; tests that use it skip without it."""
    if not (TGS / "train" / "images").is_dir():
        pytest.skip(f"the TGS data is not at {TGS} (set SALTVIEWER_TGS to its folder)")
    return TGS
