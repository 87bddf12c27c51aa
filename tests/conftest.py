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
    from saltviewer.plugins.common.qt import prefer_qt6

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
    are taken out of it and run by a child pytest (`pytest_collection_finish` starts it), and a
    failure there fails this session.
    """
    gui = [item for item in items if _is_gui(item)]
    config._saltviewer_gui_here = bool(gui)
    if not gui or len(gui) == len(items) or "tensorflow" not in sys.modules:
        return
    config._saltviewer_gui_here = False
    config._saltviewer_gui_tests = [item.nodeid for item in gui]
    items[:] = [item for item in items if not _is_gui(item)]
    config.hook.pytest_deselected(items=gui)


# ---------------------------------------------------------------------------------- the JAX checks
JAX_TESTS = ("test_backend_jax.py", "test_distribute.py")


def start_jax_checks(folder):
    """Start ``tests/training/jax_checks.py`` (JAX backend, two virtual CPU devices) on a synthetic
    sample of its own in `folder`; returns (process, folder). It writes its answer to
    ``folder/out.txt`` (read by the `jax_checks` fixture, tests/training/conftest.py) and its
    messages to ``folder/err.txt``."""
    folder = Path(folder)
    env = dict(os.environ, KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2",
               TF_CPP_MIN_LOG_LEVEL="2")
    with open(folder / "out.txt", "wb") as out, open(folder / "err.txt", "wb") as err:   # files: a pipe could fill
        process = subprocess.Popen([sys.executable, str(REPO / "tests" / "training" / "jax_checks.py"), "--sample",
                                    str(folder / "data"), str(folder / "ws")], env=env, cwd=str(folder),
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    return process, folder


def pytest_collection_finish(session):
    """Start what runs beside this session, once collection has ended.

    The napari tests taken out of this session (`pytest_collection_modifyitems`) start in their
    child pytest at once rather than after the others: much of their time is waiting (on the
    display, on workers, on timers) and much of TensorFlow's here is one thread, so on two cores
    the two overlap. When a JAX test is selected, the JAX checks start too, in a process of
    their own (about two minutes of XLA compiling on 2 cores, `jax_checks` waits for them).
    """
    config = session.config
    config._saltviewer_start_jax = start_jax_checks
    if config.option.collectonly:
        return
    nodeids = getattr(config, "_saltviewer_gui_tests", None)
    if nodeids:
        config._saltviewer_gui_child = _start_gui_child(config, nodeids)
    if not any(Path(str(item.fspath)).name in JAX_TESTS for item in session.items):
        return
    import importlib.util
    import tempfile

    if importlib.util.find_spec("jax") is None:
        return
    config._saltviewer_jax = start_jax_checks(tempfile.mkdtemp(prefix="saltviewer-jax-"))
    config._saltviewer_jax_folders = [config._saltviewer_jax[1]]


def pytest_unconfigure(config):
    import shutil

    child = getattr(config, "_saltviewer_gui_child", None)
    if child is not None and child[0].poll() is None:          # the session ended before it was read
        child[0].kill()
        child[0].wait()
    started = getattr(config, "_saltviewer_jax", None)
    if started is not None and started[0].poll() is None:       # the session ended before it was read
        started[0].kill()
        started[0].wait()
    for folder in getattr(config, "_saltviewer_jax_folders", []):
        shutil.rmtree(folder, ignore_errors=True)


def _child_arguments(config):
    """The options of this run that the napari child pytest takes too: the flags that take no
    value as they were given, and the durations, -m and -k as pytest read them."""
    args = [a for a in config.invocation_params.args                    # the flags that take no value
            if re.fullmatch(r"-[qvsx]+|-r\w+|--exitfirst|--tb=\w+", a)]
    option = config.option
    if getattr(option, "durations", None) is not None:
        args.append(f"--durations={option.durations}")
    if getattr(option, "markexpr", ""):
        args += ["-m", option.markexpr]
    if getattr(option, "keyword", ""):
        args += ["-k", option.keyword]
    return args


def _start_gui_child(config, nodeids):
    """Start the child pytest of the napari tests; its report goes to a file until this session ends."""
    import tempfile

    log = tempfile.TemporaryFile()
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *_child_arguments(config), *nodeids]
    process = subprocess.Popen(command, cwd=config.invocation_params.dir, stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT)
    return process, log


def pytest_sessionfinish(session, exitstatus):
    """Wait for the napari child, show its report, and fail this session when it failed."""
    started = getattr(session.config, "_saltviewer_gui_child", None)
    if started is None:
        return
    process, log = started
    session.config._saltviewer_gui_child = None
    if exitstatus not in (0, 1, 5) or session.shouldstop:       # stopped here: stop there too
        process.kill()
        process.wait()
        log.close()
        return
    nodeids = session.config._saltviewer_gui_tests
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_sep("=", f"the {len(nodeids)} napari tests, in a process without TensorFlow "
                                "(run beside this one)")
    process.wait()
    log.seek(0)
    text = log.read().decode("utf-8", errors="replace")
    log.close()
    if process.returncode < 0:
        text += f"\nthe napari tests' process ended by signal {-process.returncode}\n"
    if reporter is not None:
        reporter.write(text if text.endswith("\n") else text + "\n")
    else:
        sys.stdout.write(text)
    if process.returncode not in (0, 5):
        session.exitstatus = 1
    elif process.returncode == 0 and exitstatus == 5:           # -k or -m left only napari tests
        session.exitstatus = 0


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
